"""What the tariff and family confirmations say, and when a switch is not offered at all."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mts_portal.core import billing, cabinet, family
from mts_portal.core.clock import MSK, period_of, prorate_up
from mts_portal.core.db import read, transact
from mts_portal.core.errors import Conflict, Invalid
from tests.conftest import T0
from tests.helpers import make_line
from tests.unit.test_access_matrix import session_for

OWNER, MEMBER, PLAIN = "79350000001", "79350000002", "79350000003"
BORN = T0 - timedelta(days=1)


@pytest.fixture
def world(store):
    make_line(store, OWNER, "my_mts", balance=300_000, now=BORN)
    make_line(store, MEMBER, "smart", balance=50_000, now=BORN)
    make_line(store, PLAIN, "smart", balance=200_000, now=BORN)
    _, owner = session_for(store, OWNER)
    return store, owner


def line(store, msisdn):
    return read(store, lambda s: billing.get_line(s, msisdn))


def test_a_switch_is_not_offered_to_a_member_or_an_owner_with_members(world):
    store, owner = world
    assert read(store, lambda s: cabinet.tariff_switch_block(s, billing.get_line(s, PLAIN))) is None
    assert read(store, lambda s: cabinet.tariff_switch_block(s, billing.get_line(s, OWNER))) is None  # no members
    m = transact(store, lambda s: family.invite(s, owner, OWNER, MEMBER, T0))
    assert read(store, lambda s: cabinet.tariff_switch_block(s, billing.get_line(s, OWNER))) is None  # pending only
    _, member = session_for(store, MEMBER)
    transact(store, lambda s: family.accept(s, member, m.id, T0))
    as_member = read(store, lambda s: cabinet.tariff_switch_block(s, billing.get_line(s, MEMBER)))
    assert "участник «МЫ МТС»" in as_member.ru and "выйдите из группы" in as_member.ru and "member" in as_member.en
    as_owner = read(store, lambda s: cabinet.tariff_switch_block(s, billing.get_line(s, OWNER)))
    assert "1 участник:" in as_owner.ru and "1 member:" in as_owner.en
    # the same rules as billing's preview: what the page disables, billing refuses
    for who, info in ((MEMBER, member), (OWNER, owner)):
        with pytest.raises(Conflict):
            read(store, lambda s, info=info, who=who: cabinet.switch_terms(s, info, who, "smart", T0))


def test_the_switch_terms_say_what_is_charged_now_and_that_the_paid_fee_stays_paid(world):
    store, _ = world
    _, info = session_for(store, PLAIN)
    terms = read(store, lambda s: cabinet.switch_terms(s, info, PLAIN, "tarifische", T0))
    p = period_of(T0)
    assert terms.preview.fee_kopecks == prorate_up(80_000, p.remaining_days(T0), p.days)
    assert terms.paid_this_period_kopecks == prorate_up(55_000, p.remaining_days(BORN), p.days)  # Smart, from BORN
    assert not terms.whole_period and terms.current_fee_kopecks == 55_000 and terms.pending_invitations == 0


def test_on_the_first_of_the_month_the_switch_is_the_whole_month(world):
    store, _ = world
    first = period_of(T0).end + timedelta(hours=10)  # the 1st, 10:00 Moscow time
    assert first.astimezone(MSK).day == 1
    transact(store, lambda s: billing.rollover_line(session=s, line=billing.get_line_for_update(s, PLAIN), now=first))
    _, info = session_for(store, PLAIN)
    terms = read(store, lambda s: cabinet.switch_terms(s, info, PLAIN, "tarifische", first))
    assert terms.whole_period and terms.preview.fee_kopecks == 80_000
    assert terms.paid_this_period_kopecks == 55_000  # December's Smart fee, charged at the rollover, is kept


def test_an_owner_leaving_my_mts_is_told_about_pending_invitations(world):
    store, owner = world
    transact(store, lambda s: family.invite(s, owner, OWNER, MEMBER, T0))
    terms = read(store, lambda s: cabinet.switch_terms(s, owner, OWNER, "smart", T0))
    assert terms.pending_invitations == 1


def test_the_invite_precheck_answers_before_the_fee_is_asked(world):
    store, owner = world
    assert read(store, lambda s: cabinet.family_invite_precheck(s, owner, OWNER, "+7 (935) 000-00-02", T0)) == MEMBER
    for bad, words in (("12345", "формате"), (OWNER, "самого себя"), ("79031234567", "другого оператора"),
                       ("74951234567", "не мобильный")):
        with pytest.raises(Invalid) as err:
            read(store, lambda s, bad=bad: cabinet.family_invite_precheck(s, owner, OWNER, bad, T0))
        assert words in err.value.message("ru")


def test_the_invite_precheck_refuses_a_number_already_invited_or_in_the_group(world):
    """The refusal comes before the fee confirmation, not after «Подтвердить»."""
    from mts_portal.core.errors import Conflict

    store, owner = world
    transact(store, lambda s: family.invite(s, owner, OWNER, MEMBER, T0))
    with pytest.raises(Conflict) as err:
        read(store, lambda s: cabinet.family_invite_precheck(s, owner, OWNER, MEMBER, T0))
    assert "уже приглашён" in err.value.message("ru")
