"""The one function that moves money (STYLE rule 2).

`post()` works on anything shaped like a line (the ORM Line or the rater's
LineSnapshot): it changes the balance, builds the ledger row that explains the
movement (with balance_after), awards bonus points for charges (1 point per
full 5 ₽ charged, cumulative, so no rounding is lost) and builds the low-balance
and debit notifications. Callers insert the rows it returns in the same
transaction as everything else they change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from mts_portal.core import notify

# kinds of ledger rows that are charges (earn bonus points)
CHARGE_KINDS = frozenset(("usage", "fee", "daily_fee", "promised_fee", "family_fee", "service_fee", "addon", "sms_send"))
CREDIT_KINDS = frozenset(("topup", "transfer_in", "refund", "adjustment", "cashback"))
# home_fee: a home internet / TV account's fees (they earn no mobile bonus points; «20 % возврата» instead)
DEBIT_KINDS = CHARGE_KINDS | {"transfer_out", "home_fee"}
KOPECKS_PER_POINT = 500


@dataclass(slots=True)
class Posting:
    ledger: dict
    bonus: dict | None = None
    notifications: list[dict] = field(default_factory=list)
    sms: list[dict] = field(default_factory=list)


def post(
    line,
    amount_kopecks: int,
    *,
    kind: str,
    category: str,
    cause_type: str,
    cause_ref: str,
    description: str,
    at: datetime,
    sms_notify: bool = False,
    description_en: str = "",
    owner: str = "line_id",
) -> Posting:
    """Apply a signed amount (+ credit, − debit) to `line` and return the rows to insert.
    `description` is Russian, `description_en` its English twin (both are shown by language).

    `owner` names the ledger row's owner column: "line_id" (a mobile line: bonus points and the
    line's notifications follow) or "home_account_id" (a home internet / TV account, which has
    neither: only its balance and the ledger row move)."""
    if not isinstance(amount_kopecks, int) or isinstance(amount_kopecks, bool):
        raise TypeError("money is integer kopecks")
    if amount_kopecks == 0:
        raise ValueError("a ledger row moves money; zero is not a movement")
    if amount_kopecks < 0 and kind not in DEBIT_KINDS:
        raise ValueError(f"{kind} cannot debit")
    if amount_kopecks > 0 and kind not in CREDIT_KINDS:
        raise ValueError(f"{kind} cannot credit")
    before = line.balance_kopecks
    line.balance_kopecks = before + amount_kopecks
    posting = Posting(
        ledger={
            owner: line.id,
            "amount_kopecks": amount_kopecks,
            "kind": kind,
            "category": category,
            "cause_type": cause_type,
            "cause_ref": cause_ref,
            "description": description,
            "description_en": description_en,
            "balance_after": line.balance_kopecks,
            "created_at": at,
        }
    )
    if owner != "line_id":
        return posting
    if kind in CHARGE_KINDS:
        charged = -amount_kopecks
        old_total = line.charged_total_kopecks
        line.charged_total_kopecks = old_total + charged
        points = line.charged_total_kopecks // KOPECKS_PER_POINT - old_total // KOPECKS_PER_POINT
        if points:
            line.bonus_points += points
            posting.bonus = {
                "line_id": line.id,
                "points": points,
                "reason": "earned",
                "description": description,
                "description_en": description_en,
                "cause_ref": cause_ref,
                "created_at": at,
            }
    if amount_kopecks < 0 and sms_notify:
        note = notify.debit(line.id, -amount_kopecks, description, line.balance_kopecks, at,
                            description_en=description_en)
        posting.notifications.append(note)
        posting.sms.append(notify.sms(line.msisdn, note["text_ru"], at))
    if line.balance_kopecks < notify.LOW_BALANCE_KOPECKS:
        if amount_kopecks < 0 and not line.low_balance_notified:
            line.low_balance_notified = True
            posting.notifications.append(notify.low_balance(line.id, line.balance_kopecks, at))
    elif line.low_balance_notified:
        line.low_balance_notified = False
    return posting
