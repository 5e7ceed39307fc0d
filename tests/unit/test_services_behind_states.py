"""The pages behind the services, driven through their real handlers in-process (as Reflex runs them for
a tab): costs asked first, double clicks acting once, messages beside the fields they are about."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

import mts_portal.mts_portal  # noqa: F401  (registers every page state)
from mts_portal.core import cabinet, runtime
from mts_portal.core.db import read, transact
from mts_portal.core.models import LedgerEntry, MemoryBackup, ParentalLink, SmsMessage, Subscription
from mts_portal.state.messages import SmsState
from mts_portal.state.service_pages import GoodokState, MemoryState, ParentalState
from mts_portal.state.services import ServicesState
from mts_portal.state.tariffs import TariffsState
from tests.conftest import T0
from tests.helpers import call, line_state, make_line, run
from tests.unit.test_cabinet_states import page

A, KID, B, C = "79180000041", "79180000042", "79180000043", "79180000044"


@pytest.fixture
def world(sqlite_store, monkeypatch, tmp_path):
    from mts_portal.core.settings import get_settings

    monkeypatch.setattr(get_settings(), "data_dir", tmp_path)
    monkeypatch.setattr(runtime, "engine", lambda: sqlite_store)
    monkeypatch.setattr(runtime, "now", lambda: T0)
    make_line(sqlite_store, A, "smart", balance=100_000, now=T0 - timedelta(days=1))
    make_line(sqlite_store, KID, "minimum", balance=5_000, now=T0 - timedelta(days=1),
              account_id=line_state(sqlite_store, A).account_id)
    make_line(sqlite_store, B, "minimum", balance=10_000, now=T0 - timedelta(days=1))
    return sqlite_store


def count(store, model, *where) -> int:
    return read(store, lambda s: s.exec(select(func.count()).select_from(model).where(*where)).scalar_one())


def test_a_paid_melody_is_asked_with_its_price_and_bought_once(world):
    async def go():
        g = await page(world, GoodokState, A)
        assert not g.connected and g.connect_cost_text.startswith("18,00")  # 60 ₽ for 9 of 30 days
        await call(GoodokState.prepare_connect, g)
        await call(GoodokState.connect_service, g)
        assert g.connected
        await call(GoodokState.ask_choose, g, "blue_note")
        asked = (g.ask_open, g.ask_cost, g.ask_terms)
        await call(GoodokState.confirm_choose, g)
        second = await call(GoodokState.confirm_choose, g)  # a double click
        await call(GoodokState.ask_choose, g, "kalinka")
        free = g.ask_cost
        await call(GoodokState.set_genre, g, "jazz")
        return g, asked, second, free

    g, asked, second, free = run(go())
    assert asked[0] and asked[1] == "35,00\u00a0₽" and "один раз" in asked[2]
    assert second is None and free == "0,00\u00a0₽"
    assert g.current_title.startswith("«Синяя нота»") and {m["code"] for m in g.shown} == {"blue_note", "rainy_bossa"}
    assert count(world, LedgerEntry, LedgerEntry.cause_ref == "goodok:blue_note") == 1

    async def services():
        return await page(world, ServicesState, A)

    svc = run(services())
    goodok_row = next(p for p in svc.products if p["code"] == "goodok")
    assert goodok_row["detail"].startswith("Сейчас звучит: «Синяя нота»") and goodok_row["manage"] == "/services/goodok"


def test_memory_page_backs_up_once_per_confirmation_and_says_why_a_contact_is_refused(world):
    async def go():
        m = await page(world, MemoryState, A)
        await call(MemoryState.prepare_connect, m)
        await call(MemoryState.connect_service, m)
        await call(MemoryState.prepare_backup, m)
        await call(MemoryState.backup_now, m)
        second = await call(MemoryState.backup_now, m)
        await call(MemoryState.set_name, m, "Бабушка")
        await call(MemoryState.set_number, m, "12")
        await call(MemoryState.add_contact, m)
        refused = dict(m.msg)
        await call(MemoryState.set_number, m, "+7 916 111-22-33")
        await call(MemoryState.add_contact, m)
        await call(MemoryState.ask_restore, m, m.backups[0]["id"])
        return m, second, refused

    m, second, refused = run(go())
    assert second is None and len(m.backups) == 1 and m.backups[0]["trigger"] == "вручную"
    assert refused == {"contact-number": "Номер: от 3 до 15 цифр"}
    assert m.msg == {} and any(c["name"] == "Бабушка" for c in m.contacts)
    assert m.restore_open and m.restore_empty  # nothing of the backup is missing (the contact added since stays)
    assert count(world, MemoryBackup) == 1


def test_parental_page_attaches_sets_limits_and_shows_errors_beside_the_fields(world):
    transact(world, lambda s: cabinet.connect(s, _info(world, A), A, "parental_control", T0))

    async def go():
        p = await page(world, ParentalState, A)
        assert [o["msisdn"] for o in p.own] == [KID]
        await call(ParentalState.attach_own, p)
        await call(ParentalState.open_limits, p, p.children[0]["id"])
        await call(ParentalState.set_edit_limit, p, "сто")
        await call(ParentalState.save_limits, p)
        bad = dict(p.msg)
        await call(ParentalState.set_edit_limit, p, "150")
        await call(ParentalState.set_edit_night, p, True)
        await call(ParentalState.toggle_blocked, p, "*", True)
        await call(ParentalState.save_limits, p)
        await call(ParentalState.set_other, p, "12345")
        await call(ParentalState.request_code, p)
        other_bad = dict(p.msg)
        return p, bad, other_bad

    p, bad, other_bad = run(go())
    assert bad == {"limit": "Введите сумму в рублях, например 500 или 350,50"}
    assert not p.edit_open and p.children[0]["limit"] == "из 150,00\u00a0₽"
    assert "ночью отключён" in p.children[0]["night"] and "все платные подписки" in p.children[0]["blocked"]
    assert "other-number" in other_bad
    link = read(world, lambda s: s.exec(select(ParentalLink)).scalars().one())
    assert (link.spend_limit_kopecks, link.night_data_off, link.blocked_content) == (15_000, True, '["*"]')


def _info(store, msisdn):
    from tests.unit.test_access_matrix import session_for

    return session_for(store, msisdn)[1]


def test_an_sms_to_several_numbers_checks_each_field_and_asks_the_cost(world):
    async def go():
        sms = await page(world, SmsState, A)
        await call(SmsState.set_to, sms, B)
        await call(SmsState.add_recipient, sms)
        await call(SmsState.set_recipient, sms, 1, "123")
        await call(SmsState.add_recipient, sms)
        await call(SmsState.set_recipient, sms, 2, B)
        await call(SmsState.set_text, sms, "Привет всем!")
        await call(SmsState.ask, sms)
        errors, opened = list(sms.to_errors), sms.ask_open
        await call(SmsState.set_recipient, sms, 1, C)
        await call(SmsState.set_recipient, sms, 2, "")
        await call(SmsState.remove_recipient, sms, 2)
        await call(SmsState.ask, sms)
        asked = (sms.ask_open, sms.cost_text, sms.cost_detail)
        await call(SmsState.send, sms)
        again = await call(SmsState.send, sms)
        return sms, errors, opened, asked, again

    sms, errors, opened, asked, again = run(go())
    assert not opened and errors == ["", "Введите номер в формате +7 9XX XXX-XX-XX", "Этот номер уже есть в списке"]
    assert asked[0] and asked[1] == "0,00\u00a0₽" and asked[2] == "2\u00a0получателя: 2\u00a0SMS из пакета — 0 ₽."
    assert sms.result == "SMS отправлено на 2\u00a0номера: 0,00\u00a0₽" and again is None
    for to in (B, C):
        assert count(world, SmsMessage, SmsMessage.to_msisdn == to, SmsMessage.sender == A) == 1


def test_content_subscription_cancel_is_asked_with_the_last_charge(world):
    async def go():
        svc = await page(world, ServicesState, A)
        await call(ServicesState.prepare, svc, "content_news")
        await call(ServicesState.connect, svc, "content_news")
        row = svc.content_subs[0]
        await call(ServicesState.prepare, svc, "content_news")
        done = await call(ServicesState.cancel_content, svc, "content_news")
        second = await call(ServicesState.cancel_content, svc, "content_news")
        return svc, row, done, second

    svc, row, done, second = run(go())
    assert row["provider"] == "Поставщик: ООО «Медиа-Дайджест»" and row["fee"] == "7,00\u00a0₽ в сутки"
    assert "Последнее списание — 22.11.2026 15:00 — 7,00\u00a0₽" in row["cancel_terms"]
    assert "Следующего списания (23.11.2026 00:00, 7,00\u00a0₽) не будет" in row["cancel_terms"]
    assert done is not None and second is None and svc.content_subs == []
    assert svc.ended_content[0]["last"] == "Последнее списание: 22.11.2026 15:00 — 7,00\u00a0₽"
    assert count(world, Subscription, Subscription.code == "content_news", Subscription.active == True) == 0  # noqa: E712


def test_the_tariffs_page_lists_the_history(world):
    async def go():
        t = await page(world, TariffsState, A)
        await call(TariffsState.open_preview, t, "tarifische")
        await call(TariffsState.confirm_switch, t)
        return t

    t = run(go())
    assert [(h["what"], h["why"]) for h in t.history] == [("«Smart» → «Тарифище»", "Смена тарифа"),
                                                          ("«Smart»", "Подключение номера")]
    assert t.history[0]["fee"].startswith("списано 240,00")  # 800 ₽ × 9/30
