"""Home logins (issue 17): contract + password or a code to the contact mobile, the same lockout,
session and anti-enumeration rules as mobile logins, recovery by a 15-minute code, multi-account links,
and the access matrix between mobile and home sessions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from mts_portal.core import auth, home, home_access
from mts_portal.core.db import read, transact
from mts_portal.core.errors import Conflict, Invalid, Locked, NotFound, Unauthorized
from mts_portal.core.models import AuthSession, HomeAccount, Line, SmsMessage
from tests.conftest import T0
from tests.helpers import make_line
from tests.unit.test_home import CONTACT, make_home

KEEP = (Unauthorized, Locked)
C1, C2, UNKNOWN = "770000000001", "770000000002", "779999999999"
M1, M2 = "79170000001", "79170000002"


@pytest.fixture
def homes(store):
    make_home(store, contract=C1)
    make_home(store, contract=C2, contact="79260000002")
    make_line(store, M1, "smart", balance=50_000, now=T0, holder="Анна")
    make_line(store, M2, "smart", balance=50_000, now=T0, holder="Борис")
    return store


def last_code(store, number=CONTACT) -> str:
    text = read(store, lambda s: s.exec(select(SmsMessage.text).where(SmsMessage.to_msisdn == number)
                                        .order_by(SmsMessage.id.desc())).scalars().first())
    return re.search(r"\b(\d{6})\b", text).group(1)


def set_password(store, contract, password="Kvartira-2026"):
    req = transact(store, lambda s: home_access.send_code(session=s, contract_text=contract, purpose="home_recover",
                                                          client="c", now=T0))
    code = last_code(store, read(store, lambda s: home.find_home(s, contract).contact_msisdn))
    transact(store, lambda s: home_access.recover(session=s, contract_text=contract, attempt_id=req.attempt_id,
                                                  code=code, new_password=password, now=T0))


def session_of(store, grant, now=T0) -> tuple[str, auth.SessionInfo]:
    res = transact(store, lambda s: auth.redeem_ticket(session=s, ticket=grant.ticket, client="c", now=now))
    return res.token, res.info


def home_login(store, contract=C1) -> tuple[str, auth.SessionInfo]:
    req = transact(store, lambda s: home_access.send_code(session=s, contract_text=contract, purpose="home_login",
                                                          client="c", now=T0))
    code = last_code(store, read(store, lambda s: home.find_home(s, contract).contact_msisdn))
    grant = transact(store, lambda s: home_access.login_with_code(session=s, contract_text=contract,
                                                                  attempt_id=req.attempt_id, code=code, now=T0))
    return session_of(store, grant)


def mobile_login(store, msisdn=M1) -> tuple[str, auth.SessionInfo]:
    req = transact(store, lambda s: auth.request_code(session=s, msisdn=msisdn, purpose="login", client="c", now=T0))
    code = last_code(store, msisdn)
    grant = transact(store, lambda s: auth.login_with_code(session=s, attempt_id=req.attempt_id, msisdn=msisdn,
                                                           code=code, client="c", now=T0))
    return session_of(store, grant)


def test_login_by_code_to_the_contact_mobile(homes):
    token, info = home_login(homes)
    assert info.is_home and info.login_line_id == 0
    again = read(homes, lambda s: auth.validate_session(session=s, token=token, now=T0 + timedelta(minutes=1)))
    assert again.is_home and again.login_home_id == info.login_home_id
    assert read(homes, lambda s: home_access.current_home(s, again).contract) == C1
    text = read(homes, lambda s: s.exec(select(SmsMessage.text).where(SmsMessage.to_msisdn == CONTACT)
                                        .order_by(SmsMessage.id.desc())).scalars().first())
    assert C1 in text and "Интернет и ТВ" in text


def test_login_by_password_and_the_same_session_limits(homes):
    set_password(homes, C1)
    grant = transact(homes, lambda s: home_access.login_with_password(session=s, contract_text="7700 0000 0001",
                                                                      password="Kvartira-2026", now=T0))
    token, info = session_of(homes, grant)
    assert read(homes, lambda s: auth.validate_session(session=s, token=token, now=T0)) is not None
    # 20 minutes idle ends it; the sweeper's one-query check sees it too
    assert read(homes, lambda s: auth.validate_session(session=s, token=token,
                                                       now=T0 + auth.IDLE_DEADLINE, touch_it=False)) is None
    token2, _ = session_of(homes, transact(homes, lambda s: home_access.login_with_password(
        session=s, contract_text=C1, password="Kvartira-2026", now=T0)))
    assert auth.ended_sessions(homes, [token2], T0 + timedelta(minutes=1)) == set()
    assert auth.ended_sessions(homes, [token2], T0 + auth.ABSOLUTE_TIMEOUT) == {token2}


def test_three_wrong_passwords_lock_and_unknown_contracts_answer_the_same(homes):
    set_password(homes, C1)
    answers = {}
    for contract in (C1, UNKNOWN):
        msgs = []
        for _ in range(3):
            with pytest.raises((Unauthorized, Locked)) as exc:
                transact(homes, lambda s, c=contract: home_access.login_with_password(
                    session=s, contract_text=c, password="wrong-pass-1", now=T0), keep_on=KEEP)
            msgs.append((type(exc.value).__name__, exc.value.message("ru").split(" ещё на")[0]))
        answers[contract] = msgs
    assert answers[C1] == answers[UNKNOWN]
    assert answers[C1][-1][0] == "Locked"
    # the right password is refused while locked, and works after 10 minutes
    with pytest.raises(Locked):
        transact(homes, lambda s: home_access.login_with_password(session=s, contract_text=C1,
                                                                  password="Kvartira-2026", now=T0), keep_on=KEEP)
    transact(homes, lambda s: home_access.login_with_password(session=s, contract_text=C1, password="Kvartira-2026",
                                                              now=T0 + auth.LOCK_FOR))


def test_code_for_an_unknown_contract_same_answer_nothing_sent(homes):
    before = read(homes, lambda s: len(list(s.exec(select(SmsMessage.id)).scalars())))
    req = transact(homes, lambda s: home_access.send_code(session=s, contract_text=UNKNOWN, purpose="home_login",
                                                          client="c", now=T0))
    assert req.attempt_id and req.msisdn == ""
    assert read(homes, lambda s: len(list(s.exec(select(SmsMessage.id)).scalars()))) == before
    with pytest.raises(Unauthorized):
        transact(homes, lambda s: home_access.login_with_code(session=s, contract_text=UNKNOWN,
                                                              attempt_id=req.attempt_id, code="123456", now=T0),
                 keep_on=KEEP)
    with pytest.raises(Invalid):
        transact(homes, lambda s: home_access.send_code(session=s, contract_text="12", purpose="home_login",
                                                        client="c", now=T0))


def test_wrong_codes_lock_the_contract_login(homes):
    req = transact(homes, lambda s: home_access.send_code(session=s, contract_text=C1, purpose="home_login",
                                                          client="c", now=T0))
    for _ in range(2):
        with pytest.raises(Unauthorized):
            transact(homes, lambda s: home_access.login_with_code(session=s, contract_text=C1,
                                                                  attempt_id=req.attempt_id, code="000000", now=T0),
                     keep_on=KEEP)
    with pytest.raises(Locked):
        transact(homes, lambda s: home_access.login_with_code(session=s, contract_text=C1, attempt_id=req.attempt_id,
                                                              code="000000", now=T0), keep_on=KEEP)
    with pytest.raises(Locked):  # no new code while locked either
        transact(homes, lambda s: home_access.send_code(session=s, contract_text=C1, purpose="home_login",
                                                        client="c", now=T0), keep_on=KEEP)


def test_recovery_code_is_valid_fifteen_minutes_and_ends_sessions(homes):
    token, _ = home_login(homes)
    req = transact(homes, lambda s: home_access.send_code(session=s, contract_text=C1, purpose="home_recover",
                                                          client="c", now=T0))
    code = last_code(homes)
    assert req.expires_at == T0 + timedelta(minutes=15)
    with pytest.raises(Unauthorized):  # 15 minutes on: expired
        transact(homes, lambda s: home_access.recover(session=s, contract_text=C1, attempt_id=req.attempt_id,
                                                      code=code, new_password="Kvartira-2026",
                                                      now=T0 + timedelta(minutes=15)), keep_on=KEEP)
    req = transact(homes, lambda s: home_access.send_code(session=s, contract_text=C1, purpose="home_recover",
                                                          client="c", now=T0 + timedelta(minutes=14)))
    code = last_code(homes)
    with pytest.raises(Invalid):  # the password policy first
        transact(homes, lambda s: home_access.recover(session=s, contract_text=C1, attempt_id=req.attempt_id,
                                                      code=code, new_password="short", now=T0 + timedelta(minutes=28)))
    transact(homes, lambda s: home_access.recover(session=s, contract_text=C1, attempt_id=req.attempt_id, code=code,
                                                  new_password="Kvartira-2026", now=T0 + timedelta(minutes=28)))
    assert read(homes, lambda s: auth.validate_session(session=s, token=token, now=T0 + timedelta(minutes=1))) is None


def test_multi_account_link_by_code_and_switch(homes):
    token, info = mobile_login(homes)
    assert read(homes, lambda s: home_access.homes_of(s, info)) == []
    req = transact(homes, lambda s: home_access.request_link(session=s, info=info, contract_text=C1, client="c",
                                                             now=T0))
    code = last_code(homes)
    with pytest.raises(Unauthorized):
        transact(homes, lambda s: home_access.confirm_link(session=s, info=info, contract_text=C1,
                                                           attempt_id=req.attempt_id, code="000000", now=T0),
                 keep_on=KEEP)
    transact(homes, lambda s: home_access.confirm_link(session=s, info=info, contract_text=C1,
                                                       attempt_id=req.attempt_id, code=code, now=T0))
    assert [h.contract for h in read(homes, lambda s: home_access.homes_of(s, info))] == [C1]
    acc = transact(homes, lambda s: home_access.select_home(session=s, token=token, info=info, contract=C1))
    info = read(homes, lambda s: auth.validate_session(session=s, token=token, now=T0))
    assert info.home_account_id == acc.id and not info.is_home
    # the link code of another account does not link it to this one, nor twice
    req2 = transact(homes, lambda s: home_access.request_link(session=s, info=info, contract_text=C1, client="c",
                                                              now=T0))
    with pytest.raises(Conflict):
        transact(homes, lambda s: home_access.confirm_link(session=s, info=info, contract_text=C1,
                                                           attempt_id=req2.attempt_id, code=last_code(homes), now=T0))


def test_access_matrix_mobile_and_home(homes):
    _mt, mobile = mobile_login(homes, M1)
    _ht, home_info = home_login(homes, C1)
    # a mobile session reaches no contract it is not linked to
    for contract in (C1, C2, UNKNOWN, "garbage"):
        with pytest.raises(NotFound):
            read(homes, lambda s, c=contract: home_access.require_home(s, mobile, c))
    # a home session reaches its own contract only, and no line at all (not even its holder's)
    assert read(homes, lambda s: home_access.require_home(s, home_info, C1)).contract == C1
    with pytest.raises(NotFound):
        read(homes, lambda s: home_access.require_home(s, home_info, C2))
    for msisdn in (M1, M2):
        with pytest.raises(NotFound):
            read(homes, lambda s, m=msisdn: auth.require_line(s, home_info, m))
    # a home session whose holder also owns a line still cannot reach it
    def same_holder(s):
        line = s.exec(select(Line).where(Line.msisdn == M2)).scalars().one()
        acc = s.get(HomeAccount, home_info.login_home_id)
        line.account_id = acc.account_id
        s.add(line)
    transact(homes, same_holder)
    with pytest.raises(NotFound):
        read(homes, lambda s: auth.require_line(s, home_info, M2))
    with pytest.raises(Invalid):  # a home login cannot link further contracts
        transact(homes, lambda s: home_access.request_link(session=s, info=home_info, contract_text=C2, client="c",
                                                           now=T0))
    rows = read(homes, lambda s: list(s.exec(select(AuthSession)).scalars()))
    assert {(r.login_line_id is None, r.login_home_id is None) for r in rows} == {(True, False), (False, True)}


def test_first_password_right_after_a_code_login_then_password_login(homes):
    token, info = home_login(homes)
    with pytest.raises(Invalid):  # the policy first
        transact(homes, lambda s: home_access.set_password(session=s, info=info, new_password="short", now=T0))
    transact(homes, lambda s: home_access.set_password(session=s, info=info, new_password="Kvartira-2026", now=T0))
    assert read(homes, lambda s: auth.validate_session(session=s, token=token, now=T0)).has_password
    with pytest.raises(Conflict):  # a second one only by a recovery code
        transact(homes, lambda s: home_access.set_password(session=s, info=info, new_password="Kvartira-2027", now=T0))
    _t2, info2 = home_login(homes, C2)
    with pytest.raises(Invalid):  # too long after the code login
        transact(homes, lambda s: home_access.set_password(session=s, info=info2, new_password="Kvartira-2026",
                                                           now=T0 + timedelta(minutes=16)))
    transact(homes, lambda s: home_access.login_with_password(session=s, contract_text=C1, password="Kvartira-2026",
                                                              now=T0))
