"""The part-2 page states driven through their real handlers in-process (as Reflex runs them per tab:
one event after another), on a temp-file SQLite store: the second click of a double click acts not
at all — one result, no contradictory error — and a cancelled question changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from reflex.istate.data import HeaderData
from reflex.state import State
from sqlalchemy import func, select

import mts_portal.mts_portal  # noqa: F401  (registers every page state)
from mts_portal.core import auth, runtime
from mts_portal.core.db import read, transact
from mts_portal.core.models import (
    BonusEntry,
    FamilyMember,
    MailMessage,
    Report,
    SmsMessage,
    Subscription,
)
from mts_portal.state.base import UiState
from mts_portal.state.detail import DetailState
from mts_portal.state.family import FamilyState
from mts_portal.state.messages import SmsState
from mts_portal.state.services import BonusState, RoamingState, ServicesState
from mts_portal.state.tariffs import TariffsState
from tests.conftest import T0
from tests.helpers import call, ev, line_state, make_line, run

A, B, OWNER = "79180000031", "79180000032", "79180000033"


@pytest.fixture
def world(sqlite_store, monkeypatch, tmp_path):
    from mts_portal.core.settings import get_settings

    monkeypatch.setattr(get_settings(), "data_dir", tmp_path)
    monkeypatch.setattr(runtime, "engine", lambda: sqlite_store)
    monkeypatch.setattr(runtime, "now", lambda: T0)
    make_line(sqlite_store, A, "smart", balance=100_000, now=T0 - timedelta(days=1))
    make_line(sqlite_store, B, "minimum", balance=10_000, now=T0 - timedelta(days=1))
    make_line(sqlite_store, OWNER, "my_mts", balance=300_000, now=T0 - timedelta(days=1))
    return sqlite_store


async def page(store, cls, msisdn=A, lang="ru"):
    token = transact(store, lambda s: auth._start_session(s, auth.get_line(s, msisdn), "c", T0)).token
    root = State(_reflex_internal_init=True)
    root.rx_router_headers = HeaderData(cookie=f"mts_session={token}")
    (await root.get_state(UiState)).lang = lang
    state = await root.get_state(cls)
    await call(cls.load, state)
    return state


def count(store, model, *where) -> int:
    return read(store, lambda s: s.exec(select(func.count()).select_from(model).where(*where)).scalar_one())


def test_connecting_twice_from_one_confirmation_connects_once_and_answers_once(world):
    async def go():
        services = await page(world, ServicesState)
        await call(ServicesState.prepare, services, "goodok")
        first = await call(ServicesState.connect, services, "goodok")
        second = await call(ServicesState.connect, services, "goodok")  # the double click's second click
        return first, second

    first, second = run(go())
    assert first is not None and second is None  # no «Услуга уже подключена» after the success
    assert count(world, Subscription, Subscription.code == "goodok", Subscription.active == True) == 1  # noqa: E712


def test_a_block_confirmed_twice_blocks_once_and_says_so(world):
    async def go():
        services = await page(world, ServicesState)
        await call(ServicesState.prepare, services, "block")
        first = await call(ServicesState.set_block, services, True)
        second = await call(ServicesState.set_block, services, True)
        return services, first, second

    services, first, second = run(go())
    assert "Номер заблокирован" in str(first) and second is None  # no «Номер уже заблокирован»
    assert services.status == "blocked" and line_state(world, A).status == "blocked"


def test_a_cancelled_roaming_question_changes_nothing(world):
    async def go():
        roaming = await page(world, RoamingState)
        await call(RoamingState.ask_toggle, roaming, "zabugorishche", True)
        asked = (roaming.ask_open, roaming.ask_terms, roaming.ask_cost)
        await call(RoamingState.set_ask_open, roaming, False)  # Cancel / Escape / a click outside
        late = await call(RoamingState.confirm_toggle, roaming)  # a confirm that arrives after the cancel
        return roaming, asked, late

    roaming, (opened, terms, cost), late = run(go())
    assert opened and "350,00\u00a0₽ в сутки в 30 популярных странах" in terms and cost == "0,00\u00a0₽"
    assert late is None and not roaming.ask_open
    assert count(world, Subscription, Subscription.code == "zabugorishche") == 0

    async def confirm_twice():
        roaming = await page(world, RoamingState)
        await call(RoamingState.ask_toggle, roaming, "zabugorishche", True)
        first = await call(RoamingState.confirm_toggle, roaming)
        await call(RoamingState.set_ask_open, roaming, False)  # the dialog closing after the click
        second = await call(RoamingState.confirm_toggle, roaming)
        return first, second

    first, second = run(confirm_twice())
    assert first is not None and second is None
    assert count(world, Subscription, Subscription.code == "zabugorishche", Subscription.active == True) == 1  # noqa: E712


def test_a_bonus_exchange_confirmed_twice_spends_once(world):
    transact(world, lambda s: _grant(s, A, 500))

    async def go():
        bonus = await page(world, BonusState)
        await call(BonusState.prepare, bonus, "internet_1gb")
        first = await call(BonusState.exchange, bonus, "internet_1gb")
        second = await call(BonusState.exchange, bonus, "internet_1gb")
        return bonus, first, second

    bonus, first, second = run(go())
    assert "Баллы обменяны" in str(first) and second is None  # no «Недостаточно баллов» / second exchange
    assert count(world, BonusEntry, BonusEntry.reason == "exchange") == 1
    assert bonus.history[0]["points"] == "\u2212150" and bonus.points_word in ("балл", "балла", "баллов")
    nbg = next(o for o in bonus.offers if o["code"] == "nol_bez_granits")
    assert nbg["affordable"] == "0" and nbg["missing"].startswith("Нужно ещё ")


def _grant(s, msisdn, points):
    line = auth.get_line(s, msisdn)
    s.add(BonusEntry(line_id=line.id, points=points, reason="earned", description="test", created_at=T0))
    line.bonus_points += points
    s.add(line)


def test_an_sms_confirmed_twice_is_sent_once_without_an_error(world):
    async def go():
        sms = await page(world, SmsState)
        await call(SmsState.set_to, sms, B)
        await call(SmsState.set_text, sms, "Привет!")
        await call(SmsState.prepare, sms)
        await call(SmsState.send, sms)
        result, error = sms.result, sms.error
        second = await call(SmsState.send, sms)  # the text is cleared now: it would say «Введите текст»
        return sms, result, error, second

    sms, result, error, second = run(go())
    assert result.startswith("SMS отправлено") and error == "" and second is None
    assert sms.error == "" and sms.result == result
    assert count(world, SmsMessage, SmsMessage.to_msisdn == B, SmsMessage.sender == A) == 1


def test_an_sms_is_never_cut_and_says_when_it_is_too_long(world):
    async def go():
        sms = await page(world, SmsState)
        await call(SmsState.set_text, sms, "Ж" * 70)
        full = sms.length_note
        await call(SmsState.set_text, sms, "a" * 100 + "Ж")
        return sms, full

    sms, full = run(go())
    assert full == "Это максимум для одного SMS."
    assert sms.text == "a" * 100 + "Ж"  # kept whole
    assert "на 31 символ" in sms.length_note


def test_detail_exports_and_mail_orders_act_once_per_key(world):
    from mts_portal.core import charging

    charging.ingest(world, [ev(A, "voice", T0 - timedelta(hours=1), duration_s=61)], now=T0)

    async def go():
        detail = await page(world, DetailState)
        key = detail.request_key
        first = await call(DetailState.export, detail, "csv", key)
        second = await call(DetailState.export, detail, "csv", key)  # the old key: nothing
        mail_key = detail.request_key
        form = {"email": "anna@example.com", "fmt": "pdf", "key": mail_key}
        sent = await call(DetailState.send_email, detail, form)
        again = await call(DetailState.send_email, detail, form)
        return detail, first, second, sent, again

    detail, first, second, sent, again = run(go())
    assert first and second == [] and again == []
    assert "anna@example.com" in str(sent)
    assert count(world, Report) == 2 and count(world, MailMessage) == 1
    assert detail.totals["count"] == "1\u00a0запись" and detail.totals["minutes"] == "2\u00a0мин"
    assert detail.totals_ready and len(detail.reports) == 2


def test_a_family_invitation_asks_first_and_is_sent_once(world):
    async def go():
        fam = await page(world, FamilyState, OWNER)
        await call(FamilyState.ask_invite, fam, {"msisdn": B})
        asked = (fam.invite_open, fam.invite_terms)
        await call(FamilyState.set_invite_open, fam, False)  # cancelled
        late = await call(FamilyState.invite, fam)
        cancelled = count(world, FamilyMember)
        await call(FamilyState.ask_invite, fam, {"msisdn": B})
        first = await call(FamilyState.invite, fam)
        second = await call(FamilyState.invite, fam)
        await call(FamilyState.ask_invite, fam, {"msisdn": "79031234567"})  # not on the network: no question
        return fam, asked, late, cancelled, first, second

    fam, (opened, terms), late, cancelled, first, second = run(go())
    assert opened and "50,00\u00a0₽ в месяц" in terms and late is None and cancelled == 0
    assert "Приглашение отправлено" in str(first) and second is None
    assert count(world, FamilyMember) == 1
    assert "другого оператора" in fam.invite_error and not fam.invite_open
    assert fam.invite_msisdn == "79031234567"  # the field keeps what was typed


def test_tariffs_page_for_an_owner_with_a_member(world):
    from mts_portal.core import family

    transact(world, lambda s: family.enrol(s, auth.get_line(s, OWNER), auth.get_line(s, B), T0))

    async def go():
        owner = await page(world, TariffsState, OWNER)
        member = await page(world, TariffsState, B, lang="en")
        refused = await call(TariffsState.open_preview, member, "smart")
        return owner, member, refused

    owner, member, refused = run(go())
    assert "1 участник" in owner.switch_block
    assert member.switch_block.startswith("You are a MY MTS member")
    assert "shared bundle" in member.current["data"] and "paid by the group's owner" in member.current["fee"]
    assert not member.preview_open and "MY MTS member" in str(refused)
