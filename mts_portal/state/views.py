"""Display data for pages: core results turned into small dicts of strings.

Runs in a worker thread (it reads the store); never keeps ORM objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from babel.dates import format_date
from sqlalchemy import func, select
from sqlmodel import Session

from mts_portal.core import billing, ledger, notify
from mts_portal.core.auth import format_msisdn
from mts_portal.core.catalog import default_catalog
from mts_portal.core.clock import MSK, as_utc, period_of
from mts_portal.core.models import LedgerEntry, Line, Notification
from mts_portal.core.money import format_amount, format_rub
from mts_portal.core.words import pick
from mts_portal.i18n import count_digits, count_word, tr

POINTS = (("балл", "балла", "баллов"), ("point", "points"))


def day_text(day: date, lang: str) -> str:
    """A calendar day: '31.12.2026' (ru) / '31 Dec 2026' (en)."""
    return format_date(day, "d MMM y", locale="en_GB") if lang == "en" else day.strftime("%d.%m.%Y")


def moment_text(at: datetime, lang: str) -> str:
    """A moment in Moscow time: '02.12.2026 14:35' (ru) / '2 Dec 2026, 14:35' (en)."""
    local = as_utc(at).astimezone(MSK)
    return f"{day_text(local.date(), lang)}{',' if lang == 'en' else ''} {local:%H:%M}"


def until_text(valid_until: datetime, lang: str) -> str:
    """How long a bundle lasts. One that ends at midnight lasts through the day before, said inclusively:
    «по 31.12.2026» / "until 31 Dec 2026" (not «до 01.01.2027 00:00»); any other end is a moment:
    «до 02.12.2026 14:35» / "until 2 Dec 2026, 14:35"."""
    local = as_utc(valid_until).astimezone(MSK)
    if local.time() == time(0, 0):
        return f"{tr('home.until_day', lang)} {day_text((local - timedelta(days=1)).date(), lang)}"
    return f"{tr('home.until', lang)} {moment_text(local, lang)}"


def bucket_label(b: billing.BucketView, lang: str) -> str:
    base = tr(f"bucket.{b.kind}", lang)
    if b.source in ("addon", "bonus") and b.product_code:
        product = default_catalog().products.get(b.product_code)
        return product.name(lang) if product else base
    if b.source == "family_share":
        return f"{base} · {'доля в «МЫ МТС»' if lang == 'ru' else 'family share'}"
    return base


@dataclass
class BucketRow:
    """A bundle meter: remaining of total (pct = remaining %, an int for the progress bar); `until` is the
    whole phrase («по 31.12.2026»)."""

    id: str
    kind: str
    label: str
    remaining: str
    total: str
    pct: int
    low: bool
    until: str
    shared: str


def bucket_rows(buckets: list[billing.BucketView], lang: str) -> list[BucketRow]:
    out = []
    for b in buckets:
        pct = 0 if b.total <= 0 else max(0, min(100, (b.remaining * 100) // b.total))
        out.append(BucketRow(
            id=str(b.id), kind=b.kind, label=bucket_label(b, lang),
            remaining=format_amount(b.remaining, b.unit, lang), total=format_amount(b.total, b.unit, lang),
            pct=pct, low=pct <= 20, until=until_text(b.valid_until, lang),
            shared=f"{tr('bucket.shared', lang)} {format_msisdn(b.shared_from)}" if b.shared_from else "",
        ))
    return out


def home_view(session: Session, msisdn: str, now: datetime, lang: str) -> dict:
    sm = billing.line_summary(session=session, msisdn=msisdn, now=now)
    line_id = session.exec(select(Line.id).where(Line.msisdn == msisdn)).scalar_one()
    debits = session.exec(
        select(LedgerEntry).where(LedgerEntry.line_id == line_id, LedgerEntry.amount_kopecks < 0)
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc()).limit(5)
    ).scalars().all()
    tariff_name = sm.tariff_name_en if lang == "en" else sm.tariff_name_ru
    spent, spent_total = period_spending(session, line_id, now, lang)
    notes = session.exec(
        select(Notification).where(Notification.line_id == line_id,
                                   Notification.created_at >= now - timedelta(days=notify.KEEP_DAYS))
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(3)
    ).scalars().all()
    return {
        "version": sm.version,
        "balance_kopecks": sm.balance_kopecks,
        "balance_text": format_rub(sm.balance_kopecks, lang),
        "bonus_text": count_digits(sm.bonus_points, lang),
        "points_word": count_word(sm.bonus_points, lang, *POINTS),
        "credit_text": format_rub(sm.credit_limit_kopecks, lang) if sm.credit_limit_kopecks else "",
        "tariff_name": tariff_name,
        "tariff_code": sm.tariff,
        "fee_text": format_rub(sm.tariff_fee_kopecks, lang),
        "next_fee_text": day_text(as_utc(sm.period_end).astimezone(MSK).date(), lang),
        "status": sm.status,
        "status_text": tr(f"status.{sm.status}", lang),
        "owed_text": format_rub(sm.fees_owed_kopecks, lang) if sm.fees_owed_kopecks else "",
        "buckets": bucket_rows(sm.buckets, lang),
        "charges": [
            {"id": str(e.id), "when": moment_text(e.created_at, lang), "what": pick(e.description, e.description_en, lang),
             "amount": format_rub(e.amount_kopecks, lang)}
            for e in debits
        ],
        "period_label": period_text(now, lang),
        "spending": spent,
        "spending_total": spent_total,
        "notes": [{"id": str(n.id), "when": moment_text(n.created_at, lang),
                   "text": n.text_en if lang == "en" and n.text_en else n.text_ru,
                   "unread": "1" if n.read_at is None else "0"} for n in notes],
    }


def period_text(now: datetime, lang: str) -> str:
    """This billing period in words: «декабрь 2026» / "December 2026"."""
    start = as_utc(period_of(now).start).astimezone(MSK).date()
    return format_date(start, "LLLL y", locale="en_GB" if lang == "en" else "ru")


def period_spending(session: Session, line_id: int, now: datetime, lang: str) -> tuple[list[dict[str, str]], str]:
    """What the line was charged this billing period, by category (largest first, with each one's share of
    the largest for a bar), and the total: one grouped read of the period's ledger debits."""
    rows = session.exec(
        select(LedgerEntry.category, func.sum(LedgerEntry.amount_kopecks))
        .where(LedgerEntry.line_id == line_id, LedgerEntry.amount_kopecks < 0,
               LedgerEntry.kind.in_(tuple(ledger.CHARGE_KINDS)), LedgerEntry.created_at >= period_of(now).start)
        .group_by(LedgerEntry.category)
    ).all()
    totals: dict[str, int] = {}
    for category, amount in rows:
        key = category if category in SPENDING_CATEGORIES else "other"
        totals[key] = totals.get(key, 0) - int(amount or 0)
    ordered = sorted(((k, v) for k, v in totals.items() if v > 0), key=lambda kv: -kv[1])
    top = ordered[0][1] if ordered else 1
    out = [{"key": k, "name": tr(f"cat.{k}", lang), "amount": format_rub(v, lang),
            "pct": str(max(2, round(100 * v / top)))} for k, v in ordered]
    return out, format_rub(sum(v for _, v in ordered), lang)


SPENDING_CATEGORIES = ("voice", "sms", "data", "roaming", "fee", "service", "content")
