"""«МЫ МТС» family sharing: the pool arithmetic (DESIGN §2 Family, §4).

The owner's tariff buckets are the pool (pool_total = their size). A member
with a quota for a kind has a share bucket carved out of the pool bucket
(parent_bucket_id); a member without one draws from what is left of the pool.
Always: pool.total + sum(share.total) == pool.pool_total.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from mts_portal.core.models import Bucket, FamilyGroup, FamilyMember, Line

QUOTA_FIELDS = {"voice": "quota_minutes", "sms": "quota_sms", "data": "quota_kb"}


def active_membership(session: Session, line_id: int) -> tuple[FamilyMember, FamilyGroup] | None:
    row = session.exec(
        select(FamilyMember, FamilyGroup)
        .join(FamilyGroup, FamilyGroup.id == FamilyMember.group_id)
        .where(FamilyMember.line_id == line_id, FamilyMember.status == "active")
    ).first()
    return (row[0], row[1]) if row else None


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


def carve_shares_for_new_pool(*, session: Session, owner: Line, now: datetime) -> None:
    """At a new period (or when the owner's bundles are granted), carve each member's quotas again."""
    group = session.exec(select(FamilyGroup).where(FamilyGroup.owner_line_id == owner.id)).scalars().first()
    if group is None:
        return
    members = session.exec(
        select(FamilyMember).where(FamilyMember.group_id == group.id, FamilyMember.status == "active")
        .order_by(FamilyMember.id)
    ).scalars().all()
    for member in members:
        for kind, attr in QUOTA_FIELDS.items():
            quota = getattr(member, attr)
            if quota is None:
                continue
            pool = pool_bucket(session, owner.id, kind, now)
            if pool is None:
                continue
            amount = max(0, min(quota, pool.total - pool.used))
            pool.total -= amount
            session.add(pool)
            session.add(Bucket(
                line_id=member.line_id, kind=kind, unit=pool.unit, total=amount, used=0, valid_from=now,
                valid_until=pool.valid_until, source="family_share", product_code=pool.product_code,
                priority=1, parent_bucket_id=pool.id,
            ))
    session.flush()


def pool_views_for_member(*, session: Session, line: Line, now: datetime, own: list[Bucket]):
    """For a family member: the owner's pool buckets of the kinds the member has no quota for."""
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


def group_msisdns(session: Session, line_id: int) -> set[str]:
    """Every number of the line's family group (owner and active members), or nothing."""
    gid = session.exec(select(FamilyGroup.id).where(FamilyGroup.owner_line_id == line_id)).scalars().first()
    if gid is None:
        found = active_membership(session, line_id)
        if found is None:
            return set()
        gid = found[1].id
    group = session.get(FamilyGroup, gid)
    ids = [group.owner_line_id, *session.exec(select(FamilyMember.line_id).where(
        FamilyMember.group_id == gid, FamilyMember.status == "active")).scalars()]
    return set(session.exec(select(Line.msisdn).where(Line.id.in_(ids))).scalars())
