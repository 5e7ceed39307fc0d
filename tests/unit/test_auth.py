"""Access rules (issue: SMS-code login, passwords, lockout, sessions, several numbers)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mts_portal.core import auth
from mts_portal.core.db import read, transact
from mts_portal.core.errors import (
    Conflict,
    Forbidden,
    Invalid,
    Locked,
    NotFound,
    RateLimited,
    Unauthorized,
)
from mts_portal.core.models import AuthSession, Credential, LoginTicket, OtpCode, SmsMessage
from tests.conftest import T0
from tests.helpers import make_line

A1, A2, B1, UNKNOWN = "79170000001", "79170000002", "79170000003", "79170000999"
KEEP = (Unauthorized, Locked)


@pytest.fixture
def accounts(store):
    a1 = make_line(store, A1, "smart", balance=50_000, now=T0, holder="Анна")
    account_a = read(store, lambda s: s.get(auth.Line, a1).account_id)
    make_line(store, A2, "minimum", balance=10_000, now=T0, account_id=account_a)
    make_line(store, B1, "smart", balance=50_000, now=T0, holder="Борис")
    return store


def code_sent_to(store, msisdn: str) -> str:
    text = read(store, lambda s: s.exec(select(SmsMessage.text).where(SmsMessage.to_msisdn == msisdn)
                                         .order_by(SmsMessage.id.desc())).scalars().first())
    return re.search(r"\b(\d{6})\b", text).group(1)


def request(store, msisdn, now=T0, client="1.2.3.4", purpose="login"):
    return transact(store, lambda s: auth.request_code(session=s, msisdn=msisdn, purpose=purpose, client=client,
                                                       now=now))


def login_code(store, req, code, now=T0):
    return transact(store, lambda s: auth.login_with_code(session=s, attempt_id=req.attempt_id, msisdn=req.msisdn,
                                                          code=code, client="1.2.3.4", now=now), keep_on=KEEP)


def login(store, msisdn, now=T0):
    req = request(store, msisdn, now)
    grant = login_code(store, req, code_sent_to(store, msisdn), now)
    return transact(store, lambda s: auth.redeem_ticket(session=s, ticket=grant.ticket, client="c", now=now))


def validate(store, token, now):
    return transact(store, lambda s: auth.validate_session(session=s, token=token, now=now))


# ---------------------------------------------------------------- one-time codes


def test_code_is_six_digits_hashed_and_single_use(accounts):
    req = request(accounts, A1)
    code = code_sent_to(accounts, A1)
    assert re.fullmatch(r"\d{6}", code)
    stored = read(accounts, lambda s: s.exec(select(OtpCode).where(OtpCode.attempt_id == req.attempt_id))
                  .scalars().one())
    assert code not in stored.code_hash and len(stored.code_hash) == 64
    login_code(accounts, req, code)
    with pytest.raises(Unauthorized):
        login_code(accounts, req, code)  # used


def test_code_expires_after_ten_minutes(accounts):
    req = request(accounts, A1)
    code = code_sent_to(accounts, A1)
    with pytest.raises(Unauthorized):
        login_code(accounts, req, code, now=T0 + timedelta(minutes=10))
    req = request(accounts, A1, now=T0 + timedelta(minutes=11))
    login_code(accounts, req, code_sent_to(accounts, A1), now=T0 + timedelta(minutes=20, seconds=59))


def test_code_is_bound_to_its_attempt_and_newer_voids_older(accounts):
    first = request(accounts, A1)
    old_code = code_sent_to(accounts, A1)
    second = request(accounts, A1)
    new_code = code_sent_to(accounts, A1)
    with pytest.raises(Unauthorized):
        login_code(accounts, first, old_code)  # voided by the newer one
    with pytest.raises(Unauthorized):
        login_code(accounts, first, new_code)  # not the code of this attempt
    login_code(accounts, second, new_code)


def test_codes_are_rate_limited_per_number_and_per_client(accounts, monkeypatch):
    for i in range(5):
        request(accounts, A1, now=T0 + timedelta(minutes=i))
    with pytest.raises(RateLimited):
        request(accounts, A1, now=T0 + timedelta(minutes=6))
    request(accounts, A1, now=T0 + timedelta(hours=1, minutes=1))  # the hour passed
    from mts_portal.core.settings import get_settings

    monkeypatch.setattr(get_settings(), "sms_per_client_per_hour", 3)
    for n in (B1, A2, UNKNOWN):
        request(accounts, n, client="6.6.6.6")
    with pytest.raises(RateLimited):
        request(accounts, "79170000888", client="6.6.6.6")


def test_codes_come_from_a_cryptographic_source(monkeypatch):
    calls = []
    original = auth.secrets.randbelow
    monkeypatch.setattr(auth.secrets, "randbelow", lambda n: calls.append(n) or original(n))
    assert re.fullmatch(r"\d{6}", auth.new_code()) and calls == [1_000_000]


# ---------------------------------------------------------------- lockout


def test_three_wrong_attempts_lock_for_ten_minutes(accounts):
    req = request(accounts, A1)
    right = code_sent_to(accounts, A1)
    for i, left in enumerate((2, 1)):
        with pytest.raises(Unauthorized) as e:
            login_code(accounts, req, "000000", now=T0 + timedelta(seconds=i))
        assert e.value.details["attempts_left"] == left
    with pytest.raises(Locked) as e:
        login_code(accounts, req, "000000", now=T0 + timedelta(seconds=2))
    assert "10 мин" in e.value.message_ru or "9 мин" in e.value.message_ru
    locked_at = T0 + timedelta(seconds=2)
    with pytest.raises(Locked) as e:  # even the right code, at 9:59
        login_code(accounts, req, right, now=locked_at + timedelta(minutes=9, seconds=59))
    assert e.value.details["seconds_left"] == 1
    with pytest.raises(Locked):  # and a password, and a new code request
        transact(accounts, lambda s: auth.request_code(session=s, msisdn=A1, purpose="login", client="c",
                                                       now=locked_at + timedelta(minutes=5)))
    at = locked_at + timedelta(minutes=10)  # open at 10:00
    req = request(accounts, A1, now=at)
    login_code(accounts, req, code_sent_to(accounts, A1), now=at)


def test_known_and_unknown_numbers_get_the_same_answers(accounts):
    known, unknown = request(accounts, A1), request(accounts, UNKNOWN)
    assert type(known) is type(unknown) and len(known.attempt_id) == len(unknown.attempt_id)
    assert read(accounts, lambda s: s.exec(select(func.count()).select_from(SmsMessage)
                                           .where(SmsMessage.to_msisdn == UNKNOWN)).scalar_one()) == 0
    answers = []
    for req in (known, unknown):
        for _ in range(2):
            with pytest.raises(Unauthorized) as e:
                login_code(accounts, req, "123456")
            answers.append((type(e.value), e.value.message_ru, e.value.details))
        with pytest.raises(Locked) as e:
            login_code(accounts, req, "123456")
        answers.append((type(e.value), e.value.message_ru[:30]))
    assert answers[:3] == answers[3:]
    pw = []
    for msisdn in (B1, "79170000777"):
        with pytest.raises(Unauthorized) as e:
            transact(accounts, lambda s, m=msisdn: auth.login_with_password(session=s, msisdn=m, password="wrong-pass",
                                                                            client="c", now=T0), keep_on=KEEP)
        pw.append((e.value.message_ru, e.value.details))
    assert pw[0] == pw[1]


# ---------------------------------------------------------------- sessions


def test_session_tokens_are_random_hashed_and_new_at_every_login(accounts):
    r1, r2 = login(accounts, A1), login(accounts, A1)
    assert r1.token != r2.token and len(r1.token) >= 43  # 256 bits, url-safe base64
    hashes = read(accounts, lambda s: list(s.exec(select(AuthSession.token_hash)).scalars()))
    assert r1.token not in hashes and len(hashes) == 2


def test_login_ticket_is_single_use_and_short_lived(accounts):
    req = request(accounts, A1)
    grant = login_code(accounts, req, code_sent_to(accounts, A1))
    transact(accounts, lambda s: auth.redeem_ticket(session=s, ticket=grant.ticket, client="c", now=T0))
    with pytest.raises(Unauthorized):
        transact(accounts, lambda s: auth.redeem_ticket(session=s, ticket=grant.ticket, client="c", now=T0))
    req = request(accounts, A1, now=T0 + timedelta(minutes=1))
    grant = login_code(accounts, req, code_sent_to(accounts, A1), now=T0 + timedelta(minutes=1))
    with pytest.raises(Unauthorized):
        transact(accounts, lambda s: auth.redeem_ticket(session=s, ticket=grant.ticket, client="c",
                                                        now=T0 + timedelta(minutes=2, seconds=1)))
    assert read(accounts, lambda s: s.exec(select(func.count()).select_from(LoginTicket)).scalar_one()) == 2


def test_idle_timeout_twenty_minutes(accounts):
    """Active at t: never logged out before t + 20:00, always by t + 20:00 + TOUCH_EVERY (last_seen_at is
    written at most every 15 s, and the idle deadline adds those 15 s)."""
    assert auth.TOUCH_EVERY == timedelta(seconds=15)
    r = login(accounts, A1)
    t = T0 + timedelta(minutes=19, seconds=59)  # activity at 19:59 keeps it alive another 20 minutes
    assert validate(accounts, r.token, t) is not None
    assert validate(accounts, r.token, t + timedelta(minutes=19)) is not None
    t += timedelta(minutes=19)
    assert validate(accounts, r.token, t + timedelta(minutes=20, seconds=15)) is None
    assert read(accounts, lambda s: auth.ended_reason(session=s, token=r.token)) == "idle"
    assert validate(accounts, r.token, t + timedelta(minutes=40)) is None  # stays ended


def test_idle_logout_is_never_early_even_between_last_seen_writes(accounts):
    r = login(accounts, A1)
    for offset in (1, 7, 14):  # activity that does not rewrite last_seen_at (under 15 s after the last write)
        t = T0 + timedelta(seconds=offset)
        assert validate(accounts, r.token, t) is not None
        # no further activity: still alive just before t + 20 min (checked without counting as activity)
        still = transact(accounts, lambda s, t=t: auth.validate_session(
            session=s, token=r.token, now=t + timedelta(minutes=20) - timedelta(milliseconds=1), touch_it=False))
        assert still is not None, offset
    last = T0 + timedelta(seconds=14)
    assert transact(accounts, lambda s: auth.validate_session(
        session=s, token=r.token, now=last + timedelta(minutes=20, seconds=15), touch_it=False)) is None


def test_absolute_timeout_twelve_hours(accounts):
    r = login(accounts, A1)
    t = T0
    while t + timedelta(minutes=15) < T0 + timedelta(hours=12):
        t += timedelta(minutes=15)
        assert validate(accounts, r.token, t) is not None
    assert validate(accounts, r.token, T0 + timedelta(hours=12)) is None
    assert read(accounts, lambda s: auth.ended_reason(session=s, token=r.token)) == "expired"


def test_logout_ends_the_session_on_the_server(accounts):
    r = login(accounts, A1)
    assert transact(accounts, lambda s: auth.end_session(session=s, token=r.token, now=T0))
    assert validate(accounts, r.token, T0) is None  # a copied cookie is worthless now


def test_garbage_tokens(accounts):
    for token in (None, "", "x", "a" * 500, "' OR 1=1 --"):
        assert validate(accounts, token, T0) is None


# ---------------------------------------------------------------- passwords


def test_password_policy_argon2id_and_login(accounts):
    r = login(accounts, A1)
    for bad in ("short", "12345678", "x" * 129, "my9170000001pw", "Qwertyuiop", "aaaaabbbbb"):
        with pytest.raises(Invalid):
            transact(accounts, lambda s, b=bad: auth.set_password(session=s, info=r.info, new_password=b, now=T0,
                                                                  first_time=True))
    transact(accounts, lambda s: auth.set_password(session=s, info=r.info, new_password="Correct-Horse-7",
                                                   now=T0, first_time=True))
    stored = read(accounts, lambda s: s.exec(select(Credential.password_hash)).scalars().one())
    assert stored.startswith("$argon2id$")
    grant = transact(accounts, lambda s: auth.login_with_password(session=s, msisdn=A1, password="Correct-Horse-7",
                                                                  client="c", now=T0), keep_on=KEEP)
    assert grant.msisdn == A1


def test_changing_a_password_needs_the_current_one_or_a_fresh_code(accounts):
    r = login(accounts, A1)
    transact(accounts, lambda s: auth.set_password(session=s, info=r.info, new_password="First-pass-1", now=T0,
                                                   first_time=True))
    info = transact(accounts, lambda s: auth.validate_session(session=s, token=r.token, now=T0))
    with pytest.raises(Invalid):
        transact(accounts, lambda s: auth.set_password(session=s, info=info, new_password="Second-pass-2", now=T0))
    with pytest.raises(Unauthorized):
        transact(accounts, lambda s: auth.set_password(session=s, info=info, new_password="Second-pass-2", now=T0,
                                                       current_password="wrong"), keep_on=KEEP)
    transact(accounts, lambda s: auth.set_password(session=s, info=info, new_password="Second-pass-2", now=T0,
                                                   current_password="First-pass-1"))
    req = request(accounts, A1, purpose="password", now=T0 + timedelta(minutes=1))
    code = code_sent_to(accounts, A1)
    transact(accounts, lambda s: auth.set_password(session=s, info=info, new_password="Third-pass-3",
                                                   now=T0 + timedelta(minutes=1), code_attempt_id=req.attempt_id,
                                                   code=code))
    with pytest.raises(Unauthorized):
        transact(accounts, lambda s: auth.login_with_password(session=s, msisdn=A1, password="Second-pass-2",
                                                              client="c", now=T0 + timedelta(minutes=2)), keep_on=KEEP)


def test_first_password_without_proof_only_right_after_a_code_login(accounts):
    r = login(accounts, A1)
    late = T0 + timedelta(minutes=16)
    with pytest.raises(Invalid):
        transact(accounts, lambda s: auth.set_password(session=s, info=r.info, new_password="Late-pass-11", now=late,
                                                       first_time=True))


def test_first_password_freshness_is_judged_by_the_sessions_clock(accounts):
    """A demo clock pinned days ahead (the simulated `now`) does not make a fresh code login stale: the
    session was opened on the sessions' clock, and its freshness is judged on it."""
    r = login(accounts, A1)
    days_ahead = T0 + timedelta(days=40)
    transact(accounts, lambda s: auth.set_password(session=s, info=r.info, new_password="Fresh-pass-11",
                                                   now=days_ahead, first_time=True,
                                                   session_now=T0 + timedelta(minutes=1)))
    r2 = login(accounts, A2)
    with pytest.raises(Invalid):
        transact(accounts, lambda s: auth.set_password(session=s, info=r2.info, new_password="Late-pass-12",
                                                       now=T0, first_time=True,
                                                       session_now=T0 + timedelta(minutes=16)))


# ---------------------------------------------------------------- numbers of an account


def test_add_a_number_by_code_switch_and_remove(accounts):
    ra = login(accounts, A1)
    assert [ln.msisdn for ln in read(accounts, lambda s: auth.account_lines(s, ra.info.account_id))] == [A1, A2]
    req = transact(accounts, lambda s: auth.request_add_number(session=s, info=ra.info, msisdn="+7 917 000-00-03",
                                                               client="c", now=T0))
    with pytest.raises(Unauthorized):
        transact(accounts, lambda s: auth.confirm_add_number(session=s, info=ra.info, attempt_id=req.attempt_id,
                                                             msisdn=B1, code="000000", now=T0), keep_on=KEEP)
    code = code_sent_to(accounts, B1)
    transact(accounts, lambda s: auth.confirm_add_number(session=s, info=ra.info, attempt_id=req.attempt_id,
                                                         msisdn=B1, code=code, now=T0))
    assert B1 in [ln.msisdn for ln in read(accounts, lambda s: auth.account_lines(s, ra.info.account_id))]
    info = transact(accounts, lambda s: auth.select_line(session=s, token=ra.token, info=ra.info, msisdn=B1))
    assert info.selected_msisdn == B1
    info = transact(accounts, lambda s: auth.validate_session(session=s, token=ra.token, now=T0))
    assert info.selected_msisdn == B1
    transact(accounts, lambda s: auth.remove_number(session=s, info=info, token=ra.token, msisdn=B1, now=T0))
    info = transact(accounts, lambda s: auth.validate_session(session=s, token=ra.token, now=T0))
    assert info.selected_msisdn == A1
    with pytest.raises(Conflict):  # own numbers cannot be removed, only added ones
        transact(accounts, lambda s: auth.remove_number(session=s, info=info, token=ra.token, msisdn=A2, now=T0))


def test_a_code_for_another_account_cannot_add_the_number(accounts):
    ra, rb = login(accounts, A1), login(accounts, B1)
    # B asks to add A2 (A2 gets the code); A cannot use that attempt for its own account
    req = transact(accounts, lambda s: auth.request_add_number(session=s, info=rb.info, msisdn=A2, client="c",
                                                               now=T0))
    code = code_sent_to(accounts, A2)
    with pytest.raises(Unauthorized):
        transact(accounts, lambda s: auth.confirm_add_number(session=s, info=ra.info, attempt_id=req.attempt_id,
                                                             msisdn=A2, code=code, now=T0), keep_on=KEEP)


def test_select_line_refuses_foreign_numbers(accounts):
    ra = login(accounts, A1)
    for msisdn in (B1, UNKNOWN, "garbage", ""):
        with pytest.raises(NotFound):
            transact(accounts, lambda s, m=msisdn: auth.select_line(session=s, token=ra.token, info=ra.info, msisdn=m))


# ---------------------------------------------------------------- device lost


def test_device_lost_blocks_usage_and_login_and_is_unblocked_from_another_number(accounts):
    from mts_portal.core import charging
    from tests.helpers import ev

    r_lost = login(accounts, A2)
    ra = login(accounts, A1)
    transact(accounts, lambda s: auth.mark_lost(session=s, info=ra.info, msisdn=A2, now=T0))
    assert validate(accounts, r_lost.token, T0) is None  # the thief's session ends
    [res] = charging.ingest(accounts, [ev(A2, "sms", T0)], now=T0 + timedelta(minutes=1))
    assert res.status == "blocked"
    def codes_delivered():
        return read(accounts, lambda s: s.exec(select(func.count()).select_from(SmsMessage).where(
            SmsMessage.to_msisdn == A2, SmsMessage.text.like("Код для входа%"))).scalar_one())

    before = codes_delivered()
    req = request(accounts, A2)  # the same answer as ever, but no code goes to whoever holds the lost device
    assert req.attempt_id and codes_delivered() == before
    with pytest.raises(Forbidden):  # from the lost number itself
        transact(accounts, lambda s: auth.unblock_lost(session=s, info=r_lost.info, msisdn=A2, now=T0))
    rb = login(accounts, B1)
    with pytest.raises(NotFound):  # from another account
        transact(accounts, lambda s: auth.unblock_lost(session=s, info=rb.info, msisdn=A2, now=T0))
    transact(accounts, lambda s: auth.unblock_lost(session=s, info=ra.info, msisdn=A2, now=T0))
    login(accounts, A2)  # works again


def test_lost_number_gets_no_code_of_any_purpose(accounts):
    ra = login(accounts, A1)
    transact(accounts, lambda s: auth.mark_lost(session=s, info=ra.info, msisdn=A2, now=T0))
    rb = login(accounts, B1)
    def count():
        texts = read(accounts, lambda s: list(s.exec(select(SmsMessage.text).where(SmsMessage.to_msisdn == A2))
                                              .scalars()))
        return sum(1 for t in texts if re.search(r"\b\d{6}\b", t))

    before = count()
    for purpose in ("login", "add_number", "password", "transfer"):
        req = request(accounts, A2, purpose=purpose, now=T0 + timedelta(minutes=1))
        assert req.attempt_id  # the same answer as ever
    req = transact(accounts, lambda s: auth.request_add_number(session=s, info=rb.info, msisdn=A2, client="c",
                                                               now=T0 + timedelta(minutes=1)))
    assert req.attempt_id and count() == before


def test_the_holder_of_a_lost_phone_cannot_add_it_to_his_account_nor_unblock_it(accounts, monkeypatch):
    """The bypass: the thief (account B) adds the lost number with the code the lost phone receives,
    unblocks it from his own account and logs in with it."""
    ra = login(accounts, A1)
    transact(accounts, lambda s: auth.mark_lost(session=s, info=ra.info, msisdn=A2, now=T0))
    rb = login(accounts, B1)
    monkeypatch.setattr(auth, "new_code", lambda: "424242")  # even a thief who somehow has the code
    req = transact(accounts, lambda s: auth.request_add_number(session=s, info=rb.info, msisdn=A2, client="c",
                                                               now=T0))
    with pytest.raises(Unauthorized) as refused:
        transact(accounts, lambda s: auth.confirm_add_number(session=s, info=rb.info, attempt_id=req.attempt_id,
                                                             msisdn=A2, code="424242", now=T0), keep_on=KEEP)
    assert refused.value.message_ru.startswith("Неверный или устаревший код")  # the answer of a wrong code
    assert A2 not in [ln.msisdn for ln in read(accounts, lambda s: auth.account_lines(s, rb.info.account_id))]
    # had he added it earlier (while the phone was not yet marked lost), the link is gone once it is marked
    # lost; and an account the number was merely added to cannot unblock it anyway
    transact(accounts, lambda s: auth.unblock_lost(session=s, info=ra.info, msisdn=A2, now=T0))
    monkeypatch.setattr(auth, "new_code", lambda: "515151")
    req = transact(accounts, lambda s: auth.request_add_number(session=s, info=rb.info, msisdn=A2, client="c",
                                                               now=T0 + timedelta(minutes=1)))
    transact(accounts, lambda s: auth.confirm_add_number(session=s, info=rb.info, attempt_id=req.attempt_id,
                                                         msisdn=A2, code="515151", now=T0 + timedelta(minutes=1)))
    transact(accounts, lambda s: auth.mark_lost(session=s, info=ra.info, msisdn=A2, now=T0 + timedelta(minutes=2)))
    assert A2 not in [ln.msisdn for ln in read(accounts, lambda s: auth.account_lines(s, rb.info.account_id))]
    from mts_portal.core.models import AccountLink

    line_id = read(accounts, lambda s: s.exec(select(auth.Line.id).where(auth.Line.msisdn == A2)).scalar_one())
    transact(accounts, lambda s: s.add(AccountLink(account_id=rb.info.account_id, line_id=line_id, created_at=T0)))
    with pytest.raises(Forbidden):
        transact(accounts, lambda s: auth.unblock_lost(session=s, info=rb.info, msisdn=A2,
                                                       now=T0 + timedelta(minutes=3)))
    assert read(accounts, lambda s: s.get(auth.Line, line_id).is_lost)
    transact(accounts, lambda s: auth.unblock_lost(session=s, info=ra.info, msisdn=A2,
                                                   now=T0 + timedelta(minutes=3)))  # its own account can


def test_current_password_guesses_are_locked_like_logins(accounts):
    r = login(accounts, A1)
    transact(accounts, lambda s: auth.set_password(session=s, info=r.info, new_password="Right-Horse-9", now=T0,
                                                   first_time=True))
    thief = login(accounts, A1, now=T0 + timedelta(minutes=1))
    now = T0 + timedelta(minutes=1)

    def change(current, at=now):
        return transact(accounts, lambda s: auth.set_password(session=s, info=thief.info,
                                                              new_password="Thief-Owns-77", now=at,
                                                              current_password=current), keep_on=KEEP)

    for left in (2, 1):
        with pytest.raises(Unauthorized) as e:
            change("wrong-guess-1")
        assert e.value.details["attempts_left"] == left
    with pytest.raises(Locked):
        change("wrong-guess-3")
    with pytest.raises(Locked):  # the right one too, while locked
        change("Right-Horse-9", now + timedelta(minutes=9, seconds=59))
    with pytest.raises(Locked):  # and it is the login's lock
        transact(accounts, lambda s: auth.login_with_password(session=s, msisdn=A1, password="Right-Horse-9",
                                                              client="c", now=now + timedelta(minutes=5)),
                 keep_on=KEEP)
    change("Right-Horse-9", now + timedelta(minutes=10))  # open at 10:00; a success resets the count
    from mts_portal.core.models import LoginGuard

    assert read(accounts, lambda s: s.get(LoginGuard, A1).failures) == 0


def test_a_password_change_ends_the_accounts_other_sessions(accounts):
    r = login(accounts, A1)
    other_a1, other_a2, b = login(accounts, A1), login(accounts, A2), login(accounts, B1)
    transact(accounts, lambda s: auth.set_password(session=s, info=r.info, new_password="Right-Horse-9", now=T0,
                                                   first_time=True))
    now = T0 + timedelta(minutes=1)
    assert validate(accounts, r.token, now) is not None
    assert validate(accounts, other_a1.token, now) is None and validate(accounts, other_a2.token, now) is None
    assert read(accounts, lambda s: auth.ended_reason(session=s, token=other_a1.token)) == "password"
    assert validate(accounts, b.token, now) is not None  # another account is not touched


def test_add_number_failures_do_not_lock_the_numbers_own_login(accounts):
    rb = login(accounts, B1)
    req = transact(accounts, lambda s: auth.request_add_number(session=s, info=rb.info, msisdn=A1, client="c",
                                                               now=T0))
    text = read(accounts, lambda s: s.exec(select(SmsMessage.text).where(SmsMessage.to_msisdn == A1)
                                           .order_by(SmsMessage.id.desc())).scalars().first())
    assert "другой личный кабинет" in text and "Никому не сообщайте" in text and auth.format_msisdn(B1) in text
    right = code_sent_to(accounts, A1)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(2):
        with pytest.raises(Unauthorized):
            transact(accounts, lambda s: auth.confirm_add_number(session=s, info=rb.info, attempt_id=req.attempt_id,
                                                                 msisdn=A1, code=wrong, now=T0), keep_on=KEEP)
    with pytest.raises(Locked) as e:  # B's add-number attempts are locked ...
        transact(accounts, lambda s: auth.confirm_add_number(session=s, info=rb.info, attempt_id=req.attempt_id,
                                                             msisdn=A1, code=wrong, now=T0), keep_on=KEEP)
    assert "Ввод кода заблокирован" in e.value.message_ru
    with pytest.raises(Locked):  # ... even with the right code
        transact(accounts, lambda s: auth.confirm_add_number(session=s, info=rb.info, attempt_id=req.attempt_id,
                                                             msisdn=A1, code=right, now=T0), keep_on=KEEP)
    login(accounts, A1, now=T0 + timedelta(minutes=1))  # ... but the number's owner logs in as usual


def test_a_login_ticket_is_bound_to_the_browser_that_proved_the_login(accounts):
    req = request(accounts, A1)
    grant = transact(accounts, lambda s: auth.login_with_code(session=s, attempt_id=req.attempt_id, msisdn=A1,
                                                              code=code_sent_to(accounts, A1), client="c", now=T0,
                                                              binding="nonce-of-the-attackers-browser-0123456789"))
    stored = read(accounts, lambda s: s.exec(select(LoginTicket.binding_hash)).scalars().one())
    assert stored == auth.binding_hash("nonce-of-the-attackers-browser-0123456789") and len(stored) == 64
    for other in (None, "", "nonce-of-the-victims-browser-000000000000"):
        with pytest.raises(Unauthorized) as e:
            transact(accounts, lambda s, o=other: auth.redeem_ticket(session=s, ticket=grant.ticket, client="v",
                                                                     now=T0, binding=o, require_binding=True))
        assert e.value.code == "login_binding"
    res = transact(accounts, lambda s: auth.redeem_ticket(session=s, ticket=grant.ticket, client="c", now=T0,
                                                          binding="nonce-of-the-attackers-browser-0123456789",
                                                          require_binding=True))
    assert res.info.login_msisdn == A1
    # the browser route refuses an unbound ticket too
    req = request(accounts, A1, now=T0 + timedelta(minutes=1))
    unbound = login_code(accounts, req, code_sent_to(accounts, A1), now=T0 + timedelta(minutes=1))
    with pytest.raises(Unauthorized):
        transact(accounts, lambda s: auth.redeem_ticket(session=s, ticket=unbound.ticket, client="c",
                                                        now=T0 + timedelta(minutes=1), binding="x" * 43,
                                                        require_binding=True))
