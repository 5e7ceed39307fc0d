"""«Почему столько?» formats its figures like the rest of the page: grouped digits, units in words."""

from __future__ import annotations

from datetime import UTC, datetime

from mts_portal.core.detail import RecordView
from mts_portal.core.explain import explain

NB = "\u00a0"


def _data(bytes_: int, paid_kb: int = 0) -> RecordView:
    kb = -(-bytes_ // 1024)
    x = {"rule": "", "bytes": bytes_}
    if paid_kb:
        x.update(paid=paid_kb, rate=500)
    return RecordView(id=1, event_id="e", kind="data", direction=None, peer=None,
                      started_at=datetime(2026, 11, 20, tzinfo=UTC), duration_s=None, bytes=bytes_, zone="home",
                      status="rated", units=kb, charged_kopecks=0, paid_by="bundle", drawn=[], explanation=x)


def test_data_rounding_has_grouped_digits_and_units_in_words():
    ru = explain(_data(5698365, paid_kb=5565), "ru")
    assert f"5{NB}698{NB}365 байт → 5{NB}565 КБ" in ru and f"5,4{NB}МБ" in ru
    assert "5698365" not in ru and " Б " not in ru
    assert f"5{NB}565 КБ × " in ru
    en = explain(_data(5698365), "en")
    assert "5,698,365 bytes → 5,565 KB" in en


def test_voice_rounding_is_grouped():
    r = RecordView(id=1, event_id="e", kind="voice", direction="out", peer="79161234567",
                   started_at=datetime(2026, 11, 20, tzinfo=UTC), duration_s=3725, bytes=None, zone="home",
                   status="rated", units=63, charged_kopecks=0, paid_by="bundle", drawn=[],
                   explanation={"rule": "", "seconds": 3725})
    assert f"3{NB}725 с → 63{NB}мин" in explain(r, "ru")
