"""«МЫ МТС»: invitations, joining, quotas carved from the pool, free calls inside the group,
leaving and removal, and every refusal."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from mts_portal.core import auth, billing, cabinet, charging, family, jobs
from mts_portal.core.db import read, transact
from mts_portal.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from mts_portal.core.models import (
    Bucket,
    ChangeLog,
    FamilyMember,
    LedgerEntry,
    Line,
    Notification,
    SmsMessage,
)
from mts_portal.core.money import KB_PER_GB, format_amount
from tests.conftest import T0
from tests.helpers import ev, line_state, make_line
from tests.unit.test_access_matrix import session_for

OWNER, M1, M2, M3, M4, M5, M6, OUTSIDER = (f"7958000000{i}" for i in range(8))
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
    make_line(store, "79580000099", "my_mts", balance=100_000, now=BORN)
    _, other_owner = session_for(store, "79580000099")
    with pytest.raises(Conflict):  # already in a group
        transact(store, lambda s: family.invite(s, other_owner, "79580000099", M1, T0))
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
    assert transact(store, lambda s: family.sms_reply(s, M3, "да", T0)) == "no_invitations"  # nothing to answer
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


# ---------------------------------------------------------------- defects found in review

DEC1 = T0.replace(day=30, hour=21)  # 1 December 00:00 in Moscow: the next period starts


@contextlib.contextmanager
def raises_ru(exc_type, text_ru):
    """pytest.raises, and the Russian reason shown to the subscriber says `text_ru`."""
    with pytest.raises(exc_type) as caught:
        yield caught
    assert text_ru in caught.value.message_ru, caught.value.message_ru


def sms_to(store, msisdn):
    return read(store, lambda s: list(s.exec(select(SmsMessage.text).where(SmsMessage.to_msisdn == msisdn)
                                             .order_by(SmsMessage.id)).scalars()))


def notes_of(store, msisdn):
    return read(store, lambda s: list(s.exec(select(Notification.text_ru).where(
        Notification.line_id == line_state(store, msisdn).id).order_by(Notification.id)).scalars()))


def member_row(store, member_id):
    return read(store, lambda s: s.get(FamilyMember, member_id))


def test_joining_before_the_owners_rollover_runs_it_first(fam):
    store, info = fam
    m = invite(store, info, M1, now=DEC1 - timedelta(hours=1))
    transact(store, lambda s: billing.top_up(session=s, msisdn=M1, amount_kopecks=10_000, key="k",
                                             now=DEC1 - timedelta(hours=1)))  # enough for Smart's December fee
    t = DEC1 + timedelta(seconds=30)  # the scheduler has not run yet
    join(store, M1, m.id, now=t)
    owner = line_state(store, OWNER)
    assert owner.period_end == T0.replace(month=12, day=31, hour=21)  # rolled over by the join itself
    report = jobs.run_due(store, t + timedelta(seconds=30))  # the scheduler's batch does not collide
    assert report.rollovers >= 1
    fees = read(store, lambda s: sorted(s.exec(select(LedgerEntry.cause_ref, LedgerEntry.amount_kopecks).where(
        LedgerEntry.line_id == owner.id, LedgerEntry.kind.in_(("fee", "family_fee")),
        LedgerEntry.created_at >= DEC1)).all()))
    assert fees == sorted([("tariff:my_mts:2026-12", -100_000), (f"family:{m.id}:2026-12", -5_000)])
    [r] = charging.ingest(store, [ev(OWNER, "sms", t + timedelta(minutes=1))], now=t + timedelta(minutes=2))
    assert r.status == "rated" and r.charged_kopecks == 0
    [r] = charging.ingest(store, [ev(M1, "sms", t + timedelta(minutes=1))], now=t + timedelta(minutes=2))
    assert r.status == "rated" and r.charged_kopecks == 0  # from the December pool
    invariants(store)


def test_quota_and_removal_before_the_owners_rollover_use_the_new_pool(fam):
    store, info = fam
    m = invite(store, info, M1)
    join(store, M1, m.id)
    t = DEC1 + timedelta(seconds=30)
    transact(store, lambda s: family.set_quotas(s, info, OWNER, m.id, "100", "", "", t))
    dec_voice = read(store, lambda s: family.pool_bucket(s, line_state(store, OWNER).id, "voice", t))
    assert dec_voice is not None and (dec_voice.pool_total, dec_voice.total) == (1500, 1400)
    transact(store, lambda s: family.remove_member(s, info, OWNER, m.id, t + timedelta(seconds=1)))
    assert read(store, lambda s: s.get(Bucket, dec_voice.id)).total == 1500
    jobs.run_due(store, t + timedelta(minutes=1))
    invariants(store)


def test_a_share_ended_by_dropping_the_quota_is_not_reused(fam):
    store, info = fam
    m = invite(store, info, M1)
    join(store, M1, m.id)
    for i, q in enumerate(("100", "", "100")):
        transact(store, lambda s, q=q, i=i: family.set_quotas(s, info, OWNER, m.id, q, "", "",
                                                              LATER + timedelta(minutes=i)))
    t = LATER + timedelta(minutes=3)
    [r] = charging.ingest(store, [ev(M1, "voice", t, duration_s=600)], now=t + timedelta(seconds=5))
    assert r.charged_kopecks == 0 and r.drawn[0]["amount"] == 10  # from the (new) share
    v = read(store, lambda s: family.view(s, info, OWNER, t + timedelta(seconds=10)))
    voice = next(sh for sh in v.members[0].shares if sh.kind == "voice")
    assert (voice.quota, voice.used, voice.remaining) == (100, 10, 90)
    invariants(store)


def test_rejoining_in_the_same_month_starts_from_zero(fam):
    store, info = fam
    m = invite(store, info, M1)
    join(store, M1, m.id)
    transact(store, lambda s: family.set_quotas(s, info, OWNER, m.id, "100", "", "", LATER))
    t = LATER + timedelta(minutes=1)
    charging.ingest(store, [ev(M1, "voice", t, duration_s=600),  # 10 min from the share
                            ev(M1, "data", t, bytes=100 * 1024 * 1024)], now=t + timedelta(seconds=5))  # pool
    transact(store, lambda s: family.remove_member(s, info, OWNER, m.id, t + timedelta(minutes=1)))
    invariants(store)
    t2 = t + timedelta(minutes=2)
    m2 = invite(store, info, M1, now=t2)
    join(store, M1, m2.id, now=t2)
    v = read(store, lambda s: family.view(s, info, OWNER, t2))
    assert {sh.kind: sh.used for sh in v.members[0].shares} == {"voice": 0, "sms": 0, "data": 0}
    assert {sh.kind: sh.used for sh in v.owner_use} == {"voice": 0, "sms": 0, "data": 0}
    # the former membership's use still counts in the pool: used + remaining = the pool
    data = next(p for p in v.pool if p.kind == "data")
    assert data.used == 100 * 1024 and data.used + data.remaining == data.quota
    transact(store, lambda s: family.set_quotas(s, info, OWNER, m2.id, "50", "", "0,05", t2))  # not "already used"
    t3 = t2 + timedelta(minutes=1)
    [r] = charging.ingest(store, [ev(M1, "voice", t3, duration_s=120)], now=t3 + timedelta(seconds=5))
    assert r.charged_kopecks == 0 and r.drawn[0]["amount"] == 2
    invariants(store)


def test_owner_view_counts_only_the_owners_own_use(fam):
    store, info = fam
    m1, m2 = invite(store, info, M1), invite(store, info, M2)
    join(store, M1, m1.id)
    join(store, M2, m2.id)
    invite(store, info, M3)  # pending: nothing of it counts
    t = LATER + timedelta(minutes=1)
    charging.ingest(store, [ev(M2, "data", t, bytes=100 * 1024 * 1024),
                            ev(OWNER, "data", t, bytes=10 * 1024 * 1024)], now=t + timedelta(seconds=5))
    transact(store, lambda s: family.remove_member(s, info, OWNER, m2.id, t + timedelta(minutes=1)))
    v = read(store, lambda s: family.view(s, info, OWNER, t + timedelta(minutes=2)))
    assert next(x for x in v.owner_use if x.kind == "data").used == 10 * 1024
    pool = next(x for x in v.pool if x.kind == "data")
    assert pool.used == 110 * 1024 and pool.used + pool.remaining == pool.quota
    assert [mv.status for mv in v.members] == ["active", "pending"]
    assert v.members[1].shares == []
    invariants(store)


def test_an_owner_cannot_join_another_group(fam):
    store, info = fam
    m = invite(store, info, M1)
    transact(store, lambda s: billing.switch_tariff(session=s, line=billing.get_line(s, M1), new_code="my_mts",
                                                    now=T0))
    _, m1_info = session_for(store, M1)
    m2 = transact(store, lambda s: family.invite(s, m1_info, M1, M2, T0))
    join(store, M2, m2.id)
    with raises_ru(Conflict, "сами владелец группы"):
        transact(store, lambda s: family.accept(s, m1_info, m.id, LATER))
    assert line_state(store, M1).tariff_code == "my_mts" and member_row(store, m.id).status == "pending"
    invariants(store)


def test_a_suspended_invitee_joins_only_after_topping_up(fam):
    store, info = fam
    x = "79580000060"
    make_line(store, x, "smart", balance=0, now=BORN)
    t = DEC1 + timedelta(hours=1)
    jobs.run_due(store, t)
    assert line_state(store, x).status == "suspended"
    m = transact(store, lambda s: family.invite(s, info, OWNER, x, t))
    owner_balance = line_state(store, OWNER).balance_kopecks
    with raises_ru(Conflict, "пополните счёт"):
        join(store, x, m.id, now=t)
    assert member_row(store, m.id).status == "pending" and line_state(store, x).tariff_code == "smart"
    assert line_state(store, OWNER).balance_kopecks == owner_balance
    assert transact(store, lambda s: family.sms_reply(s, x, "Да", t)) == "refused"
    assert "пополните счёт" in sms_to(store, x)[-1]
    transact(store, lambda s: billing.top_up(session=s, msisdn=x, amount_kopecks=60_000, key="k1", now=t))
    join(store, x, m.id, now=t + timedelta(minutes=1))
    assert line_state(store, x).tariff_code == "my_mts_member"
    invariants(store)


@pytest.mark.parametrize("how", ["lost", "blocked"])
def test_a_blocked_or_lost_number_is_invited_like_any_other_but_cannot_join(fam, how):
    store, info = fam
    _, m1_info = session_for(store, M1)
    if how == "lost":
        transact(store, lambda s: auth.mark_lost(session=s, info=m1_info, msisdn=M1, now=T0))
    else:
        transact(store, lambda s: cabinet.voluntary_block(s, m1_info, M1, True, T0))
    m = invite(store, info, M1)  # the inviter learns nothing about the number's status
    assert m.status == "pending"
    with raises_ru(Conflict, "заблокирован"):
        transact(store, lambda s: family.accept(s, m1_info, m.id, LATER))
    with pytest.raises(Conflict):  # an SMS from a blocked or lost phone is not taken as an answer
        transact(store, lambda s: family.sms_reply(s, M1, "Да", LATER))
    assert member_row(store, m.id).status == "pending"


def test_nobody_joins_a_suspended_owner(store):
    make_line(store, OWNER, "my_mts", balance=0, now=BORN)
    make_line(store, M1, "minimum", balance=50_000, now=BORN)
    transact(store, lambda s: billing.top_up(session=s, msisdn=OWNER, amount_kopecks=5_000, key="k",
                                             now=DEC1 - timedelta(hours=1)))
    t = DEC1 + timedelta(hours=1)
    jobs.run_due(store, t)
    assert line_state(store, OWNER).status == "suspended"
    _, info = session_for(store, OWNER)
    m = transact(store, lambda s: family.invite(s, info, OWNER, M1, t))
    with raises_ru(Conflict, "владельца группы приостановлен"):
        join(store, M1, m.id, now=t)
    assert member_row(store, m.id).status == "pending"
    assert line_state(store, OWNER).balance_kopecks == 5_000 and line_state(store, M1).tariff_code == "minimum"
    invariants(store)


def test_joining_closes_the_other_invitations_and_tells_their_owners(fam):
    store, info = fam
    b, c = "79580000050", "79580000051"
    make_line(store, b, "my_mts", balance=300_000, now=BORN)
    make_line(store, c, "my_mts", balance=300_000, now=BORN)
    _, info_b = session_for(store, b)
    _, info_c = session_for(store, c)
    mine = invite(store, info, M1)
    theirs = [transact(store, lambda s, o=o, i=i: family.invite(s, i, o, M1, T0))
              for o, i in ((b, info_b), (c, info_c))]
    join(store, M1, mine.id)
    assert [member_row(store, x.id).status for x in theirs] == ["declined", "declined"]
    assert "присоединился к другой группе" in notes_of(store, b)[-1]
    # B's slot is free again: five others fit
    for n in (M2, M3, M4, M5, M6):
        transact(store, lambda s, n=n: family.invite(s, info_b, b, n, T0))
    invariants(store)


def test_close_group_invitations_cancels_and_tells_the_invitees(fam):
    store, info = fam
    m1, m2 = invite(store, info, M1), invite(store, info, M2)
    join(store, M2, m2.id)
    old = invite(store, info, M3, now=T0 - timedelta(days=4))  # already expired
    owner_id = line_state(store, OWNER).id

    def close(s):
        return family.close_group_invitations(s, billing.lock_lines(s, [owner_id])[owner_id], LATER)

    assert transact(store, close) == 1
    assert [member_row(store, x.id).status for x in (m1, m2, old)] == ["cancelled", "active", "expired"]
    assert "больше не действует" in sms_to(store, M1)[-1]
    with pytest.raises(NotFound):
        join(store, M1, m1.id, now=LATER)


def test_sms_replies_with_several_invitations(fam):
    store, info = fam
    b = "79580000050"
    make_line(store, b, "my_mts", balance=300_000, now=BORN)
    _, info_b = session_for(store, b)
    # B's invitation is older but has the larger id: the order is by invited_at, then id
    later = invite(store, info, M1, now=T0)
    earlier = transact(store, lambda s: family.invite(s, info_b, b, M1, T0 - timedelta(hours=1)))
    order = read(store, lambda s: [m.id for m, _ in family.pending_invitations(s, line_state(store, M1).id, T0)])
    assert order == [earlier.id, later.id]
    assert transact(store, lambda s: family.sms_reply(s, M1, "Да", LATER)) == "choose"
    text = sms_to(store, M1)[-1]
    assert "несколько приглашений" in text and f"«Да {OWNER}»" in text and f"«Да {b}»" in text
    assert member_row(store, later.id).status == "pending"
    assert transact(store, lambda s: family.sms_reply(s, "+7 (958) 000-00-50", "да 8 958 000-00-00",
                                                      LATER)) == "no_invitations"  # B itself has none
    assert transact(store, lambda s: family.sms_reply(s, "8" + M1[1:], f"Да, +7 {b[1:4]} {b[4:]}", LATER)) == "accepted"
    assert member_row(store, earlier.id).status == "active" and member_row(store, later.id).status == "declined"


@pytest.mark.parametrize("text", ["да", "Да!", "Да, согласен", "yes", " ДА. "])
def test_sms_yes_forms_accept_a_single_invitation(fam, text):
    store, info = fam
    m = invite(store, info, M1)
    assert transact(store, lambda s: family.sms_reply(s, M1, text, LATER)) == "accepted"
    assert member_row(store, m.id).status == "active"


def test_sms_no_declines_the_latest_and_tells_the_owner(fam):
    store, info = fam
    b = "79580000050"
    make_line(store, b, "my_mts", balance=300_000, now=BORN)
    _, info_b = session_for(store, b)
    first = invite(store, info, M1, now=T0)
    second = transact(store, lambda s: family.invite(s, info_b, b, M1, T0 + timedelta(minutes=1)))
    assert transact(store, lambda s: family.sms_reply(s, M1, "Нет", LATER)) == "declined"
    assert (member_row(store, first.id).status, member_row(store, second.id).status) == ("pending", "declined")
    assert "отклонил приглашение" in notes_of(store, b)[-1]
    assert transact(store, lambda s: family.sms_reply(s, M1, f"нет {OWNER}", LATER)) == "declined"
    assert "отклонил приглашение" in notes_of(store, OWNER)[-1]
    assert transact(store, lambda s: family.sms_reply(s, M1, "Да", LATER)) == "no_invitations"
    assert "Активных приглашений" in sms_to(store, M1)[-1]
    assert transact(store, lambda s: family.sms_reply(s, M1, "может быть", LATER)) == "ignored"


def test_sms_reply_refuses_unknown_and_malformed_senders(fam):
    store, _ = fam
    with pytest.raises(Invalid):
        transact(store, lambda s: family.sms_reply(s, "12345", "Да", T0))
    with pytest.raises(NotFound):
        transact(store, lambda s: family.sms_reply(s, "+7 999 000-00-00", "Да", T0))


def test_a_cancelled_invitation_is_told_and_a_later_yes_answered(fam):
    store, info = fam
    m = invite(store, info, M1)
    transact(store, lambda s: family.cancel_invite(s, info, OWNER, m.id, T0))
    assert "отменил приглашение" in sms_to(store, M1)[-1]
    assert transact(store, lambda s: family.sms_reply(s, M1, "Да", LATER)) == "no_invitations"
    assert sms_to(store, M1)[-1] == "Активных приглашений в «МЫ МТС» нет."


def test_invite_and_cancel_wake_the_invitees_page(fam):
    store, info = fam
    m1_id = line_state(store, M1).id

    def changes():
        return read(store, lambda s: s.exec(select(func.count()).select_from(ChangeLog)
                                            .where(ChangeLog.line_id == m1_id)).scalar_one())

    before = changes()
    m = invite(store, info, M1)
    assert changes() == before + 1
    transact(store, lambda s: family.cancel_invite(s, info, OWNER, m.id, T0))
    assert changes() == before + 2


def test_invitations_expire_after_three_days(fam):
    store, info = fam
    old = [invite(store, info, n, now=T0 - timedelta(days=3, minutes=1)) for n in (M1, M2, M3, M4, M5)]
    invite(store, info, M6)  # expired ones do not take a place
    v = read(store, lambda s: family.view(s, info, OWNER, T0))
    assert [mv.status for mv in v.members] == ["expired"] * 5 + ["pending"]
    with raises_ru(Conflict, "истекло"):
        join(store, M1, old[0].id, now=T0)
    _, m1_info = session_for(store, M1)
    assert read(store, lambda s: family.view(s, m1_info, M1, T0)).invitations == []
    assert transact(store, lambda s: family.sms_reply(s, M1, "Да", T0)) == "no_invitations"
    again = invite(store, info, M1)  # invited again: the old row is closed as expired
    assert member_row(store, old[0].id).status == "expired"
    join(store, M1, again.id)
    assert line_state(store, M1).tariff_code == "my_mts_member"
    transact(store, lambda s: family.cancel_invite(s, info, OWNER, old[1].id, T0))  # clearing an expired one
    assert member_row(store, old[1].id).status == "expired"
    assert not any("отменил" in t for t in sms_to(store, M2))  # nothing to tell about an expired one


@pytest.mark.parametrize("minutes,sms,gb", [
    ("", "", "nan"), ("", "", "inf"), ("", "", "1e3"), ("", "", "1_0"), ("1_0", "", ""), ("", "1e2", ""),
    ("-5", "", ""), ("", "", "-0.5"), ("", "", "0.0001"), ("5.5", "", ""), ("", "", "1,2,3"), ("1 0", "", ""),
    ("", "", "Infinity"), ("", "", "0x10"), ("", "٣", ""),
])
def test_bad_quotas_are_refused_with_a_reason(fam, minutes, sms, gb):
    store, info = fam
    m = invite(store, info, M1)
    join(store, M1, m.id)
    with pytest.raises(Invalid) as exc:
        transact(store, lambda s: family.set_quotas(s, info, OWNER, m.id, minutes, sms, gb, LATER))
    assert exc.value.message_ru.split(":")[0] in ("Минуты", "SMS", "Интернет")
    assert member_row(store, m.id).quota_kb is None
    invariants(store)


def test_quota_values_parse_exactly_and_show_sanely(fam):
    assert family.parse_quota(" 5 ", "voice") == 5
    assert family.parse_quota("0,05", "data") == 52429  # 0.05 × 1048576, rounded
    assert family.parse_quota("1.5", "data") == 3 * KB_PER_GB // 2
    assert family.quota_input_value(52429) == "0,05"
    assert family.quota_input_value(52429, "en") == "0.05"
    assert family.quota_input_value(5 * KB_PER_GB) == "5"
    assert family.parse_quota(family.quota_input_value(52429), "data") == 52429
    store, info = fam
    m = invite(store, info, M1)
    join(store, M1, m.id)
    transact(store, lambda s: family.set_quotas(s, info, OWNER, m.id, "", "", "0.05", LATER))
    v = read(store, lambda s: family.view(s, info, OWNER, LATER))
    data = next(sh for sh in v.members[0].shares if sh.kind == "data")
    assert format_amount(data.quota, data.unit) == "51,2\u00a0МБ"


def test_a_second_removal_or_leave_changes_nothing(fam):
    store, info = fam
    m = invite(store, info, M1)
    member_info = join(store, M1, m.id)
    transact(store, lambda s: family.remove_member(s, info, OWNER, m.id, LATER))
    notes = len(notes_of(store, OWNER))
    with pytest.raises(NotFound):
        transact(store, lambda s: family.remove_member(s, info, OWNER, m.id, LATER))
    with pytest.raises(Conflict):
        transact(store, lambda s: family.leave(s, member_info, M1, LATER))
    assert len(notes_of(store, OWNER)) == notes


@pytest.fixture
def pg_store(request):
    """The PostgreSQL store alone (the races below need row locks; SQLite locks the whole store)."""
    from mts_portal.core.charging import forget_snapshots
    from tests.conftest import _reset_pg

    forget_snapshots()
    eng = request.getfixturevalue("pg_engine_session")
    _reset_pg(eng)
    return eng


@pytest.mark.postgres
def test_accept_racing_a_cancel_on_postgres(pg_store):
    """The owner's cancel holds the owner's line when the invitee accepts: the accept waits, then
    sees the cancelled invitation and refuses (it must not overwrite it with 'active')."""
    store = pg_store
    make_line(store, OWNER, "my_mts", balance=300_000, now=BORN)
    make_line(store, M1, "smart", balance=50_000, now=BORN)
    _, info = session_for(store, OWNER)
    _, m1_info = session_for(store, M1)
    m = invite(store, info, M1)
    result = {}
    with Session(store) as cancelling:
        family.cancel_invite(cancelling, info, OWNER, m.id, T0)
        cancelling.flush()  # holds the owner's row lock until commit

        def accept():
            try:
                transact(store, lambda s: family.accept(s, m1_info, m.id, T0))
                result["accept"] = "ok"
            except DomainError as exc:
                result["accept"] = type(exc).__name__

        worker = threading.Thread(target=accept)
        worker.start()
        worker.join(1.0)
        assert worker.is_alive()  # waiting for the owner's line
        cancelling.commit()
    worker.join(30)
    assert result["accept"] == "NotFound"
    assert member_row(store, m.id).status == "cancelled"
    assert line_state(store, M1).tariff_code == "smart"
    invariants(store)


@pytest.mark.postgres
def test_remove_racing_a_leave_on_postgres(pg_store):
    store = pg_store
    make_line(store, OWNER, "my_mts", balance=300_000, now=BORN)
    make_line(store, M1, "smart", balance=50_000, now=BORN)
    _, info = session_for(store, OWNER)
    m = invite(store, info, M1)
    member_info = join(store, M1, m.id)
    result = {}
    with Session(store) as removing:
        family.remove_member(removing, info, OWNER, m.id, LATER)
        removing.flush()

        def leave():
            try:
                transact(store, lambda s: family.leave(s, member_info, M1, LATER))
                result["leave"] = "ok"
            except DomainError as exc:
                result["leave"] = type(exc).__name__

        worker = threading.Thread(target=leave)
        worker.start()
        worker.join(1.0)
        removing.commit()
    worker.join(30)
    assert result["leave"] == "Conflict"
    assert member_row(store, m.id).status == "removed"
    assert sum("больше не в группе" in t for t in notes_of(store, OWNER)) == 1
    invariants(store)


def test_usage_from_before_joining_is_the_lines_own(fam):
    """A late event that started before the member joined neither draws from the owner's pool nor
    counts as a call inside the group."""
    store, info = fam
    joined_at = T0 + timedelta(minutes=30)
    m = invite(store, info, M1)
    join(store, M1, m.id, now=joined_at)
    after = joined_at + timedelta(minutes=10)
    before = T0 + timedelta(minutes=10)
    res = charging.ingest(store, [
        ev(M1, "voice", before, peer=OWNER, duration_s=120),  # before joining: an ordinary paid call
        ev(M1, "data", before, bytes=1024 * 1024),
        ev(M1, "voice", after, peer=OWNER, duration_s=120),  # after: free, inside the group
        ev(M1, "data", after, bytes=1024 * 1024),
    ], now=after + timedelta(minutes=1))
    assert [r.status for r in res] == ["rated"] * 4
    member_id = line_state(store, M1).id
    own = read(store, lambda s: {b.id for b in s.exec(select(Bucket).where(Bucket.line_id == member_id)).scalars()})
    pool_ids = {b.id for b in pools(store).values()}
    # before: the call is an ordinary one, from the line's own Smart bundle of that time; so is the data
    assert [d["bucket_id"] in own for d in res[0].drawn] == [True] and res[0].drawn[0]["amount"] == 2
    assert [d["bucket_id"] in own for d in res[1].drawn] == [True]
    # after: the call is free inside the group, the data comes from the owner's pool
    assert (res[2].charged_kopecks, res[2].drawn) == (0, [])
    assert res[3].charged_kopecks == 0 and res[3].drawn[0]["bucket_id"] in pool_ids
    invariants(store)


def test_an_owner_leaving_my_mts_closes_pending_invitations(fam):
    store, info = fam
    m = invite(store, info, M1)

    def switch(s):
        line = s.exec(select(Line).where(Line.msisdn == OWNER)).scalars().one()
        billing.switch_tariff(session=s, line=line, new_code="tarifische", now=LATER)

    transact(store, switch)
    row = read(store, lambda s: s.get(FamilyMember, m.id))
    assert row.status == "cancelled"
    inbox = read(store, lambda s: [x.text for x in s.exec(select(SmsMessage).where(
        SmsMessage.to_msisdn == M1)).scalars()])
    assert any("больше не действует" in t for t in inbox)
    _, member_info = session_for(store, M1)
    with pytest.raises(NotFound):
        transact(store, lambda s: family.accept(s, member_info, m.id, LATER))


def test_the_owners_internet_add_on_tops_up_the_pool_for_its_members(fam):
    """RATING.md: a member who shares the pool also shares the owner's internet add-ons (add-ons first,
    as for the owner): an owner who buys +5 GB when the pool is empty gives the members internet again."""
    store, info = fam
    join(store, M1, invite(store, info, M1).id)
    pool = pools(store)["data"]
    # the members use up the whole data pool, then pay for internet at the member tariff's rate
    charging.ingest(store, [ev(M1, "data", LATER, bytes=pool.total * 1024)], now=LATER)
    assert pools(store)["data"].used == pool.total
    [paid] = charging.ingest(store, [ev(M1, "data", LATER, bytes=10 * 1024 * 1024)], now=LATER)
    assert paid.status == "rated" and paid.charged_kopecks == 10 * 500 and paid.drawn == []
    # the owner buys +5 GB: the member's next session draws from it, and the member's home screen shows it
    transact(store, lambda s: billing.connect_option(session=s, line=billing.get_line_for_update(s, OWNER),
                                                     code="internet_5gb", now=LATER))
    [free] = charging.ingest(store, [ev(M1, "data", LATER, bytes=10 * 1024 * 1024)], now=LATER)
    assert free.status == "rated" and free.charged_kopecks == 0
    assert free.drawn[0]["amount"] == 10 * 1024 and free.drawn[0]["kind"] == "data"
    member = line_state(store, M1)
    views = read(store, lambda s: family.pool_views_for_member(session=s, line=member, now=LATER, own=[]))
    addon = [v for v in views if v.source == "family_addon"]
    assert len(addon) == 1 and addon[0].remaining == 5 * KB_PER_GB - 10 * 1024
    invariants(store)
