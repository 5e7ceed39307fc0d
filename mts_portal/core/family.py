"""«МЫ МТС» family sharing (DESIGN §2 Family, §4): one pays, up to five share.

The owner's tariff buckets are the pool (pool_total = their size). A member with a
quota for a kind has a share bucket carved out of the pool bucket
(parent_bucket_id); a member without one draws from what is left of the pool,
and charging records those draws per member (pool_draws). Always:

    pool.total + Σ share.total == pool.pool_total        (for every pool bucket)

Setting a quota moves what the member has already drawn from the pool into the new
share (so a quota is never below what the member used); removing a quota or the
member moves the unused part back to the owner. A share that has ended holds
exactly what was used of it (total == used), so used + remaining over the owner and
the members is always the pool size. A share is only reused while it is valid; a
member who leaves takes their pool draws into an ended share, so a later membership
of the same number starts from zero.

Invitations are pending for INVITATION_DAYS from invited_at; after that they are
expired (they no longer count toward the five and cannot be accepted). Everything
invite checked is checked again when the invitee joins, after the lines are locked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from mts_portal.core import auth, billing, notify
from mts_portal.core.catalog import FAMILY_MAX_MEMBERS, FAMILY_MEMBER_FEE, default_catalog
from mts_portal.core.clock import period_of, prorate_up
from mts_portal.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, parse_id
from mts_portal.core.models import (
    Bucket,
    ChangeLog,
    FamilyGroup,
    FamilyMember,
    Line,
    PoolDraw,
    SmsMessage,
)
from mts_portal.core.money import KB_PER_GB, format_amount, format_rub

QUOTA_FIELDS = {"voice": "quota_minutes", "sms": "quota_sms", "data": "quota_kb"}
OPEN_STATUSES = ("pending", "active")
INVITATION_DAYS = 3
INVITATION_TTL = timedelta(days=INVITATION_DAYS)
YES = {"да", "da", "yes", "y", "ok", "ок", "ага", "согласен", "согласна"}
NO = {"нет", "net", "no", "n"}


# ---------------------------------------------------------------- lookups


def is_expired(member: FamilyMember, now: datetime) -> bool:
    """A pending invitation older than INVITATION_DAYS (computed from invited_at)."""
    return member.status == "pending" and member.invited_at + INVITATION_TTL <= now


def _live(now: datetime):
    """SQL: the member row is active, or a pending invitation that has not expired."""
    return or_(FamilyMember.status == "active",
               and_(FamilyMember.status == "pending", FamilyMember.invited_at > now - INVITATION_TTL))


def active_membership(session: Session, line_id: int) -> tuple[FamilyMember, FamilyGroup] | None:
    row = session.exec(
        select(FamilyMember, FamilyGroup)
        .join(FamilyGroup, FamilyGroup.id == FamilyMember.group_id)
        .where(FamilyMember.line_id == line_id, FamilyMember.status == "active")
    ).first()
    return (row[0], row[1]) if row else None


def group_of_owner(session: Session, owner_line_id: int) -> FamilyGroup | None:
    return session.exec(select(FamilyGroup).where(FamilyGroup.owner_line_id == owner_line_id)).scalars().first()


def members(session: Session, group_id: int, statuses=OPEN_STATUSES) -> list[FamilyMember]:
    """Member rows by status (pending rows include expired ones: see live_members)."""
    return list(session.exec(select(FamilyMember).where(FamilyMember.group_id == group_id,
                                                        FamilyMember.status.in_(statuses))
                             .order_by(FamilyMember.id)).scalars())


def live_members(session: Session, group_id: int, now: datetime) -> list[FamilyMember]:
    """Active members and pending invitations that have not expired: what takes one of the five places."""
    return list(session.exec(select(FamilyMember).where(FamilyMember.group_id == group_id, _live(now))
                             .order_by(FamilyMember.id)).scalars())


def pool_bucket(session: Session, owner_line_id: int, kind: str, now: datetime) -> Bucket | None:
    return session.exec(
        select(Bucket).where(
            Bucket.line_id == owner_line_id, Bucket.kind == kind, Bucket.source == "tariff",
            Bucket.pool_total.is_not(None), Bucket.valid_from <= now, Bucket.valid_until > now,
        ).order_by(Bucket.valid_until.desc(), Bucket.id.desc())
    ).scalars().first()


def share_bucket(session: Session, member_line_id: int, parent_id: int, now: datetime) -> Bucket | None:
    """The member's share of a pool bucket that is valid now (an ended share is never reused)."""
    return session.exec(
        select(Bucket).where(Bucket.line_id == member_line_id, Bucket.parent_bucket_id == parent_id,
                             Bucket.valid_from <= now, Bucket.valid_until > now)
        .order_by(Bucket.id.desc())
    ).scalars().first()


def drawn(session: Session, bucket_id: int, line_id: int) -> PoolDraw | None:
    return session.exec(select(PoolDraw).where(PoolDraw.bucket_id == bucket_id,
                                               PoolDraw.line_id == line_id)).scalars().first()


def group_msisdns(session: Session, line_id: int) -> set[str]:
    """Every number of the line's family group (owner and active members), or nothing."""
    group = group_of_owner(session, line_id)
    if group is None:
        found = active_membership(session, line_id)
        if found is None:
            return set()
        group = found[1]
    ids = [group.owner_line_id, *(m.line_id for m in members(session, group.id, ("active",)))]
    return set(session.exec(select(Line.msisdn).where(Line.id.in_(ids))).scalars())


def pending_invitations(session: Session, line_id: int, now: datetime) -> list[tuple[FamilyMember, Line]]:
    """The line's invitations that can still be answered, oldest first (then by id)."""
    rows = session.exec(
        select(FamilyMember, Line).join(FamilyGroup, FamilyGroup.id == FamilyMember.group_id)
        .join(Line, Line.id == FamilyGroup.owner_line_id)
        .where(FamilyMember.line_id == line_id, FamilyMember.status == "pending",
               FamilyMember.invited_at > now - INVITATION_TTL)
        .order_by(FamilyMember.invited_at, FamilyMember.id)
    ).all()
    return [(m, owner) for m, owner in rows]


# ---------------------------------------------------------------- locking, rollovers, live updates


def _lock_member(session: Session, member_id: int) -> FamilyMember:
    """The member row again, fresh from the store and locked (PostgreSQL): call after lock_lines."""
    stmt = select(FamilyMember).where(FamilyMember.id == member_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.exec(stmt).scalars().one()


def _roll(session: Session, lines: list[Line], now: datetime) -> None:
    """Period starts due for these (locked) lines, before anything changes their pool or fees —
    as the scheduler would have run them; otherwise its rollover collides with what we post now."""
    for line in lines:
        if line.period_end <= now:
            billing.rollover_line(session=session, line=line, now=now)


def _publish(session: Session, line_ids, now: datetime) -> None:
    """Wake the open pages of these lines (live updates): their version moves (an open page reloads only
    when it does) and the change feed says so; nothing else of the lines changes."""
    from sqlalchemy import update

    ids = sorted(set(line_ids))
    if ids:
        session.execute(update(Line).where(Line.id.in_(ids)).values(version=Line.version + 1)
                        .execution_options(synchronize_session=False))
    for line_id in ids:
        session.add(ChangeLog(line_id=line_id, at=now))


def _sms(to: str, text: str, now: datetime) -> SmsMessage:
    return SmsMessage(to_msisdn=to, sender="MTS", text=text, created_at=now)


# ---------------------------------------------------------------- the pool


def carve_shares_for_new_pool(*, session: Session, owner: Line, now: datetime) -> None:
    """At a period start (or when the owner's bundles are granted), carve every member's quotas."""
    group = group_of_owner(session, owner.id)
    if group is None:
        return
    for member in members(session, group.id, ("active",)):
        for kind, attr in QUOTA_FIELDS.items():
            quota = getattr(member, attr)
            pool = pool_bucket(session, owner.id, kind, now)
            if quota is None or pool is None:
                continue
            amount = max(0, min(quota, pool.total - pool.used))
            pool.total -= amount
            session.add(pool)
            session.add(Bucket(line_id=member.line_id, kind=kind, unit=pool.unit, total=amount, used=0,
                               valid_from=now, valid_until=pool.valid_until, source="family_share",
                               product_code=pool.product_code, priority=1, parent_bucket_id=pool.id))
    session.flush()


def _set_share(session: Session, owner: Line, member: FamilyMember, kind: str, quota: int | None,
               now: datetime) -> None:
    """Move allocation between the pool and the member's share for one kind (this period)."""
    pool = pool_bucket(session, owner.id, kind, now)
    if pool is None:
        return  # no pool this period (owner suspended): the quota applies from the next period
    share = share_bucket(session, member.line_id, pool.id, now)
    draw = drawn(session, pool.id, member.line_id)
    if quota is None:
        if share is not None:  # back to the shared remainder: the share's allocation and use move to the pool
            pool.total += share.total
            pool.used += share.used
            if share.used:
                if draw is None:
                    draw = PoolDraw(bucket_id=pool.id, line_id=member.line_id, used=0)
                draw.used += share.used
                session.add(draw)
            share.total = share.used = 0
            share.valid_until = now
            session.add(share)
            session.add(pool)
        return
    already = (share.used if share is not None else 0) + (draw.used if draw is not None else 0)
    unit = pool.unit
    if quota < already:
        raise Conflict(f"the member already used {already} {unit} of it this period",
                       f"Нельзя меньше, чем участник уже израсходовал: {format_amount(already, unit)}")
    current_total = share.total if share is not None else 0
    moved_use = draw.used if draw is not None else 0  # pool use by the member moves into the share
    delta = quota - current_total  # allocation taken from (or given back to) the pool
    if delta - moved_use > pool.total - pool.used:
        raise Conflict("the shared bundle does not have that much left",
                       f"В общем пакете осталось только {format_amount(pool.total - pool.used + moved_use, unit)}")
    pool.total -= delta
    pool.used -= moved_use
    if share is None:
        share = Bucket(line_id=member.line_id, kind=kind, unit=unit, total=0, used=0, valid_from=now,
                       valid_until=pool.valid_until, source="family_share", product_code=pool.product_code,
                       priority=1, parent_bucket_id=pool.id)
    share.total += delta
    share.used += moved_use
    if draw is not None:
        draw.used = 0
        session.add(draw)
    session.add(share)
    session.add(pool)


def _close_shares(session: Session, owner: Line, member: FamilyMember, now: datetime) -> None:
    """A membership ends: the unused share goes back to the owner; the share ends holding what was
    used; what the member drew from the shared remainder moves into that ended share too (so the
    owner's own use stays the owner's, and a later membership of the number starts from zero)."""
    for kind in QUOTA_FIELDS:
        pool = pool_bucket(session, owner.id, kind, now)
        if pool is None:
            continue
        share = share_bucket(session, member.line_id, pool.id, now)
        if share is not None:
            pool.total += share.total - share.used
            share.total = share.used
            share.valid_until = now
        draw = drawn(session, pool.id, member.line_id)
        if draw is not None and draw.used:
            if share is None:
                start = max(pool.valid_from, member.joined_at or pool.valid_from)
                share = Bucket(line_id=member.line_id, kind=kind, unit=pool.unit, total=0, used=0,
                               valid_from=min(start, now), valid_until=now, source="family_share",
                               product_code=pool.product_code, priority=1, parent_bucket_id=pool.id)
            share.total += draw.used
            share.used += draw.used
            pool.total -= draw.used
            pool.used -= draw.used
            draw.used = 0
            session.add(draw)
        if share is not None:
            session.add(share)
        session.add(pool)
    session.flush()


# ---------------------------------------------------------------- invitations


def _is_owner_tariff(line: Line) -> bool:
    return default_catalog().tariffs[line.tariff_code].family_owner


def _owner_line(session: Session, info: auth.SessionInfo, msisdn: str, *, lock: bool = True) -> Line:
    line = auth.require_line(session, info, msisdn)
    if not _is_owner_tariff(line):
        raise Forbidden("only the owner of a «МЫ МТС» line manages a family group",
                        "Управлять семейной группой может только владелец тарифа «МЫ МТС»")
    return billing.get_line_for_update(session, line.msisdn) if lock else line


def _member(session: Session, member_id) -> tuple[FamilyMember, FamilyGroup]:
    member = session.get(FamilyMember, parse_id(member_id))
    if member is None:
        raise NotFound("no such member or invitation", "Приглашение не найдено")
    return member, session.get(FamilyGroup, member.group_id)


def check_invitee(session: Session, owner: Line, invitee: Line, now: datetime) -> None:
    """Every refusal an invitation of `invitee` by `owner` can meet, read-only: asked before the fee
    confirmation opens (cabinet.family_invite_precheck) and again by `invite` under lock."""
    # a blocked or lost number is invited like any other (its status is not the inviter's business):
    # it cannot join while it stays blocked (see _join)
    if _is_owner_tariff(invitee):
        raise Conflict("this number owns a family group itself", "Этот номер сам владелец группы «МЫ МТС»")
    group = group_of_owner(session, owner.id)
    current = live_members(session, group.id, now) if group is not None else []
    if any(m.line_id == invitee.id and m.status == "active" for m in current):
        raise Conflict("this number is already in your group", "Этот номер уже в вашей группе «МЫ МТС»")
    if any(m.line_id == invitee.id for m in current):
        raise Conflict("already invited", "Этот номер уже приглашён")
    if active_membership(session, invitee.id) is not None:
        raise Conflict("this number is already in a family group", "Этот номер уже состоит в семейной группе")
    if len(current) >= FAMILY_MAX_MEMBERS:
        raise Conflict(f"a group has at most {FAMILY_MAX_MEMBERS} members",
                       f"В группе не больше {FAMILY_MAX_MEMBERS} участников")


def invite(session: Session, info: auth.SessionInfo, owner_msisdn: str, invitee_text: str, now: datetime) -> FamilyMember:
    owner = _owner_line(session, info, owner_msisdn)
    _roll(session, [owner], now)
    msisdn = auth.normalize_msisdn(invitee_text)
    if msisdn == owner.msisdn:
        raise Invalid("you cannot invite yourself", "Нельзя пригласить самого себя")
    invitee = session.exec(select(Line).where(Line.msisdn == msisdn)).scalars().first()
    if invitee is None:
        raise Invalid("this number is not on our network", "Это номер другого оператора: пригласить можно только абонента МТС")
    check_invitee(session, owner, invitee, now)
    group = group_of_owner(session, owner.id)
    if group is None:
        group = FamilyGroup(owner_line_id=owner.id, created_at=now)
        session.add(group)
        session.flush()
    for kind in QUOTA_FIELDS:  # the owner's current pool belongs to the group
        pool = pool_bucket(session, owner.id, kind, now)
        if pool is not None and pool.family_group_id is None:
            pool.family_group_id = group.id
            session.add(pool)
    for old in members(session, group.id, ("pending",)):
        if old.line_id == invitee.id and is_expired(old, now):  # invited again after the old one expired
            old.status = "expired"
            old.ended_at = now
            session.add(old)
    check_invitee(session, owner, invitee, now)  # again, with the expired invitations cleared
    member = FamilyMember(group_id=group.id, line_id=invitee.id, status="pending", invited_at=now)
    session.add(member)
    session.flush()
    billing.notify_line(session, invitee, notify.notification(
        invitee.id, "family",
        f"Абонент {auth.format_msisdn(owner.msisdn)} приглашает вас в «МЫ МТС»: общие минуты, SMS и интернет, "
        f"платит владелец. Ответьте «Да» на это SMS или примите приглашение в личном кабинете "
        f"(приглашение действует {INVITATION_DAYS} дня).",
        f"{auth.format_msisdn(owner.msisdn)} invites you to MY MTS: shared minutes, SMS and data paid by the owner. "
        f"Reply “Yes” to this SMS or accept in your account (valid for {INVITATION_DAYS} days).", now), also_sms=True)
    billing.touch(session, owner, now)
    _publish(session, [invitee.id], now)
    return member


def cancel_invite(session: Session, info: auth.SessionInfo, owner_msisdn: str, member_id, now: datetime) -> None:
    """The owner withdraws a pending invitation (or clears an expired one); the invitee is told."""
    owner = _owner_line(session, info, owner_msisdn)
    member, group = _member(session, member_id)
    if group.owner_line_id != owner.id:
        raise NotFound("no such invitation", "Приглашение не найдено")
    member = _lock_member(session, member.id)
    if member.status != "pending":
        raise Conflict("only a pending invitation can be cancelled", "Отменить можно только неподтверждённое приглашение")
    invitee = session.get(Line, member.line_id)
    member.ended_at = now
    if is_expired(member, now):
        member.status = "expired"  # nothing to tell: it could not be accepted any more
    else:
        member.status = "cancelled"
        billing.notify_line(session, invitee, notify.notification(
            invitee.id, "family",
            f"Абонент {auth.format_msisdn(owner.msisdn)} отменил приглашение в «МЫ МТС».",
            f"{auth.format_msisdn(owner.msisdn)} cancelled the MY MTS invitation.", now), also_sms=True)
    session.add(member)
    billing.touch(session, owner, now)
    _publish(session, [invitee.id], now)


def close_group_invitations(session: Session, owner_line: Line, now: datetime) -> int:
    """The owner leaves «МЫ МТС» (tariff switch): every pending invitation of the group is cancelled
    and its invitee told. The caller holds the owner's line lock. Returns how many were cancelled."""
    group = group_of_owner(session, owner_line.id)
    if group is None:
        return 0
    closed = 0
    for row in members(session, group.id, ("pending",)):
        member = _lock_member(session, row.id)
        if member.status != "pending":
            continue
        member.ended_at = now
        if is_expired(member, now):
            member.status = "expired"
        else:
            member.status = "cancelled"
            invitee = session.get(Line, member.line_id)
            billing.notify_line(session, invitee, notify.notification(
                invitee.id, "family",
                f"Приглашение в «МЫ МТС» от {auth.format_msisdn(owner_line.msisdn)} больше не действует: "
                "владелец сменил тариф.",
                f"The MY MTS invitation from {auth.format_msisdn(owner_line.msisdn)} is no longer valid: "
                "the owner changed tariff.", now), also_sms=True)
            _publish(session, [invitee.id], now)
            closed += 1
        session.add(member)
    session.flush()
    return closed


def _owns_open_group(session: Session, line: Line, now: datetime) -> bool:
    group = group_of_owner(session, line.id)
    return group is not None and bool(live_members(session, group.id, now))


def _refuse_join(owner: Line, line: Line, member: FamilyMember, session: Session, now: datetime) -> None:
    """Everything invite checked, again, at join time (the lines are locked), and the lines' status."""
    if member.status != "pending":
        raise NotFound("no such invitation", "Приглашение не найдено")
    if is_expired(member, now):
        raise Conflict("the invitation has expired",
                       f"Приглашение истекло (оно действует {INVITATION_DAYS} дня): попросите владельца "
                       "пригласить вас снова")
    if not _is_owner_tariff(owner):
        raise Conflict("the group's owner is no longer on «МЫ МТС»", "Владелец группы больше не на тарифе «МЫ МТС»")
    if owner.status == "suspended":
        raise Conflict("the group's owner line is suspended",
                       "Номер владельца группы приостановлен: присоединиться можно, когда владелец оплатит связь")
    if owner.status != "active":
        raise Conflict("the group's owner line is blocked", "Номер владельца группы заблокирован: присоединиться нельзя")
    if line.id == owner.id:
        raise Invalid("you cannot join your own group", "Нельзя присоединиться к своей группе")
    if line.status in ("lost", "blocked"):
        raise Conflict("your line is blocked", "Номер заблокирован: присоединиться к «МЫ МТС» нельзя")
    if line.status == "suspended":
        raise Conflict("your line is suspended: top up first",
                       "Номер приостановлен: пополните счёт, чтобы присоединиться к «МЫ МТС»")
    if _is_owner_tariff(line) or _owns_open_group(session, line, now):
        raise Conflict("you own a «МЫ МТС» group yourself",
                       "Вы сами владелец группы «МЫ МТС»: присоединиться к другой группе нельзя")
    if default_catalog().tariffs[line.tariff_code].family_member or active_membership(session, line.id) is not None:
        raise Conflict("already in a family group", "Вы уже состоите в семейной группе")
    if len(members(session, member.group_id, ("active",))) >= FAMILY_MAX_MEMBERS:
        raise Conflict("the group is full", f"В группе уже {FAMILY_MAX_MEMBERS} участников")


def _join(session: Session, member: FamilyMember, group: FamilyGroup, now: datetime) -> None:
    locked = billing.lock_lines(session, [group.owner_line_id, member.line_id])
    owner, line = locked[group.owner_line_id], locked[member.line_id]
    member = _lock_member(session, member.id)
    _roll(session, [owner, line], now)
    _refuse_join(owner, line, member, session, now)
    period = period_of(now)
    fee = prorate_up(FAMILY_MEMBER_FEE, period.remaining_days(now), period.days)
    limit = billing.credit_limit(session, owner, now)
    if owner.balance_kopecks - fee < -limit:
        raise Conflict("the group's owner has not enough money for the member fee",
                       "У владельца группы недостаточно средств для оплаты участника")
    billing.post_money(session, owner, -fee, kind="family_fee", category="fee", cause_type="fee",
                       cause_ref=f"family:{member.id}:{period.label()}",
                       description=f"Участник «МЫ МТС» {auth.format_msisdn(line.msisdn)} за {period.name('ru')}",
                       description_en=f"MY MTS member {auth.format_msisdn(line.msisdn)} for {period.name('en')}",
                       at=now)
    member.status = "active"
    member.joined_at = now
    member.previous_tariff = line.tariff_code
    session.add(member)
    billing.end_tariff_buckets(session, line, now)  # the member's own bundles end; the pool takes over
    billing.change_tariff(session, line, "my_mts_member", now=now, reason="family_join")
    session.flush()
    # the line's other invitations are answered: declined, and their owners told
    for other, other_owner in pending_invitations(session, line.id, now):
        other = _lock_member(session, other.id)
        if other.status != "pending" or other.id == member.id:
            continue
        other.status = "declined"
        other.ended_at = now
        session.add(other)
        billing.notify_line(session, other_owner, notify.notification(
            other_owner.id, "family",
            f"{auth.format_msisdn(line.msisdn)} присоединился к другой группе «МЫ МТС»: ваше приглашение закрыто.",
            f"{auth.format_msisdn(line.msisdn)} joined another MY MTS group: your invitation is closed.", now))
        _publish(session, [other_owner.id], now)
    billing.notify_line(session, owner, notify.notification(
        owner.id, "family", f"{auth.format_msisdn(line.msisdn)} присоединился к «МЫ МТС». Списано {format_rub(fee)} "
        "за участника до конца месяца.", f"{auth.format_msisdn(line.msisdn)} joined MY MTS. "
        f"{format_rub(fee, 'en')} charged for the member to the end of the month.", now), also_sms=True)
    billing.notify_line(session, line, notify.notification(
        line.id, "family", f"Вы в группе «МЫ МТС» номера {auth.format_msisdn(owner.msisdn)}: минуты, SMS и интернет — "
        "из общего пакета.", f"You joined the MY MTS group of {auth.format_msisdn(owner.msisdn)}.", now))
    billing.touch(session, owner, now)
    billing.touch(session, line, now)


def enrol(session: Session, owner: Line, line: Line, now: datetime) -> FamilyMember:
    """Seeding and tests: invite and accept in one step, by the same rules as the portal."""
    group = group_of_owner(session, owner.id)
    if group is None:
        group = FamilyGroup(owner_line_id=owner.id, created_at=now)
        session.add(group)
        session.flush()
    member = FamilyMember(group_id=group.id, line_id=line.id, status="pending", invited_at=now)
    session.add(member)
    session.flush()
    _join(session, member, group, now)
    return member


def _invitation_of(session: Session, info: auth.SessionInfo, member_id) -> tuple[FamilyMember, FamilyGroup, Line]:
    member, group = _member(session, member_id)
    line = session.get(Line, member.line_id)
    if member.status != "pending" or not auth.can_access(session, info.account_id, line):
        raise NotFound("no such invitation", "Приглашение не найдено")
    return member, group, line


def accept(session: Session, info: auth.SessionInfo, member_id, now: datetime) -> None:
    member, group, _line = _invitation_of(session, info, member_id)
    _join(session, member, group, now)


def _decline(session: Session, member: FamilyMember, group: FamilyGroup, now: datetime) -> None:
    locked = billing.lock_lines(session, [group.owner_line_id, member.line_id])
    owner, line = locked[group.owner_line_id], locked[member.line_id]
    member = _lock_member(session, member.id)
    if member.status != "pending":
        raise NotFound("no such invitation", "Приглашение не найдено")
    member.status = "declined"
    member.ended_at = now
    session.add(member)
    billing.notify_line(session, owner, notify.notification(
        owner.id, "family", f"{auth.format_msisdn(line.msisdn)} отклонил приглашение в «МЫ МТС».",
        f"{auth.format_msisdn(line.msisdn)} declined the invitation.", now))
    billing.touch(session, owner, now)
    billing.touch(session, line, now)


def decline(session: Session, info: auth.SessionInfo, member_id, now: datetime) -> None:
    member, group, _line = _invitation_of(session, info, member_id)
    _decline(session, member, group, now)


_REPLY = re.compile(r"^\W*([^\W\d_]+)\W*(.*?)\s*$", re.S)


def parse_reply(text: str) -> tuple[str | None, str | None]:
    """An answer to the service number: ('yes'|'no'|None, the owner's number named in it or None).
    «Да», «да!», «Да, согласен», «yes», «Да 7916…», «Нет +7 916 …». A malformed number: Invalid."""
    m = _REPLY.match(text or "")
    if m is None:
        return None, None
    word, rest = m.group(1).lower(), m.group(2)
    verb = "yes" if word in YES else "no" if word in NO else None
    if verb is None or not re.search(r"\d", rest):
        return verb, None
    return verb, auth.normalize_msisdn(rest)


def sms_reply(session: Session, from_msisdn: str, text: str, now: datetime) -> str:
    """An SMS from a subscriber to the service number. With one invitation «Да» accepts it; with several
    «Да» alone lists them and «Да <номер владельца>» accepts that one. «Нет» declines the most recent
    (or the named) one. Returns accepted | declined | refused | choose | no_invitations | ignored."""
    msisdn = auth.normalize_msisdn(from_msisdn)
    line = session.exec(select(Line).where(Line.msisdn == msisdn)).scalars().first()
    if line is None:
        raise NotFound("unknown number", "Номер не найден")
    if line.status in ("lost", "blocked"):
        raise Conflict("the line is blocked", "Номер заблокирован: ответ не принят")
    try:
        verb, named = parse_reply(text)
    except Invalid:
        session.add(_sms(line.msisdn, "Не понимаем номер владельца. Ответьте, например, «Да 79161234567».", now))
        return "ignored"
    if verb is None:
        session.add(_sms(line.msisdn, "Не понимаем ответ. Ответьте «Да», чтобы принять приглашение в «МЫ МТС», "
                                      "или «Нет», чтобы отклонить.", now))
        return "ignored"
    invites = pending_invitations(session, line.id, now)
    if not invites:
        session.add(_sms(line.msisdn, "Активных приглашений в «МЫ МТС» нет.", now))
        return "no_invitations"
    if named is not None:
        chosen = [(m, o) for m, o in invites if o.msisdn == named]
        if not chosen:
            session.add(_sms(line.msisdn, f"Приглашения от номера {auth.format_msisdn(named)} нет. "
                                          f"{_choices_text(invites)}", now))
            return "ignored"
        member, owner = chosen[-1]
    elif verb == "yes" and len(invites) > 1:
        session.add(_sms(line.msisdn, f"У вас несколько приглашений в «МЫ МТС». {_choices_text(invites)}", now))
        return "choose"
    else:
        member, owner = invites[-1]
    group = session.get(FamilyGroup, member.group_id)
    if verb == "no":
        try:
            _decline(session, member, group, now)
        except DomainError as exc:
            session.add(_sms(line.msisdn, f"Не удалось отклонить: {exc.message_ru}", now))
            return "refused"
        session.add(_sms(line.msisdn, f"Приглашение от {auth.format_msisdn(owner.msisdn)} отклонено.", now))
        return "declined"
    try:
        _join(session, member, group, now)
    except DomainError as exc:
        session.add(_sms(line.msisdn, f"Не удалось присоединиться: {exc.message_ru}", now))
        return "refused"
    session.add(_sms(line.msisdn, f"Готово: вы в группе «МЫ МТС» номера {auth.format_msisdn(owner.msisdn)}.", now))
    return "accepted"


def _choices_text(invites: list[tuple[FamilyMember, Line]]) -> str:
    listed = " или ".join(f"«Да {o.msisdn}»" for _, o in invites)
    return f"Чтобы принять, ответьте {listed}; чтобы отклонить — «Нет» и номер владельца."


# ---------------------------------------------------------------- quotas and leaving

_INTEGER = re.compile(r"[0-9]{1,9}")
_GIGABYTES = re.compile(r"[0-9]{1,7}(?:[.,][0-9]{1,3})?")
_QUOTA_LABELS = {"voice": ("Minutes", "Минуты"), "sms": ("SMS", "SMS"), "data": ("Data", "Интернет")}


def parse_quota(value, kind: str) -> int | None:
    """A quota typed by the owner: '' or None is no quota (the shared remainder). Minutes and SMS are
    whole numbers; data is in GB with up to three decimals ('1,5' or '0.05'), stored in KB.
    Anything else (signs, exponents, underscores, nan, inf, spaces inside) is Invalid."""
    if value is None:
        return None
    text = str(value).strip()
    if text == "":
        return None
    en, ru = _QUOTA_LABELS[kind]
    if text[0] in "-−":
        raise Invalid(f"{en}: a limit cannot be negative", f"{ru}: лимит не может быть отрицательным", field=kind)
    if kind != "data":
        if not _INTEGER.fullmatch(text):
            raise Invalid(f"{en}: a whole number (or leave it empty)",
                          f"{ru}: введите целое число или оставьте поле пустым", field=kind)
        return int(text)
    if not _GIGABYTES.fullmatch(text):
        raise Invalid("Data: a number of GB such as 1.5 (at most three decimals), or leave it empty",
                      "Интернет: введите число гигабайт, например 1,5 (не больше трёх знаков после запятой), "
                      "или оставьте поле пустым", field=kind)
    try:
        gigabytes = Decimal(text.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain decimals
        raise Invalid("Data: not a number", "Интернет: не число", field=kind) from None
    return int((gigabytes * KB_PER_GB).to_integral_value(rounding=ROUND_HALF_UP))


def quota_input_value(kb: int | None, lang: str = "ru") -> str:
    """A data quota for the edit field, in GB as parse_quota reads it back ('0,05', never '0.0500002')."""
    if kb is None:
        return ""
    gigabytes = (Decimal(kb) / KB_PER_GB).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    text = f"{gigabytes:f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if lang == "ru" else text


def set_quotas(session: Session, info: auth.SessionInfo, owner_msisdn: str, member_id, minutes, sms, data_gb,
               now: datetime) -> FamilyMember:
    owner = _owner_line(session, info, owner_msisdn, lock=False)
    member, group = _member(session, member_id)
    if group.owner_line_id != owner.id or member.status != "active":
        raise NotFound("no such member", "Участник не найден")
    quotas = {"voice": parse_quota(minutes, "voice"), "sms": parse_quota(sms, "sms"),
              "data": parse_quota(data_gb, "data")}
    locked = billing.lock_lines(session, [owner.id, member.line_id])
    owner, line = locked[owner.id], locked[member.line_id]
    member = _lock_member(session, member.id)
    if member.status != "active" or not _is_owner_tariff(owner):
        raise NotFound("no such member", "Участник не найден")
    _roll(session, [owner, line], now)
    for kind, quota in quotas.items():
        _set_share(session, owner, member, kind, quota, now)
        setattr(member, QUOTA_FIELDS[kind], quota)
    session.add(member)
    billing.touch(session, owner, now)
    billing.touch(session, line, now)
    return member


def _end_membership(session: Session, member: FamilyMember, group: FamilyGroup, status: str, now: datetime,
                    gone: DomainError) -> None:
    locked = billing.lock_lines(session, [group.owner_line_id, member.line_id])
    owner, line = locked[group.owner_line_id], locked[member.line_id]
    member = _lock_member(session, member.id)
    if member.status != "active":  # ended meanwhile (a second click, or the other side at the same time)
        raise gone
    _roll(session, [owner, line], now)
    _close_shares(session, owner, member, now)
    member.status = status
    member.ended_at = now
    session.add(member)
    billing.change_tariff(session, line, "minimum", now=now, reason="family_leave")
    billing.notify_line(session, line, notify.notification(
        line.id, "family", "Вы больше не в группе «МЫ МТС». Ваш тариф — «Минимум».",
        "You left the MY MTS group. Your tariff is now Minimum.", now), also_sms=True)
    billing.notify_line(session, owner, notify.notification(
        owner.id, "family", f"{auth.format_msisdn(line.msisdn)} больше не в группе «МЫ МТС».",
        f"{auth.format_msisdn(line.msisdn)} is no longer in the group.", now))
    billing.touch(session, owner, now)
    billing.touch(session, line, now)


def remove_member(session: Session, info: auth.SessionInfo, owner_msisdn: str, member_id, now: datetime) -> None:
    owner = _owner_line(session, info, owner_msisdn, lock=False)
    member, group = _member(session, member_id)
    if group.owner_line_id != owner.id or member.status != "active":
        raise NotFound("no such member", "Участник не найден")
    _end_membership(session, member, group, "removed", now, NotFound("no such member", "Участник не найден"))


def leave(session: Session, info: auth.SessionInfo, msisdn: str, now: datetime) -> None:
    line = auth.require_line(session, info, msisdn)
    found = active_membership(session, line.id)
    not_in = Conflict("not in a family group", "Вы не состоите в семейной группе")
    if found is None:
        raise not_in
    _end_membership(session, found[0], found[1], "left", now, not_in)


# ---------------------------------------------------------------- views


@dataclass
class ShareView:
    kind: str
    unit: str
    quota: int | None  # None: from the shared remainder
    used: int
    remaining: int


@dataclass
class MemberView:
    member_id: int
    msisdn: str
    status: str  # active | pending | expired (a pending invitation past its INVITATION_DAYS)
    shares: list[ShareView] = field(default_factory=list)


@dataclass
class FamilyView:
    role: str  # owner | member | none
    owner_msisdn: str
    group_exists: bool
    members: list[MemberView]
    pool: list[ShareView]  # per kind: pool size (quota field), used by everyone, left in the whole pool
    owner_use: list[ShareView]  # per kind: the owner's own use, left of the shared remainder
    invitations: list[tuple[int, str]]  # open invitations to this line: (member id, owner msisdn)
    fee_per_member: int = FAMILY_MEMBER_FEE


def _member_share(session: Session, pool: Bucket, member: FamilyMember, attr: str, now: datetime) -> ShareView:
    share = share_bucket(session, member.line_id, pool.id, now)
    draw = drawn(session, pool.id, member.line_id)
    quota = getattr(member, attr)
    used = (share.used if share is not None else 0) + (draw.used if draw is not None else 0)
    if quota is None:
        remaining = pool.total - pool.used
    else:  # a quota without a share yet (set while the owner had no pool): nothing to draw until it is carved
        remaining = share.total - share.used if share is not None else 0
    return ShareView(pool.kind, pool.unit, quota, used, remaining)


def view(session: Session, info: auth.SessionInfo, msisdn: str, now: datetime) -> FamilyView:
    line = auth.require_line(session, info, msisdn)
    invitations = [(m.id, o.msisdn) for m, o in pending_invitations(session, line.id, now)]
    if _is_owner_tariff(line):
        group = group_of_owner(session, line.id)
        mems = members(session, group.id) if group else []
        pools = {k: pool_bucket(session, line.id, k, now) for k in QUOTA_FIELDS}
        out = []
        for m in mems:
            ml = session.get(Line, m.line_id)
            mv = MemberView(m.id, ml.msisdn, "expired" if is_expired(m, now) else m.status)
            if m.status == "active":
                for kind, attr in QUOTA_FIELDS.items():
                    if pools[kind] is not None:
                        mv.shares.append(_member_share(session, pools[kind], m, attr, now))
            out.append(mv)
        pool_view, owner_use = [], []
        for kind, pool in pools.items():
            if pool is None:
                continue
            # every share of this pool bucket (members' and former members'; an ended one holds its use)
            shares_used = session.exec(select(func.coalesce(func.sum(Bucket.used), 0))
                                       .where(Bucket.parent_bucket_id == pool.id)).scalar_one()
            members_drew = session.exec(select(func.coalesce(func.sum(PoolDraw.used), 0))
                                        .where(PoolDraw.bucket_id == pool.id)).scalar_one()
            used_by_all = pool.used + int(shares_used)
            pool_view.append(ShareView(kind, pool.unit, pool.pool_total, used_by_all, pool.pool_total - used_by_all))
            owner_use.append(ShareView(kind, pool.unit, None, pool.used - int(members_drew), pool.total - pool.used))
        return FamilyView("owner", line.msisdn, group is not None, out, pool_view, owner_use, invitations)
    found = active_membership(session, line.id)
    if found is None:
        return FamilyView("none", "", False, [], [], [], invitations)
    member, group = found
    owner = session.get(Line, group.owner_line_id)
    mv = MemberView(member.id, line.msisdn, member.status)
    for kind, attr in QUOTA_FIELDS.items():
        pool = pool_bucket(session, owner.id, kind, now)
        if pool is not None:
            mv.shares.append(_member_share(session, pool, member, attr, now))
    return FamilyView("member", owner.msisdn, True, [mv], [], [], invitations)


def pool_views_for_member(*, session: Session, line: Line, now: datetime, own: list[Bucket]):
    """For a family member's home screen: the owner's pool buckets of the kinds without a quota."""
    from mts_portal.core.billing import BucketView

    found = active_membership(session, line.id)
    if found is None:
        return []
    member, group = found
    owner = session.get(Line, group.owner_line_id)
    views = []
    for kind, attr in QUOTA_FIELDS.items():
        if getattr(member, attr) is not None:
            continue
        if kind == "data":  # the owner's internet add-ons are shared with the pool (charging.py)
            for b in session.exec(select(Bucket).where(
                    Bucket.line_id == owner.id, Bucket.kind == "data", Bucket.source.in_(("addon", "bonus")),
                    Bucket.valid_from <= now, Bucket.valid_until > now).order_by(Bucket.id)).scalars():
                views.append(BucketView(b.id, b.kind, b.unit, b.total, b.used, b.total - b.used, b.valid_until,
                                        "family_addon", b.product_code, shared_from=owner.msisdn))
        pool = pool_bucket(session, owner.id, kind, now)
        if pool is not None:
            views.append(BucketView(pool.id, pool.kind, pool.unit, pool.total, pool.used, pool.total - pool.used,
                                    pool.valid_until, "family_pool", pool.product_code, shared_from=owner.msisdn))
    return views


def pool_check(session: Session) -> list[str]:
    """Invariants: member draws never exceed what was drawn from a pool bucket; a share that ended
    before its pool holds exactly what was used of it (so used + remaining always equals the pool)."""
    problems = []
    for bucket_id, drawn_total in session.exec(select(PoolDraw.bucket_id, func.sum(PoolDraw.used))
                                               .group_by(PoolDraw.bucket_id)).all():
        b = session.get(Bucket, bucket_id)
        if b is not None and drawn_total > b.used:
            problems.append(f"pool {bucket_id}: members drew {drawn_total} > used {b.used}")
    parent = aliased(Bucket)
    for share_id, total, used in session.exec(
        select(Bucket.id, Bucket.total, Bucket.used).join(parent, parent.id == Bucket.parent_bucket_id)
        .where(Bucket.valid_until < parent.valid_until, Bucket.total != Bucket.used)
    ).all():
        problems.append(f"share {share_id} ended with {total - used} unused (total {total}, used {used})")
    return problems
