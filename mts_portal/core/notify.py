"""Notification and SMS texts (Russian and English) and row builders.

Rows are plain dicts so the batch charging path can bulk-insert them; the ORM
services insert the same dicts.
"""

from __future__ import annotations

from datetime import datetime

from mts_portal.core.money import format_amount, format_rub

SENDER = "MTS"
LOW_BALANCE_KOPECKS = 5000
KEEP_DAYS = 3


def notification(line_id: int, kind: str, text_ru: str, text_en: str, at: datetime) -> dict:
    return {"line_id": line_id, "kind": kind, "text_ru": text_ru, "text_en": text_en, "created_at": at}


def sms(to_msisdn: str, text: str, at: datetime, sender: str = SENDER) -> dict:
    return {"to_msisdn": to_msisdn, "sender": sender, "text": text, "created_at": at}


def debit(line_id: int, amount: int, description: str, balance: int, at: datetime, description_en: str = "") -> dict:
    return notification(
        line_id, "debit",
        f"Списание {format_rub(amount)}: {description}. Баланс {format_rub(balance)}",
        f"Debit {format_rub(amount, 'en')}: {description_en or description}. Balance {format_rub(balance, 'en')}",
        at,
    )


def low_balance(line_id: int, balance: int, at: datetime) -> dict:
    return notification(
        line_id, "low_balance",
        f"На счёте осталось {format_rub(balance)}. Пополните баланс, чтобы оставаться на связи.",
        f"Your balance is {format_rub(balance, 'en')}. Top up to stay connected.",
        at,
    )


BUNDLE_NAMES = {"voice": ("минут", "minutes"), "sms": ("SMS", "SMS"), "data": ("интернета", "data")}


def bundle_used(line_id: int, kind: str, pct: int, remaining: int, unit: str, at: datetime) -> dict:
    ru, en = BUNDLE_NAMES[kind]
    if pct >= 100:
        return notification(
            line_id, "bundle_100",
            f"Пакет {ru} израсходован полностью. Дальше — по тарифу.",
            f"Your {en} bundle is used up. Further use is charged by the tariff.",
            at,
        )
    return notification(
        line_id, "bundle_80",
        f"Израсходовано 80 % пакета {ru}: осталось {format_amount(remaining, unit)}.",
        f"80% of your {en} bundle is used: {format_amount(remaining, unit, 'en')} left.",
        at,
    )
