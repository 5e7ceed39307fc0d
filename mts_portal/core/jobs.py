"""Time-driven work: period rollovers, daily content fees, promised-payment expiry,
autopay, and housekeeping. Run by the app's scheduler every few seconds and by
POST /api/v1/clock after a move. Each unit of work is its own small transaction
and is idempotent (the line's period_end, a subscription's paid_until, unique
ledger causes), so running it twice or after a crash charges nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, select
from sqlmodel import Session

from mts_portal.core import billing, home, memory, notify, parental
from mts_portal.core.catalog import Catalog, default_catalog
from mts_portal.core.clock import as_utc, moscow_date, moscow_midnight
from mts_portal.core.db import transact
from mts_portal.core.models import (
    DailyFeeCharge,
    HomeAccount,
    Line,
    MailMessage,
    Notification,
    PromisedPayment,
    Report,
    Subscription,
)
from mts_portal.core.money import format_rub
from mts_portal.core.settings import get_settings

log = logging.getLogger(__name__)
BATCH = 200


@dataclass
class JobReport:
    rollovers: int = 0
    content_fees: int = 0
    content_stopped: int = 0
    promised_expired: int = 0
    autopay_runs: int = 0
    purged: int = 0
    backups: int = 0
    home_rollovers: int = 0
    home_suspended: int = 0
    home_requests_moved: int = 0
    changed_line_ids: set[int] = field(default_factory=set)

    def to_json(self) -> dict:
        return {"rollovers": self.rollovers, "content_fees": self.content_fees,
                "content_stopped": self.content_stopped, "promised_expired": self.promised_expired,
                "autopay_runs": self.autopay_runs, "purged": self.purged, "backups": self.backups,
                "home_rollovers": self.home_rollovers, "home_suspended": self.home_suspended,
                "home_requests_moved": self.home_requests_moved}


def run_due(engine: Engine, now: datetime, catalog: Catalog | None = None) -> JobReport:
    """Everything due up to `now`, in the order it fell due.

    After a long pause or a clock jump, work is done Moscow midnight by midnight: each day's content
    fees, then the period start, promised-payment expiry and autopay at that midnight, so a day's fee is
    judged by that day's balance and status, not by what a later period start made of them."""
    from mts_portal.core import (
        payments,  # (payments imports billing, which imports nothing of jobs)
    )

    catalog = catalog or default_catalog()
    report = JobReport()
    for step in _steps(engine, now, catalog):
        _rollovers(engine, step, catalog, report)
        _home_accounts(engine, step, report)
        _content_fees(engine, step, catalog, report)
        _promised(engine, step, report)
        payments.run_autopay(engine=engine, now=step, report=report)
    if get_settings().demo:  # home requests move on by themselves in demo mode (the console moves them too)
        report.home_requests_moved += transact(engine, lambda s: home.advance_due(session=s, now=now),
                                               what="home requests")
    report.backups += memory.run_due(engine, now)  # «Вторая память»: scheduled backups due by now
    _purge(engine, now, report)
    return report


def _steps(engine: Engine, now: datetime, catalog: Catalog) -> list[datetime]:
    """The Moscow midnights from the earliest pending work up to `now`, then `now` itself."""
    daily_codes = [p.code for p in catalog.products.values() if p.fee_unit == "day"]
    with Session(engine) as s:
        candidates = [
            s.exec(select(func.min(Line.period_end)).where(Line.period_end <= now)).scalar(),
            s.exec(select(func.min(Subscription.paid_until)).where(
                Subscription.active == True, Subscription.code.in_(daily_codes),  # noqa: E712
                Subscription.paid_until <= now)).scalar(),
            s.exec(select(func.min(PromisedPayment.due_at)).where(
                PromisedPayment.status == "active", PromisedPayment.due_at <= now)).scalar(),
            s.exec(select(func.min(HomeAccount.period_end)).where(HomeAccount.period_end <= now)).scalar(),
        ]
    pending = [as_utc(c) for c in candidates if c is not None]
    steps: list[datetime] = []
    if pending:
        day = moscow_date(min(pending))
        while (midnight := moscow_midnight(day)) < now:
            if midnight >= min(pending):
                steps.append(midnight)
            day += timedelta(days=1)
    steps.append(now)
    return steps


def _ids(engine: Engine, stmt) -> list[int]:
    with Session(engine) as s:
        return list(s.exec(stmt).scalars())


def _rollovers(engine: Engine, now: datetime, catalog: Catalog, report: JobReport) -> None:
    failed: set[int] = set()  # lines whose rollover failed in this run: logged, retried at the next run
    while True:
        q = select(Line.id).where(Line.period_end <= now)
        if failed:
            q = q.where(Line.id.not_in(sorted(failed)))
        ids = _ids(engine, q.order_by(Line.id).limit(BATCH))
        if not ids:
            return

        def fn(session: Session, ids=ids) -> int:
            n = 0
            for line in billing.lock_lines(session, ids).values():
                if line.period_end > now:
                    continue  # rolled over meanwhile (ingestion, a top-up)
                try:
                    with session.begin_nested():  # one line's failure must not hold up everyone's period start
                        n += billing.rollover_line(session=session, line=line, now=now, catalog=catalog)
                except Exception:
                    log.exception("period start of line %s failed; it is retried at the next run", line.id)
                    failed.add(line.id)
            return n

        report.rollovers += transact(engine, fn, what="rollover")
        report.changed_line_ids.update(ids)


def _home_accounts(engine: Engine, now: datetime, report: JobReport) -> None:
    """Home internet and TV contracts: period starts (their «20 % возврата», fees) and grace ends. A
    contract done here is due no more (its period ends later, a grace end suspended it)."""
    failed: set[int] = set()  # logged, retried at the next run
    while True:
        with Session(engine) as s:
            ids = [i for i in home.due_ids(s, now, limit=BATCH + len(failed)) if i not in failed]
        if not ids:
            return

        def fn(session: Session, ids=ids) -> tuple[int, int]:
            rolled = suspended = 0
            for home_id in ids:
                acc = home.lock_home(session, home_id)
                was = acc.status
                try:
                    with session.begin_nested():
                        rolled += home.rollover(session=session, home=acc, now=now)
                except Exception:
                    log.exception("period start of home account %s failed; retried at the next run", home_id)
                    failed.add(home_id)
                    continue
                suspended += was == "active" and acc.status == "suspended"
            return rolled, suspended

        rolled, suspended = transact(engine, fn, what="home rollover")
        report.home_rollovers += rolled
        report.home_suspended += suspended


def _content_fees(engine: Engine, now: datetime, catalog: Catalog, report: JobReport) -> None:
    daily_codes = [p.code for p in catalog.products.values() if p.fee_unit == "day"]
    while True:
        sub_ids = _ids(engine, select(Subscription.id).where(
            Subscription.active == True, Subscription.code.in_(daily_codes),  # noqa: E712
            Subscription.paid_until.is_not(None), Subscription.paid_until <= now).order_by(Subscription.id).limit(BATCH))
        if not sub_ids:
            return

        def fn(session: Session, sub_ids=sub_ids) -> None:
            subs = session.exec(select(Subscription).where(Subscription.id.in_(sub_ids))
                                .order_by(Subscription.id)).scalars().all()
            # lock the lines first (PostgreSQL): ingestion may be moving their balances right now
            lines = billing.lock_lines(session, [sub.line_id for sub in subs])
            for sub in subs:
                line = lines[sub.line_id]
                product = catalog.products[sub.code]
                while sub.active and sub.paid_until <= now:
                    day = moscow_date(sub.paid_until)
                    limit = billing.credit_limit(session, line, sub.paid_until)
                    refusal = parental.purchase_refusal(session, line, product, product.fee_kopecks, sub.paid_until)
                    if refusal is not None:  # a child's number: the parent's limits stop the subscription
                        sub.active = False
                        sub.ended_at = sub.paid_until
                        report.content_stopped += 1
                        billing.notify_line(session, line, notify.notification(
                            line.id, "info", f"Подписка «{product.name_ru}» отключена: {refusal.message('ru')}.",
                            f"Subscription {product.name_en} stopped: {refusal.message('en')}.", sub.paid_until))
                        break
                    if line.status != "active" or line.balance_kopecks - product.fee_kopecks < -limit:
                        sub.active = False
                        sub.ended_at = sub.paid_until
                        report.content_stopped += 1
                        billing.notify_line(session, line, notify.notification(
                            line.id, "info",
                            f"Подписка «{product.name_ru}» отключена: недостаточно средств для оплаты "
                            f"{format_rub(product.fee_kopecks)} в сутки.",
                            f"Subscription {product.name_en} stopped: not enough money for "
                            f"{format_rub(product.fee_kopecks, 'en')} a day.", sub.paid_until))
                        break
                    ref = f"{sub.code}:{day.isoformat()}"
                    billing.post_money(session, line, -product.fee_kopecks, kind="daily_fee", category="content",
                                       cause_type="fee", cause_ref=ref, description=f"«{product.name_ru}» за {day:%d.%m.%Y}",
                                       description_en=f"{product.name_en} for {day:%d.%m.%Y}",
                                       at=sub.paid_until)
                    session.add(DailyFeeCharge(line_id=line.id, code=sub.code, day=day,
                                               amount_kopecks=product.fee_kopecks, cause_ref=ref))
                    report.content_fees += 1
                    sub.paid_until = moscow_midnight(day + timedelta(days=1))
                session.add(sub)
                billing.touch(session, line, now)
                report.changed_line_ids.add(line.id)

        transact(engine, fn, what="content fees")


def _promised(engine: Engine, now: datetime, report: JobReport) -> None:
    ids = _ids(engine, select(PromisedPayment.id).where(PromisedPayment.status == "active",
                                                        PromisedPayment.due_at <= now))
    if not ids:
        return

    def fn(session: Session) -> None:
        promises = session.exec(select(PromisedPayment).where(PromisedPayment.id.in_(ids))
                                .order_by(PromisedPayment.id)).scalars().all()
        lines = billing.lock_lines(session, [p.line_id for p in promises])
        for p in promises:
            p.status = "expired"
            p.closed_at = p.due_at
            line = lines[p.line_id]
            billing.notify_line(session, line, notify.notification(
                line.id, "payment",
                f"Срок обещанного платежа {format_rub(p.amount_kopecks)} истёк. Пополните баланс, чтобы "
                "оставаться на связи.",
                f"Your promised payment of {format_rub(p.amount_kopecks, 'en')} has expired. Top up to stay "
                "connected.", p.due_at), also_sms=True)
            billing.touch(session, line, now)
            report.promised_expired += 1
            report.changed_line_ids.add(line.id)

    transact(engine, fn, what="promised expiry")


def _purge(engine: Engine, now: datetime, report: JobReport) -> None:
    """Notifications and ordered reports are kept 3 days."""
    keep = now - timedelta(days=notify.KEEP_DAYS)

    def fn(session: Session) -> int:
        n = session.execute(delete(Notification).where(Notification.created_at < keep)).rowcount or 0
        for rep in session.exec(select(Report).where(Report.expires_at <= now)).scalars().all():
            from pathlib import Path

            Path(rep.path).unlink(missing_ok=True)
            session.delete(rep)
            n += 1
        n += session.execute(delete(MailMessage).where(MailMessage.created_at < keep)).rowcount or 0
        from mts_portal.core import auth

        auth.purge(session=session, now=now)
        return n

    report.purged += transact(engine, fn, what="purge")
