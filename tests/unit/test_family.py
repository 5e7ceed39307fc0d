"""«МЫ МТС»: invitations, joining, quotas carved from the pool, free calls inside the group,
leaving and removal, and every refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mts_portal.core import billing, charging, family
from mts_portal.core.db import read, transact
from mts_portal.core.errors import Conflict, Forbidden, Invalid, NotFound
from mts_portal.core.models import Bucket, FamilyMember, LedgerEntry, Line
from mts_portal.core.money import KB_PER_GB
from tests.conftest import T0
from tests.helpers import ev, line_state, make_line
from tests.unit.test_access_matrix import session_for

OWNER, M1, M2, M3, M4, M5, M6, OUTSIDER = (f"7930000000{i}" for i in range(8))
BORN = T0 - timedelta(days=1)
LATER = T0 + timedelta(minutes=1)


@pytest.fixture
def fam(store):
    make_line(store, OWNER, "my_mts", balance=300_000, now=BORN)
    for m in (M1, M2, M3, M4, M5, M6):
        make_line(store, m, "smart", balance=50_000, now=BORN)
    make_line(store, OUTSIDER, "tarifische", balance=50_000, now=BORN)
    _, owner_info = session_for(store, OWNER)
    return store, owner_info


def invite(store, info, who, now=T0):
    return transact(store, lambda s: family.invite(s, info, OWNER, who, now))


def join(store, member_msisdn, member_id, now=T0):
    _, info = session_for(store, member_msisdn)
    transact(store, lambda s: family.accept(s, info, member_id, now))
    return info


def pools(store):
    return read(store, lambda s: {b.kind: b for b in s.exec(select(Bucket).where(
        Bucket.pool_total.is_not(None), Bucket.valid_until > T0)).scalars()})


def invariants(store):
    assert read(store, lambda s: billing.check_invariants(session=s)) == []


def test_invite_join_and_the_member_fee(fam):
    store, info = fam
    balance = line_state(store, OWNER).balance_kopecks
    m = invite(store, info, M1)
    assert m.status == "pending"
    join(store, M1, m.id)
    member = line_state(store, M1)
    assert member.tariff_code == "my_mts_member"
    assert line_state(store, OWNER).balance_kopecks == balance - 1_500  # 50 ₽ × 9/30 days
    own = read(store, lambda s: list(s.exec(select(Bucket).where(Bucket.line_id == member.id,
                                                                 Bucket.valid_until > LATER)).scalars()))
    assert own == []  # the member's own bundles ended; the pool takes over
    invariants(store)


def test_member_draws_from_the_pool_and_calls_inside_are_free(fam):
    store, info = fam
    join(store, M1, invite(store, info, M1).id)
    pool = pools(store)
    [r] = charging.ingest(store, [ev(M1, "data", LATER, bytes=10 * 1024 * 1024)], now=LATER + timedelta(minutes=1))
    assert r.drawn == [{"bucket_id": pool["data"].id, "kind": "data", "unit": "KB", "amount": 10 * 1024}]
    res = charging.ingest(store, [ev(M1, "voice", LATER, peer=OWNER, duration_s=600),
                                  ev(OWNER, "voice", LATER, peer=M1, duration_s=600, direction="in"),
                                  ev(OWNER, "voice", LATER, peer="8" + M1[1:], duration_s=120)],
                          now=LATER + timedelta(minutes=1))
    assert [(x.charged_kopecks, x.drawn) for x in res] == [(0, [])] * 3
    v = read(store, lambda s: family.view(s, info, OWNER, LATER + timedelta(minutes=2)))
    data = next(sh for sh in v.members[0].shares if sh.kind == "data")
    assert data.used == 10 * 1024 and data.quota is None
    invariants(store)


def test_quota_is_carved_from_the_pool_and_always_adds_up(fam):
    store, info = fam
    m = invite(store, info, M1)
    join(store, M1, m.id)
    now = LATER
    charging.ingest(store, [ev(M1, "data", now, bytes=2 * KB_PER_GB * 1024)], now=now)  # 2 GB from the pool
    with pytest.raises(Conflict):  # below what the member already used
        transact(store, lambda s: family.set_quotas(s, info, OWNER, m.id, "", "", "1", now))
    transact(store, lambda s: family.set_quotas(s, info, OWNER, m.id, "100", "", "5", now))
    pool = pools(store)
    share = read(store, lambda s: s.exec(select(Bucket).where(Bucket.parent_bucket_id == pool["data"].id))
                 .scalars().one())
    assert (share.total, share.used) == (5 * KB_PER_GB, 2 * KB_PER_GB)  # the 2 GB moved into the share
    assert pool["data"].total + share.total == pool["data"].pool_total
    # raise it, lower it (not below use), drop it: the pool still adds up each time
    for q in ("7", "2", ""):
        transact(store, lambda s, q=q: family.set_quotas(s, info, OWNER, m.id, "100", "", q, now))
        invariants(store)
    with pytest.raises(Conflict):  # more than the pool has left
        transact(store, lambda s: family.set_quotas(s, info, OWNER, m.id, "100000", "", "", now))
    with pytest.raises(Invalid):
        transact(store, lambda s: family.set_quotas(s, info, OWNER, m.id, "-1", "", "", now))
    invariants(store)


def test_quota_limits_the_member_then_overage_is_the_members(fam):
    store, info = fam
    m = invite(store, info, M1)
    join(store, M1, m.id)
    transact(store, lambda s: family.set_quotas(s, info, OWNER, m.id, "10", "0", "", LATER))
    [r] = charging.ingest(store, [ev(M1, "voice", LATER, duration_s=15 * 60)], now=LATER + timedelta(minutes=1))
    assert r.charged_kopecks == 5 * 250 and r.drawn[0]["amount"] == 10  # 10 from the share, 5 × 2.50 ₽
    [r] = charging.ingest(store, [ev(M1, "sms", LATER)], now=LATER + timedelta(minutes=1))
    assert r.charged_kopecks == 200  # an SMS quota of 0: pays the member tariff's rate
    invariants(store)


def test_removal_returns_the_unused_share_and_back_to_minimum(fam):
    store, info = fam
    m = invite(store, info, M1)
    join(store, M1, m.id)
    transact(store, lambda s: family.set_quotas(s, info, OWNER, m.id, "", "", "3", LATER))
    charging.ingest(store, [ev(M1, "data", LATER, bytes=KB_PER_GB * 1024)], now=LATER + timedelta(minutes=1))
    before = pools(store)["data"].total
    transact(store, lambda s: family.remove_member(s, info, OWNER, m.id, LATER + timedelta(minutes=2)))
    assert pools(store)["data"].total == before + 2 * KB_PER_GB
    assert line_state(store, M1).tariff_code == "minimum"
    [r] = charging.ingest(store, [ev(M1, "voice", LATER + timedelta(minutes=3), peer=OWNER, duration_s=60)],
                          now=LATER + timedelta(minutes=5))
    assert r.charged_kopecks == 250  # no longer free
    invariants(store)


def test_a_member_can_leave(fam):
    store, info = fam
    m = invite(store, info, M1)
    member_info = join(store, M1, m.id)
    transact(store, lambda s: family.leave(s, member_info, M1, LATER))
    assert read(store, lambda s: s.get(FamilyMember, m.id)).status == "left"
    with pytest.raises(Conflict):
        transact(store, lambda s: family.leave(s, member_info, M1, LATER))


@pytest.mark.parametrize("who,exc", [(OWNER, Invalid), ("79031234567", Invalid), ("12345", Invalid)])
def test_refusals_bad_invitees(fam, who, exc):
    store, info = fam
    with pytest.raises(exc):
        invite(store, info, who)


def test_refusals_sixth_member_already_in_a_group_and_non_owner(fam):
    store, info = fam
    for m in (M1, M2, M3, M4, M5):
        join(store, m, invite(store, info, m).id)
    with pytest.raises(Conflict):  # a sixth
        invite(store, info, M6)
    make_line(store, "79300000099", "my_mts", balance=100_000, now=BORN)
    _, other_owner = session_for(store, "79300000099")
    with pytest.raises(Conflict):  # already in a group
        transact(store, lambda s: family.invite(s, other_owner, "79300000099", M1, T0))
    _, outsider = session_for(store, OUTSIDER)
    with pytest.raises(Forbidden):  # not an owner of «МЫ МТС»
        transact(store, lambda s: family.invite(s, outsider, OUTSIDER, M6, T0))
    _, member_info = session_for(store, M1)
    member_id = read(store, lambda s: s.exec(select(FamilyMember.id).where(
        FamilyMember.line_id == line_state(store, M2).id)).scalars().one())
    with pytest.raises((Forbidden, NotFound)):  # a member cannot manage the group
        transact(store, lambda s: family.set_quotas(s, member_info, OWNER, member_id, "1", "", "", T0))
    with pytest.raises((Forbidden, NotFound)):
        transact(store, lambda s: family.remove_member(s, member_info, M1, member_id, T0))
    invariants(store)


def test_pending_invitation_can_be_cancelled_and_counts_toward_five(fam):
    store, info = fam
    ids = [invite(store, info, m).id for m in (M1, M2, M3, M4, M5)]
    with pytest.raises(Conflict):
        invite(store, info, M6)
    transact(store, lambda s: family.cancel_invite(s, info, OWNER, ids[0], T0))
    invite(store, info, M6)
    _, m1 = session_for(store, M1)
    with pytest.raises(NotFound):  # a cancelled invitation cannot be accepted
        transact(store, lambda s: family.accept(s, m1, ids[0], T0))


def test_sms_reply_yes_joins_and_no_declines(fam):
    store, info = fam
    invite(store, info, M1)
    invite(store, info, M2)
    assert transact(store, lambda s: family.sms_reply(s, M1, "Да", T0)) == "accepted"
    assert transact(store, lambda s: family.sms_reply(s, M2, "нет", T0)) == "declined"
    assert transact(store, lambda s: family.sms_reply(s, M3, "да", T0)) == "ignored"  # nothing to answer
    assert line_state(store, M1).tariff_code == "my_mts_member" and line_state(store, M2).tariff_code == "smart"


def test_owner_cannot_leave_my_mts_with_members_and_rollover_recarves(fam):
    store, info = fam
    m = invite(store, info, M1)
    join(store, M1, m.id)
    transact(store, lambda s: family.set_quotas(s, info, OWNER, m.id, "200", "", "", LATER))
    with pytest.raises(Conflict):
        transact(store, lambda s: billing.switch_tariff(
            session=s, line=s.exec(select(Line).where(Line.msisdn == OWNER)).scalars().one(), new_code="smart",
            now=LATER))
    dec1 = T0.replace(day=30, hour=21)
    from mts_portal.core import jobs

    jobs.run_due(store, dec1 + timedelta(minutes=1))
    fees = read(store, lambda s: list(s.exec(select(LedgerEntry.amount_kopecks, LedgerEntry.kind).where(
        LedgerEntry.line_id == line_state(store, OWNER).id, LedgerEntry.created_at == dec1)).all()))
    assert sorted(fees) == sorted([(-100_000, "fee"), (-5_000, "family_fee")])
    dec_pool = read(store, lambda s: s.exec(select(Bucket).where(Bucket.pool_total.is_not(None),
                                                                 Bucket.valid_from == dec1,
                                                                 Bucket.kind == "voice")).scalars().one())
    share = read(store, lambda s: s.exec(select(Bucket).where(Bucket.parent_bucket_id == dec_pool.id)).scalars().one())
    assert (dec_pool.pool_total, dec_pool.total, share.total) == (1500, 1300, 200)
    invariants(store)
