"""Pure rating: (event, line snapshot, catalogue, now) -> Decision. DESIGN §4.

Nothing here touches the store. The rater decides what is drawn from which
bucket, what money is charged and why; `apply()` updates the in-memory
snapshot so the next event of the same batch sees the result; charging.py
persists decisions in one transaction with the idempotency check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from mts_portal.core.catalog import (
    ABROAD_DATA_PER_MB,
    ABROAD_SMS,
    ABROAD_VOICE_PER_MIN,
    NBG_FREE_MINUTES_PER_CALL,
    NBG_FREE_MINUTES_PER_PERIOD,
    POPULAR_COUNTRIES,
    RUSSIA_VOICE_IN_PER_MIN,
    RUSSIA_VOICE_OUT_PER_MIN,
    Catalog,
    TariffInfo,
)
from mts_portal.core.clock import moscow_date
from mts_portal.core.events import Event

LATE_LIMIT = timedelta(days=7)
FUTURE_LIMIT = timedelta(minutes=5)
UNIT_OF = {"voice": "min", "sms": "sms", "data": "KB"}


@dataclass(slots=True)
class BucketState:
    id: int
    line_id: int
    kind: str
    unit: str
    total: int
    used: int
    valid_from: datetime
    valid_until: datetime
    priority: int
    source: str
    product_code: str | None = None
    notified_80: bool = False
    notified_100: bool = False
    dirty: bool = False

    @property
    def remaining(self) -> int:
        return self.total - self.used


@dataclass(slots=True)
class LineSnapshot:
    """What the rater needs to know of a line at one moment."""

    id: int
    msisdn: str
    status: str
    tariff: TariffInfo
    balance_kopecks: int
    credit_limit_kopecks: int
    options: frozenset[str]
    # per kind: the buckets this line may draw from, in drawing order
    buckets: dict[str, list[BucketState]]
    family_peers: frozenset[str] = frozenset()
    nbg_free_minutes_used: int = 0
    fee_days: set[tuple[str, date]] = field(default_factory=set)
    charged_total_kopecks: int = 0
    bonus_points: int = 0
    low_balance_notified: bool = False
    version: int = 0
    dirty: bool = False


@dataclass(slots=True)
class Draw:
    bucket: BucketState
    amount: int

    def to_json(self) -> dict:
        b = self.bucket
        return {"bucket_id": b.id, "kind": b.kind, "unit": b.unit, "amount": self.amount}


@dataclass(slots=True)
class Charge:
    amount_kopecks: int
    kind: str  # usage | daily_fee
    category: str  # voice | sms | data | roaming
    description: str
    fee_code: str | None = None
    fee_day: date | None = None


@dataclass(slots=True)
class Decision:
    status: str  # rated | blocked | rejected
    reason: str | None = None
    units: int = 0
    draws: list[Draw] = field(default_factory=list)
    charges: list[Charge] = field(default_factory=list)
    nbg_free_minutes: int = 0
    paid_by: str = "free"
    explanation: dict = field(default_factory=dict)

    @property
    def charged_kopecks(self) -> int:
        return sum(c.amount_kopecks for c in self.charges) if self.status == "rated" else 0

    def drawn_json(self) -> list[dict]:
        return [d.to_json() for d in self.draws] if self.status == "rated" else []


def _rejected(reason: str) -> Decision:
    return Decision(status="rejected", reason=reason, paid_by="")


def _draw(buckets: list[BucketState], need: int, at: datetime) -> tuple[list[Draw], int]:
    """Take up to `need` units from the buckets valid at `at`, in order. Returns (draws, still needed)."""
    draws: list[Draw] = []
    for b in buckets:
        if need <= 0:
            break
        if b.valid_from <= at < b.valid_until:
            rem = b.total - b.used
            if rem > 0:
                take = rem if rem < need else need
                draws.append(Draw(b, take))
                need -= take
    return draws, need


def data_cost(kb: int, rate_per_mb: int) -> int:
    """ceil(KB × rate_per_MB / 1024) kopecks (DESIGN §4)."""
    return -(-(kb * rate_per_mb) // 1024)


def rate(ev: Event, line: LineSnapshot, catalog: Catalog, now: datetime) -> Decision:
    started = ev.started_at
    if started < now - LATE_LIMIT:
        return _rejected("started_at: older than 7 days (late event)")
    if started > now + FUTURE_LIMIT:
        return _rejected("started_at: more than 5 minutes in the future")

    zone = ev.zone
    abroad = zone != "home" and zone != "russia"
    opts = line.options
    zab = abroad and "zabugorishche" in opts
    tariff = line.tariff
    d = Decision(status="rated")
    x = d.explanation
    x["zone"] = zone

    if ev.kind == "voice":
        _rate_voice(ev, line, tariff, d, x, abroad, zab, catalog)
    elif ev.kind == "sms":
        _rate_sms(ev, line, tariff, d, x, abroad, zab)
    else:
        _rate_data(ev, line, tariff, d, x, abroad, zab)

    # Забугорище: daily fee on the first chargeable outgoing call / outgoing SMS / data session abroad
    chargeable = bool(d.draws) or any(c.amount_kopecks for c in d.charges)
    if zab and chargeable and (ev.kind == "data" or ev.direction == "out"):
        day = moscow_date(started)
        if ("zabugorishche", day) not in line.fee_days:
            zp = catalog.products["zabugorishche"]
            popular = zone in POPULAR_COUNTRIES
            fee = zp.popular_countries_fee_kopecks if popular else zp.fee_kopecks
            d.charges.append(Charge(fee, "daily_fee", "roaming",
                                    f"Забугорище: сутки {day.isoformat()} ({zone})", "zabugorishche", day))
            x["daily_fee"] = {"code": "zabugorishche", "day": day.isoformat(), "kopecks": fee,
                              "popular_country": popular}

    chargeable = bool(d.draws) or any(c.amount_kopecks for c in d.charges)
    if chargeable and line.status != "active":
        return Decision(status="blocked", reason=f"line is {line.status}", units=d.units, paid_by="blocked",
                        explanation={**x, "blocked": f"line is {line.status}"})
    money = sum(c.amount_kopecks for c in d.charges)
    if money:
        floor = -line.credit_limit_kopecks
        if line.balance_kopecks - money < floor:
            reason = (f"insufficient funds: needs {money} kopecks, balance {line.balance_kopecks}, "
                      f"credit limit {line.credit_limit_kopecks}")
            return Decision(status="blocked", reason=reason, units=d.units, paid_by="blocked",
                            explanation={**x, "blocked": reason})
    if d.draws and money:
        d.paid_by = "mixed"
    elif d.draws:
        d.paid_by = "bundle"
    elif money:
        d.paid_by = "money"
    return d


def _family_free(ev: Event, line: LineSnapshot, abroad: bool, zab: bool) -> bool:
    return ev.peer in line.family_peers and (not abroad or zab)


def _rate_voice(ev, line, tariff, d, x, abroad, zab, catalog):
    dur = ev.duration_s
    if dur < 3:
        x["rule"] = "call shorter than 3 s is free"
        return
    minutes = -(-dur // 60)
    d.units = minutes
    x["minutes"] = minutes
    x["rounding"] = f"{dur} s → {minutes} min (per started minute)"
    if _family_free(ev, line, abroad, zab):
        d.paid_by = "family"
        x["rule"] = "call inside the family group is free"
        return
    zone = ev.zone
    if ev.direction == "out":
        if abroad and not zab:
            _money(d, minutes * ABROAD_VOICE_PER_MIN, "roaming", f"Звонок {ev.peer} ({zone}), {minutes} мин")
            x["rule"] = "voice out abroad"
            x["rate_kopecks"] = ABROAD_VOICE_PER_MIN
            return
        if zone == "russia" and "vezde_kak_doma" not in line.options:
            _money(d, minutes * RUSSIA_VOICE_OUT_PER_MIN, "roaming", f"Звонок {ev.peer} (Россия), {minutes} мин")
            x["rule"] = "voice out in national roaming without «Везде как дома»: not from the bundle"
            x["rate_kopecks"] = RUSSIA_VOICE_OUT_PER_MIN
            return
        draws, rest = _draw(line.buckets.get("voice", ()), minutes, ev.started_at)
        d.draws = draws
        x["rule"] = "voice out: minutes bundle first" + (" (Забугорище: as at home)" if zab else "")
        if rest:
            _money(d, rest * tariff.rate_voice_kopecks, "roaming" if abroad else "voice",
                   f"Звонок {ev.peer}, {rest} мин сверх пакета")
            x["over_bundle_minutes"] = rest
            x["rate_kopecks"] = tariff.rate_voice_kopecks
        return
    # incoming
    if zone == "home" or zab:
        x["rule"] = "incoming call is free" + (" (Забугорище: as at home)" if zab else "")
        return
    if zone == "russia":
        if "vezde_kak_doma" in line.options:
            x["rule"] = "incoming in national roaming is free with «Везде как дома»"
            return
        _money(d, minutes * RUSSIA_VOICE_IN_PER_MIN, "roaming", f"Входящий {ev.peer} (Россия), {minutes} мин")
        x["rule"] = "incoming in national roaming"
        x["rate_kopecks"] = RUSSIA_VOICE_IN_PER_MIN
        return
    # abroad, incoming, without Забугорище
    free = 0
    if "nol_bez_granits" in line.options:
        left = NBG_FREE_MINUTES_PER_PERIOD - line.nbg_free_minutes_used
        free = max(0, min(NBG_FREE_MINUTES_PER_CALL, minutes, left))
        d.nbg_free_minutes = free
        x["nol_bez_granits_free_minutes"] = free
        day = moscow_date(ev.started_at)
        if ("nol_bez_granits", day) not in line.fee_days:
            fee = catalog.products["nol_bez_granits"].fee_kopecks
            d.charges.append(Charge(fee, "daily_fee", "roaming", f"Ноль без границ: сутки {day.isoformat()}",
                                    "nol_bez_granits", day))
            x["daily_fee"] = {"code": "nol_bez_granits", "day": day.isoformat(), "kopecks": fee}
    paid = minutes - free
    x["rule"] = "incoming abroad" + (" with «Ноль без границ»" if "nol_bez_granits" in line.options else "")
    x["rate_kopecks"] = ABROAD_VOICE_PER_MIN
    if paid:
        _money(d, paid * ABROAD_VOICE_PER_MIN, "roaming", f"Входящий {ev.peer} ({zone}), {paid} мин")


def _rate_sms(ev, line, tariff, d, x, abroad, zab):
    if ev.direction == "in":
        x["rule"] = "incoming SMS is free"
        return
    d.units = 1
    if abroad and not zab:
        _money(d, ABROAD_SMS, "roaming", f"SMS {ev.peer} ({ev.zone})")
        x["rule"] = "SMS out abroad"
        x["rate_kopecks"] = ABROAD_SMS
        return
    draws, rest = _draw(line.buckets.get("sms", ()), 1, ev.started_at)
    d.draws = draws
    x["rule"] = "SMS out: SMS bundle first" + (" (Забугорище: as at home)" if zab else "")
    if rest:
        _money(d, tariff.rate_sms_kopecks, "roaming" if abroad else "sms", f"SMS {ev.peer}")
        x["rate_kopecks"] = tariff.rate_sms_kopecks


def _rate_data(ev, line, tariff, d, x, abroad, zab):
    nbytes = ev.bytes
    if nbytes == 0:
        x["rule"] = "empty data session"
        return
    kb = -(-nbytes // 1024)
    d.units = kb
    x["kb"] = kb
    x["rounding"] = f"{nbytes} B → {kb} KB (per started KB)"
    if abroad and not zab:
        cost = data_cost(kb, ABROAD_DATA_PER_MB)
        _money(d, cost, "roaming", f"Интернет ({ev.zone}), {kb} КБ")
        x["rule"] = "data abroad: ceil(KB × rate / 1024)"
        x["rate_per_mb_kopecks"] = ABROAD_DATA_PER_MB
        return
    draws, rest = _draw(line.buckets.get("data", ()), kb, ev.started_at)
    d.draws = draws
    x["rule"] = "data: add-ons first, then the tariff bundle" + (" (Забугорище: as at home)" if zab else "")
    if rest:
        cost = data_cost(rest, tariff.rate_mb_kopecks)
        _money(d, cost, "roaming" if abroad else "data", f"Интернет, {rest} КБ сверх пакета")
        x["over_bundle_kb"] = rest
        x["rate_per_mb_kopecks"] = tariff.rate_mb_kopecks
        x["cost_formula"] = f"ceil({rest} × {tariff.rate_mb_kopecks} / 1024) = {cost}"


def _money(d: Decision, amount: int, category: str, description: str) -> None:
    if amount:
        d.charges.append(Charge(amount, "usage", category, description))


def apply(decision: Decision, line: LineSnapshot) -> None:
    """Update the in-memory snapshot with a rated decision (draws, fee days, free minutes).

    Money is applied by the ledger (ledger.post), which also awards bonus points.
    """
    if decision.status != "rated":
        return
    for dr in decision.draws:
        dr.bucket.used += dr.amount
        dr.bucket.dirty = True
    for c in decision.charges:
        if c.fee_code:
            line.fee_days.add((c.fee_code, c.fee_day))
    if decision.nbg_free_minutes:
        line.nbg_free_minutes_used += decision.nbg_free_minutes
    line.dirty = True
