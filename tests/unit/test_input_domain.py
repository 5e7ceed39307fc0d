"""The input domain of core/domain.py, where the API and the Reflex handlers meet it: the core functions
both call, and the ORM guard that keeps control characters out of the store whatever the entry point
(SQLite would store a NUL; PostgreSQL would fail the whole transaction on it)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from mts_portal.core import billing, cabinet, detail, domain, events
from mts_portal.core.db import StoreUnavailable, read, transact
from mts_portal.core.errors import Invalid, NotFound
from mts_portal.core.models import Account, Line
from tests.conftest import T0
from tests.helpers import make_line
from tests.unit.test_access_matrix import fingerprint


def test_the_orm_guard_refuses_control_characters_from_any_entry_point(store):
    make_line(store, "79160000001", now=T0)
    before = fingerprint(store)
    for bad in ("Ан\x00на", "a\x1bb", "x\x7f", "y\x85"):
        def rename(s, bad=bad):
            acc = s.get(Account, s.exec(select(Line.account_id)).scalars().first())
            acc.holder_name = bad

        with pytest.raises(Invalid, match="control characters"):
            transact(store, rename)
    assert fingerprint(store) == before
    # TAB / LF / CR are text (an SMS, a support question), the rest of Unicode too
    transact(store, lambda s: setattr(s.get(Account, 1), "holder_name", "Анна\tСмирнова 🙂"))


def test_provisioning_and_the_forms_core_checks_name_the_field(store):
    with pytest.raises(Invalid, match="holder_name"):
        transact(store, lambda s: billing.provision_line(session=s, msisdn="79160000002", tariff_code="smart", now=T0,
                                                         holder_name="Ан\x00на"))
    with pytest.raises(Invalid) as exc:
        cabinet.check_sms_text("Привет\x00")
    assert exc.value.details["field"] == "text" and "недопустимые" in exc.value.message_ru
    assert cabinet.check_sms_text("Привет\nкак дела") == "Привет\nкак дела"
    assert read(store, lambda s: s.exec(select(Line)).first()) is None


@pytest.mark.parametrize("value,ok", [
    ("2026-11-22T15:00:00+03:00", True), ("2026-11-22T12:00Z", True), ("2028-02-29T00:00:00.123456Z", True),
    ("2029-02-29T00:00:00Z", False), ("2026-04-31T00:00:00Z", False), ("1999-12-31T23:59:59Z", False),
    ("2100-01-01T00:00:00Z", False), ("0001-01-01T00:00:00Z", False), ("9999-12-31T23:59:59+14:00", False),
    ("2026-11-22 15:00:00+03:00", False), ("2026-11-22T15:00:00", False), ("1700000000", False),
    ("2026-11-22T15:00:00+03:00\x00", False), (1700000000, False), (None, False),
])
def test_instants_are_iso_with_an_offset_within_the_window(value, ok):
    if ok:
        assert domain.instant(value, "at").tzinfo is UTC
    else:
        with pytest.raises(Invalid):
            domain.instant(value, "at")


def test_integers_and_text():
    assert domain.integer(5, "n") == 5
    for bad in (True, 5.0, "5", -1, domain.INT32_MAX + 1, 2**63):
        with pytest.raises(Invalid):
            domain.integer(bad, "n")
    assert domain.text("Да", "t", max_len=5) == "Да"
    for bad in ("a\x00", "a\nb", "a\u2028b", "x" * 6, 5):
        with pytest.raises(Invalid):
            domain.text(bad, "t", max_len=5)
    assert domain.text("a\nb", "t", max_len=5, multiline=True) == "a\nb"


def test_the_detail_window_and_cursors(store):
    start, end = detail.day_window("2026-11-01", "2026-11-30")
    assert start < end and (end - start).days == 30
    for a, b in (("0001-01-01", "2026-11-30"), ("2026-11-01", "9999-12-31"), ("1700000000", "2026-11-30"),
                 ("2026-02-30", "2026-03-01")):
        with pytest.raises(Invalid):
            detail.day_window(a, b)
    make_line(store, "79160000003", now=T0)
    for cursor in ("AAAA", "x" * 300, detail.encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), 2**40)):
        with pytest.raises(NotFound):
            read(store, lambda s, c=cursor: detail.records_page(session=s, msisdn="79160000003", now=T0, cursor=c))
    with pytest.raises(Invalid):
        read(store, lambda s: detail.records_page(session=s, msisdn="79160000003", now=T0,
                                                  start=datetime(1, 1, 1, tzinfo=UTC)))
    page = read(store, lambda s: detail.records_page(session=s, msisdn="79160000003", now=T0, start=T0, end=T0,
                                                     empty_if_reversed=True))
    assert page.records == []


def test_events_outside_the_domain_are_rejected_with_the_field():
    base = {"event_id": "e", "msisdn": "79160000001", "kind": "sms", "direction": "out", "peer": "79030001122",
            "started_at": "2026-11-22T15:00:00+03:00", "zone": "home"}
    assert isinstance(events.validate(base), events.Event)
    for patch, field in (({"event_id": "e\x00"}, "event_id"), ({"started_at": "9999-12-31T23:59:59+00:00"}, "started_at"),
                         ({"started_at": "0001-01-01T00:00:00+00:00"}, "started_at"),
                         ({"kind": "voice", "duration_s": 2**70}, "duration_s"),
                         ({"kind": "voice", "duration_s": float("nan")}, "duration_s")):
        reason = events.validate({**base, **patch})
        assert isinstance(reason, str) and reason.startswith(field), reason


def test_store_trouble_in_a_handler_shows_the_banner_and_other_errors_a_correlation_id():
    from mts_portal.core.db import HEALTH
    from mts_portal.i18n import tr
    from mts_portal.state.store import StoreState, on_backend_error

    HEALTH.reset()
    spec = on_backend_error(StoreUnavailable("the store cannot take writes now", "…"))
    assert spec.handler.fn is StoreState.show_store_trouble.fn
    other = on_backend_error(ValueError("secret internals"))
    assert "secret internals" not in str(other) and "Internal error" in str(other)
    for lang in ("ru", "en"):
        assert tr("store.banner_title", lang) != "store.banner_title"
    assert tr("store.banner_title", "ru") != tr("store.banner_title", "en")
    HEALTH.reset()


def test_a_postgresql_that_is_gone_is_store_unavailable_not_a_crash():
    from sqlalchemy import text

    from mts_portal.core.db import HEALTH, make_engine

    HEALTH.reset()
    gone = make_engine("postgresql://postgres@127.0.0.1:1/test")  # nothing listens on port 1
    try:
        with pytest.raises(StoreUnavailable) as exc:
            transact(gone, lambda s: s.execute(text("select 1")))
        assert exc.value.http_status == 503 and exc.value.code == "store_unavailable"
        with pytest.raises(StoreUnavailable):
            read(gone, lambda s: s.execute(text("select 1")))
        writable, reason = HEALTH.status(gone)
        assert writable is False and reason
    finally:
        gone.dispose()
        HEALTH.reset()
