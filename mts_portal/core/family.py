"""«МЫ МТС» family sharing (DESIGN §2 Family, §4): one pays, up to five share.

The owner's tariff buckets are the pool (pool_total = their size). A member with a
quota for a kind has a share bucket carved out of the pool bucket
(parent_bucket_id); a member without one draws from what is left of the pool,
and charging records those draws per member (pool_draws). Always:

    pool.total + Σ share.total == pool.pool_total        (for every pool bucket)

Setting a quota moves what the member has already drawn from the pool into the new
share (so a quota is never below what the member used); removing a quota or the
member moves the unused part back to the owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from mts_portal.core import auth, billing, notify
from mts_portal.core.catalog import FAMILY_MAX_MEMBERS, FAMILY_MEMBER_FEE, default_catalog
from mts_portal.core.clock import period_of, prorate_up
from mts_portal.core.errors import Conflict, Forbidden, Invalid, NotFound, parse_id
from mts_portal.core.models import Bucket, FamilyGroup, FamilyMember, Line, PoolDraw
from mts_portal.core.money import KB_PER_GB, format_amount, format_rub

QUOTA_FIELDS = {"voice": "quota_minutes", "sms": "quota_sms", "data": "quota_kb"}
OPEN_STATUSES = ("pending", "active")
YES = {"да", "da", "yes", "y", "ok", "ок"}
NO = {"нет", "net", "no", "n"}


# ---------------------------------------------------------------- lookups


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
    return list(session.exec(select(FamilyMember).where(FamilyMember.group_id == group_id,
                                                        FamilyMember.status.in_(statuses))
                             .order_by(FamilyMember.id)).scalars())


def pool_bucket(session: Session, owner_line_id: int, kind: str, now: datetime) -> Bucket | None:
    return session.exec(
        select(Bucket).where(
            Bucket.line_id == owner_line_id, Bucket.kind == kind, Bucket.source == "tariff",
            Bucket.pool_total.is_not(None), Bucket.valid_from <= now, Bucket.valid_until > now,
        ).order_by(Bucket.valid_until.desc(), Bucket.id.desc())
    ).scalars().first()


def share_bucket(session: Session, member_line_id: int, parent_id: int) -> Bucket | None:
    return session.exec(
        select(Bucket).where(Bucket.line_id == member_line_id, Bucket.parent_bucket_id == parent_id)
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
    share = share_bucket(session, member.line_id, pool.id)
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


# ---------------------------------------------------------------- invitations


def _owner_line(session: Session, info: auth.SessionInfo, msisdn: str) -> Line:
    line = auth.require_line(session, info, msisdn)
    if not default_catalog().tariffs[line.tariff_code].family_owner:
        raise Forbidden("only the owner of a «МЫ МТС» line manages a family group",
                        "Управлять семейной группой может только владелец тарифа «МЫ МТС»")
    return billing.get_line_for_update(session, line.msisdn)


def invite(session: Session, info: auth.SessionInfo, owner_msisdn: str, invitee_text: str, now: datetime) -> FamilyMember:
    owner = _owner_line(session, info, owner_msisdn)
    msisdn = auth.normalize_msisdn(invitee_text)
    if msisdn == owner.msisdn:
        raise Invalid("you cannot invite yourself", "Нельзя пригласить самого себя")
    invitee = session.exec(select(Line).where(Line.msisdn == msisdn)).scalars().first()
    if invitee is None:
        raise Invalid("this number is not on our network", "Это номер другого оператора: пригласить можно только абонента МТС")
    if invitee.status in ("lost", "blocked"):
        raise Conflict("this number is blocked", "Номер заблокирован")
    if default_catalog().tariffs[invitee.tariff_code].family_owner:
        raise Conflict("this number owns a family group itself", "Этот номер сам владелец группы «МЫ МТС»")
    if active_membership(session, invitee.id) is not None:
        raise Conflict("this number is already in a family group", "Этот номер уже состоит в семейной группе")
    group = group_of_owner(session, owner.id)
    if group is None:
        group = FamilyGroup(owner_line_id=owner.id, created_at=now)
        session.add(group)
        session.flush()
        for kind in QUOTA_FIELDS:  # the owner's current pool belongs to the group from now on
            pool = pool_bucket(session, owner.id, kind, now)
            if pool is not None and pool.family_group_id is None:
                pool.family_group_id = group.id
                session.add(pool)
    current = members(session, group.id)
    if any(m.line_id == invitee.id for m in current):
        raise Conflict("already invited", "Этот номер уже приглашён")
    if len(current) >= FAMILY_MAX_MEMBERS:
        raise Conflict(f"a group has at most {FAMILY_MAX_MEMBERS} members",
                       f"В группе не больше {FAMILY_MAX_MEMBERS} участников")
    member = FamilyMember(group_id=group.id, line_id=invitee.id, status="pending", invited_at=now)
    session.add(member)
    session.flush()
    billing.notify_line(session, invitee, notify.notification(
        invitee.id, "family",
        f"Абонент {auth.format_msisdn(owner.msisdn)} приглашает вас в «МЫ МТС»: общие минуты, SMS и интернет, "
        "платит владелец. Ответьте «Да» на это SMS или примите приглашение в личном кабинете.",
        f"{auth.format_msisdn(owner.msisdn)} invites you to MY MTS: shared minutes, SMS and data paid by the owner. "
        "Reply «Да» to this SMS or accept in your account.", now), also_sms=True)
    billing.touch(session, owner, now)
    return member


def _member(session: Session, member_id) -> tuple[FamilyMember, FamilyGroup]:
    member = session.get(FamilyMember, parse_id(member_id))
    if member is None:
        raise NotFound("no such member or invitation", "Приглашение не найдено")
    return member, session.get(FamilyGroup, member.group_id)


def cancel_invite(session: Session, info: auth.SessionInfo, owner_msisdn: str, member_id, now: datetime) -> None:
    owner = _owner_line(session, info, owner_msisdn)
    member, group = _member(session, member_id)
    if group.owner_line_id != owner.id:
        raise NotFound("no such invitation", "Приглашение не найдено")
    if member.status != "pending":
        raise Conflict("only a pending invitation can be cancelled", "Отменить можно только неподтверждённое приглашение")
    member.status = "cancelled"
    member.ended_at = now
    session.add(member)
    billing.touch(session, owner, now)


def pending_invitations(session: Session, line_id: int) -> list[tuple[FamilyMember, Line]]:
    rows = session.exec(
        select(FamilyMember, Line).join(FamilyGroup, FamilyGroup.id == FamilyMember.group_id)
        .join(Line, Line.id == FamilyGroup.owner_line_id)
        .where(FamilyMember.line_id == line_id, FamilyMember.status == "pending")
    ).all()
    return [(m, owner) for m, owner in rows]


def _join(session: Session, member: FamilyMember, group: FamilyGroup, now: datetime) -> None:
    owner, line = (billing.lock_lines(session, [group.owner_line_id, member.line_id])[i]
                   for i in (group.owner_line_id, member.line_id))
    if not default_catalog().tariffs[owner.tariff_code].family_owner:
        raise Conflict("the group's owner is no longer on «МЫ МТС»", "Владелец группы больше не на тарифе «МЫ МТС»")
    if active_membership(session, line.id) is not None:
        raise Conflict("already in a family group", "Вы уже состоите в семейной группе")
    if len(members(session, group.id, ("active",))) >= FAMILY_MAX_MEMBERS:
        raise Conflict("the group is full", "В группе уже 5 участников")
    period = period_of(now)
    fee = prorate_up(FAMILY_MEMBER_FEE, period.remaining_days(now), period.days)
    limit = billing.credit_limit(session, owner, now)
    if owner.balance_kopecks - fee < -limit:
        raise Conflict("the group's owner has not enough money for the member fee",
                       "У владельца группы недостаточно средств для оплаты участника")
    billing.post_money(session, owner, -fee, kind="family_fee", category="fee", cause_type="fee",
                       cause_ref=f"family:{member.id}:{period.label()}",
                       description=f"Участник «МЫ МТС» {auth.format_msisdn(line.msisdn)} за {period.label()}", at=now)
    member.status = "active"
    member.joined_at = now
    member.previous_tariff = line.tariff_code
    session.add(member)
    billing.end_tariff_buckets(session, line, now)  # the member's own bundles end; the pool takes over
    line.tariff_code = "my_mts_member"
    session.add(line)
    session.flush()
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


def accept(session: Session, info: auth.SessionInfo, member_id, now: datetime) -> None:
    member, group = _member(session, member_id)
    line = session.get(Line, member.line_id)
    if member.status != "pending" or not auth.can_access(session, info.account_id, line):
        raise NotFound("no such invitation", "Приглашение не найдено")
    _join(session, member, group, now)


def decline(session: Session, info: auth.SessionInfo, member_id, now: datetime) -> None:
    member, group = _member(session, member_id)
    line = session.get(Line, member.line_id)
    if member.status != "pending" or not auth.can_access(session, info.account_id, line):
        raise NotFound("no such invitation", "Приглашение не найдено")
    member.status = "declined"
    member.ended_at = now
    session.add(member)
    owner = session.get(Line, group.owner_line_id)
    billing.notify_line(session, owner, notify.notification(
        owner.id, "family", f"{auth.format_msisdn(line.msisdn)} отклонил приглашение в «МЫ МТС».",
        f"{auth.format_msisdn(line.msisdn)} declined the invitation.", now))
    billing.touch(session, owner, now)


def sms_reply(session: Session, from_msisdn: str, text: str, now: datetime) -> str:
    """An SMS from a subscriber to the service number: «Да» accepts the newest invitation, «Нет» declines."""
    line = session.exec(select(Line).where(Line.msisdn == from_msisdn)).scalars().first()
    word = (text or "").strip().strip("!.").lower()
    if line is None:
        raise NotFound("unknown number", "Номер не найден")
    invites = pending_invitations(session, line.id)
    if not invites or word not in YES | NO:
        session.add(_sms(line.msisdn, "Не понимаем ответ. Ответьте «Да», чтобы принять приглашение в «МЫ МТС».", now))
        return "ignored"
    member, _owner = invites[-1]
    group = session.get(FamilyGroup, member.group_id)
    if word in NO:
        member.status = "declined"
        member.ended_at = now
        session.add(member)
        billing.touch(session, session.get(Line, group.owner_line_id), now)
        return "declined"
    try:
        _join(session, member, group, now)
    except Conflict as exc:
        session.add(_sms(line.msisdn, f"Не удалось присоединиться: {exc.message_ru}", now))
        return "refused"
    session.add(_sms(line.msisdn, "Готово: вы в группе «МЫ МТС».", now))
    return "accepted"


def _sms(to: str, text: str, now: datetime):
    from mts_portal.core.models import SmsMessage

    return SmsMessage(to_msisdn=to, sender="MTS", text=text, created_at=now)


# ---------------------------------------------------------------- quotas and leaving


def _parse_quota(value, unit: str) -> int | None:
    """'' or None: no quota (shared remainder). Minutes/SMS as integers, data in GB (decimals allowed)."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip().replace(",", ".")
    try:
        number = float(text) if unit == "KB" else int(text)
    except ValueError:
        raise Invalid(f"quota: not a number ({value})", f"Лимит: не число ({value})") from None
    if number < 0 or number > 10**9:
        raise Invalid("quota: 0 or more", "Лимит не может быть отрицательным")
    return int(round(number * KB_PER_GB)) if unit == "KB" else int(number)


def set_quotas(session: Session, info: auth.SessionInfo, owner_msisdn: str, member_id, minutes, sms, data_gb,
               now: datetime) -> FamilyMember:
    owner = _owner_line(session, info, owner_msisdn)
    member, group = _member(session, member_id)
    if group.owner_line_id != owner.id or member.status != "active":
        raise NotFound("no such member", "Участник не найден")
    quotas = {"voice": _parse_quota(minutes, "min"), "sms": _parse_quota(sms, "sms"), "data": _parse_quota(data_gb, "KB")}
    billing.lock_lines(session, [owner.id, member.line_id])
    for kind, quota in quotas.items():
        _set_share(session, owner, member, kind, quota, now)
        setattr(member, QUOTA_FIELDS[kind], quota)
    session.add(member)
    billing.touch(session, owner, now)
    billing.touch(session, session.get(Line, member.line_id), now)
    return member


def _end_membership(session: Session, member: FamilyMember, group: FamilyGroup, status: str, now: datetime) -> None:
    owner = session.get(Line, group.owner_line_id)
    line = session.get(Line, member.line_id)
    billing.lock_lines(session, [owner.id, line.id])
    for kind in QUOTA_FIELDS:
        pool = pool_bucket(session, owner.id, kind, now)
        if pool is None:
            continue
        share = share_bucket(session, line.id, pool.id)
        if share is not None and share.total > share.used:  # the unused share goes back to the owner
            pool.total += share.total - share.used
            share.total = share.used
            session.add(pool)
        if share is not None:
            share.valid_until = now
            session.add(share)
    member.status = status
    member.ended_at = now
    session.add(member)
    line.tariff_code = "minimum"
    session.add(line)
    billing.notify_line(session, line, notify.notification(
        line.id, "family", "Вы больше не в группе «МЫ МТС». Ваш тариф — «Минимум».",
        "You left the MY MTS group. Your tariff is now Minimum.", now), also_sms=True)
    billing.notify_line(session, owner, notify.notification(
        owner.id, "family", f"{auth.format_msisdn(line.msisdn)} больше не в группе «МЫ МТС».",
        f"{auth.format_msisdn(line.msisdn)} is no longer in the group.", now))
    billing.touch(session, owner, now)
    billing.touch(session, line, now)


def remove_member(session: Session, info: auth.SessionInfo, owner_msisdn: str, member_id, now: datetime) -> None:
    owner = _owner_line(session, info, owner_msisdn)
    member, group = _member(session, member_id)
    if group.owner_line_id != owner.id or member.status != "active":
        raise NotFound("no such member", "Участник не найден")
    _end_membership(session, member, group, "removed", now)


def leave(session: Session, info: auth.SessionInfo, msisdn: str, now: datetime) -> None:
    line = auth.require_line(session, info, msisdn)
    found = active_membership(session, line.id)
    if found is None:
        raise Conflict("not in a family group", "Вы не состоите в семейной группе")
    _end_membership(session, found[0], found[1], "left", now)


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
    status: str
    shares: list[ShareView] = field(default_factory=list)


@dataclass
class FamilyView:
    role: str  # owner | member | none
    owner_msisdn: str
    group_exists: bool
    members: list[MemberView]
    pool: list[ShareView]  # per kind: pool size (quota field), used by everyone, left for sharing
    owner_use: list[ShareView]
    invitations: list[tuple[int, str]]  # pending invitations to this line: (member id, owner msisdn)
    fee_per_member: int = FAMILY_MEMBER_FEE


def view(session: Session, info: auth.SessionInfo, msisdn: str, now: datetime) -> FamilyView:
    line = auth.require_line(session, info, msisdn)
    invitations = [(m.id, o.msisdn) for m, o in pending_invitations(session, line.id)]
    tariff = default_catalog().tariffs[line.tariff_code]
    if tariff.family_owner:
        group = group_of_owner(session, line.id)
        mems = members(session, group.id) if group else []
        pools = {k: pool_bucket(session, line.id, k, now) for k in QUOTA_FIELDS}
        out = []
        drawn_by_members = {k: 0 for k in QUOTA_FIELDS}
        for m in mems:
            ml = session.get(Line, m.line_id)
            mv = MemberView(m.id, ml.msisdn, m.status)
            for kind, attr in QUOTA_FIELDS.items():
                pool = pools[kind]
                if pool is None:
                    continue
                share = share_bucket(session, m.line_id, pool.id)
                draw = drawn(session, pool.id, m.line_id)
                used = (share.used if share else 0) + (draw.used if draw else 0)
                drawn_by_members[kind] += draw.used if draw else 0
                quota = getattr(m, attr)
                remaining = (share.total - share.used) if share is not None and quota is not None else \
                    (pool.total - pool.used)
                mv.shares.append(ShareView(kind, pool.unit, quota, used, remaining))
            out.append(mv)
        pool_view, owner_use = [], []
        for kind, pool in pools.items():
            if pool is None:
                continue
            pool_view.append(ShareView(kind, pool.unit, pool.pool_total, pool.used, pool.total - pool.used))
            owner_use.append(ShareView(kind, pool.unit, None, pool.used - drawn_by_members[kind],
                                       pool.total - pool.used))
        return FamilyView("owner", line.msisdn, group is not None, out, pool_view, owner_use, invitations)
    found = active_membership(session, line.id)
    if found is None:
        return FamilyView("none", "", False, [], [], [], invitations)
    member, group = found
    owner = session.get(Line, group.owner_line_id)
    mv = MemberView(member.id, line.msisdn, member.status)
    for kind, attr in QUOTA_FIELDS.items():
        pool = pool_bucket(session, owner.id, kind, now)
        if pool is None:
            continue
        share = share_bucket(session, line.id, pool.id)
        draw = drawn(session, pool.id, line.id)
        quota = getattr(member, attr)
        used = (share.used if share else 0) + (draw.used if draw else 0)
        remaining = (share.total - share.used) if share is not None and quota is not None else pool.total - pool.used
        mv.shares.append(ShareView(kind, pool.unit, quota, used, remaining))
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
        pool = pool_bucket(session, owner.id, kind, now)
        if pool is not None:
            views.append(BucketView(pool.id, pool.kind, pool.unit, pool.total, pool.used, pool.total - pool.used,
                                    pool.valid_until, "family_pool", pool.product_code, shared_from=owner.msisdn))
    return views


def pool_check(session: Session) -> list[str]:
    """Invariant: member draws never exceed what was drawn from a pool bucket."""
    problems = []
    for bucket_id, drawn_total in session.exec(select(PoolDraw.bucket_id, func.sum(PoolDraw.used))
                                               .group_by(PoolDraw.bucket_id)).all():
        b = session.get(Bucket, bucket_id)
        if b is not None and drawn_total > b.used:
            problems.append(f"pool {bucket_id}: members drew {drawn_total} > used {b.used}")
    return problems

