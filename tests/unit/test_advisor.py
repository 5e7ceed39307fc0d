"""The advisor re-rates the real last 30 days under each tariff with the same engine."""

from __future__ import annotations

from datetime import timedelta

from mts_portal.core import advisor, charging
from mts_portal.core.db import read
from tests.conftest import T0
from tests.helpers import ev, make_line
from tests.unit.test_access_matrix import session_for

M = "79200000001"


def test_heavy_user_on_minimum_is_told_to_switch(store):
    make_line(store, M, "minimum", balance=3_000_000, now=T0 - timedelta(days=20))
    base = T0 - timedelta(days=6)
    events = []
    for day in range(6):
        at = base + timedelta(days=day)
        events += [ev(M, "voice", at + timedelta(minutes=i), duration_s=300) for i in range(10)]  # 50 min
        events += [ev(M, "data", at + timedelta(hours=1, minutes=i), bytes=100 * 1024 * 1024) for i in range(5)]
    charging.ingest(store, events, now=T0)
    _, info = session_for(store, M)
    advice = read(store, lambda s: advisor.advise(s, info, M, T0))
    by = {e.code: e for e in advice.estimates}
    assert advice.records == len(events)
    # minimum: 300 min × 2.50 + 3000 MB × 5.00 = 750 + 15000 ₽; what was really charged
    assert by["minimum"].usage_kopecks == 300 * 250 + 3000 * 500 == advice.actual_usage_kopecks
    # smart: 300 of 500 min, 2.93 GB of 15 GB: no usage charges, only the 550 ₽ fee
    assert by["smart"].usage_kopecks == 0 and by["smart"].total_kopecks == 55_000
    assert advice.best.code == "smart" and by["smart"].saving_kopecks == by["minimum"].total_kopecks - 55_000
    assert by["minimum"].current and not by["smart"].current


def test_light_user_is_told_to_stay(store):
    make_line(store, M, "minimum", balance=100_000, now=T0 - timedelta(days=20))
    charging.ingest(store, [ev(M, "sms", T0 - timedelta(days=2))], now=T0)
    _, info = session_for(store, M)
    advice = read(store, lambda s: advisor.advise(s, info, M, T0))
    assert advice.best.code == "minimum" and advice.best.total_kopecks == 200
