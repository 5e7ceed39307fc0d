"""Pure rating: (event, line snapshot, catalogue, now) -> Decision. DESIGN §4.

Nothing here touches the store. The rater decides what is drawn from which
bucket, what money is charged and why; `apply()` updates the in-memory
snapshot so the next event of the same batch sees the result; charging.py
persists decisions in one transaction with the idempotency check.
"""

from __future__ import annotations

from collections.abc import Mapping
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
from mts_portal.core.clock import MSK, moscow_date, period_of
from mts_portal.core.events import Event
from mts_portal.core.words import country, phone

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

    @property
    def remaining(self) -> int:
        return self.total - self.used


@dataclass(slots=True)
class ParentalLimits:
    """«Родительский контроль» on a child's line: what the parent allows (docs/RATING.md).
    `spent` is the money counted against the monthly limit, by period start (this period and the one
    before it: late events are judged against the month they happened in)."""

    spend_limit_kopecks: int | None  # None: no spending limit
    night_data_off: bool
    spent: dict[datetime, int] = field(default_factory=dict)


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
    # numbers of the line's family group -> since when a call to them is inside the group (None: always)
    family_peers: Mapping[str, datetime | None] = field(default_factory=dict)
    family_since: datetime | None = None  # a member: joined at (earlier usage never draws from the pool)
    nbg_free_minutes_used: int = 0  # «Ноль без границ» free minutes of the current period
    nbg_prev_free_minutes_used: int = 0  # ... and of the previous one (late events reach 7 days back)
    period_start: datetime | None = None  # the current period's start (None: treat every event as current)
    connected_at: datetime | None = None  # usage before the line existed is not the line's
    fee_days: set[tuple[str, date]] = field(default_factory=set)
    charged_total_kopecks: int = 0
    bonus_points: int = 0
    low_balance_notified: bool = False
    version: int = 0
    base_credit_kopecks: int = 0
    promises: list[tuple[int, datetime]] = field(default_factory=list)  # (amount, due_at) of promised payments
    cacheable: bool = True
    prepaid: dict[str, datetime] = field(default_factory=dict)  # option -> paid until (e.g. with bonus points)
    parental: ParentalLimits | None = None  # a child's line under «Родительский контроль»

    def credit_at(self, now: datetime) -> int:
        """Credit limit at `now`: the option's base plus promised payments not yet due."""
        return self.base_credit_kopecks + sum(a for a, due in self.promises if due > now)


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
    description: str  # Russian
    fee_code: str | None = None
    fee_day: date | None = None
    description_en: str = ""


@dataclass(slots=True)
class Decision:
    status: str  # rated | blocked | rejected
    reason: str | None = None
    units: int = 0
    draws: list[Draw] = field(default_factory=list)
    charges: list[Charge] = field(default_factory=list)
    nbg_free_minutes: int = 0
    nbg_previous_period: bool = False  # the free minutes count against the previous period's allowance
    paid_by: str = "free"
    explanation: dict = field(default_factory=dict)
    parental_period: datetime | None = None  # the period whose parental spending this event's money counts in

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
    """Rate one event for one line. The explanation is data (a rule code and the numbers used),
    rendered in either language by the detail view."""
    started = ev.started_at
    if started < now - LATE_LIMIT:
        return _rejected("started_at: older than 7 days (late event)")
    if started > now + FUTURE_LIMIT:
        return _rejected("started_at: more than 5 minutes in the future")
    if line.connected_at is not None and started < line.connected_at:
        return _rejected("started_at: before the line was connected")

    zone = ev.zone
    abroad = zone != "home" and zone != "russia"
    zab = abroad and "zabugorishche" in line.options
    d = Decision(status="rated")
    kind = ev.kind
    if kind == "data":
        _rate_data(ev, line, d, abroad, zab)
    elif kind == "voice":
        _rate_voice(ev, line, d, abroad, zab, catalog)
    else:
        _rate_sms(ev, line, d, abroad, zab)
    x = d.explanation
    x["zone"] = zone
    charges = d.charges

    # Забугорище: daily fee on the first chargeable outgoing call / outgoing SMS / data session abroad
    if zab and (d.draws or charges) and (kind == "data" or ev.direction == "out"):
        day = moscow_date(started)
        if ("zabugorishche", day) not in line.fee_days and not _prepaid(line, "zabugorishche", started):
            zp = catalog.products["zabugorishche"]
            popular = zone in POPULAR_COUNTRIES
            fee = zp.popular_countries_fee_kopecks if popular else zp.fee_kopecks
            ru, en = country(zone, "ru"), country(zone, "en")
            when = day.strftime("%d.%m.%Y")
            charges.append(Charge(fee, "daily_fee", "roaming", f"«Забугорище»: сутки {when}, {ru}",
                                  "zabugorishche", day, f"Zabugorishche: day {when}, {en}"))
            x["fee"] = {"code": "zabugorishche", "day": day.isoformat(), "kopecks": fee, "popular": popular}

    if not d.draws and not charges:
        return d  # free: never blocked
    if line.status != "active":
        x["blocked"] = line.status
        return Decision(status="blocked", reason=f"line is {line.status}", units=d.units, paid_by="blocked",
                        explanation=x)
    money = 0
    for c in charges:
        money += c.amount_kopecks
    if line.parental is not None:
        refused = _parental(ev, line.parental, d, money)
        if refused is not None:
            return refused
    if money:
        if line.balance_kopecks - money < -line.credit_limit_kopecks:
            x["blocked"] = "funds"
            x["needed"] = money
            return Decision(status="blocked", units=d.units, paid_by="blocked", explanation=x,
                            reason=(f"insufficient funds: needs {money} kopecks, balance {line.balance_kopecks}, "
                                    f"credit limit {line.credit_limit_kopecks}"))
        d.paid_by = "mixed" if d.draws else "money"
    else:
        d.paid_by = "bundle"
    return d


NIGHT_FROM, NIGHT_TO = 23, 7  # «Родительский контроль»: night-time data off, Moscow time [23:00, 07:00)


def is_night(at: datetime) -> bool:
    hour = at.astimezone(MSK).hour
    return hour >= NIGHT_FROM or hour < NIGHT_TO


def _parental(ev: Event, p: ParentalLimits, d: Decision, money: int) -> Decision | None:
    """A chargeable event of a child's line refused by the parent's limits, or None (and then the event's
    money is counted in its period's parental spending when it is rated)."""
    x = d.explanation
    if p.night_data_off and ev.kind == "data" and is_night(ev.started_at):
        x["blocked"] = "parental_night"
        return Decision(status="blocked", units=d.units, paid_by="blocked", explanation=x,
                        reason="parental control: mobile data is off from 23:00 to 07:00 Moscow time")
    if money and p.spend_limit_kopecks is not None:
        start = period_of(ev.started_at).start
        spent = p.spent.get(start, 0)
        if spent + money > p.spend_limit_kopecks:
            x["blocked"] = "parental_limit"
            x["limit"] = p.spend_limit_kopecks
            x["spent"] = spent
            x["needed"] = money
            return Decision(status="blocked", units=d.units, paid_by="blocked", explanation=x,
                            reason=(f"parental control: monthly spending limit of {p.spend_limit_kopecks} kopecks "
                                    f"(spent {spent}, this event {money})"))
        d.parental_period = start
    return None


def _in_group(line: LineSnapshot, peer: str, at: datetime) -> bool:
    since = line.family_peers[peer]
    return since is None or at >= since


def _buckets(line: LineSnapshot, kind: str, at: datetime) -> list[BucketState]:
    """The buckets an event at `at` may draw from: a member's usage from before joining never draws
    from the owner's pool (a late event of that time is rated as the line's own)."""
    buckets = line.buckets[kind]
    if line.family_since is not None and at < line.family_since:
        return [b for b in buckets if b.line_id == line.id]
    return buckets


def _prepaid(line: LineSnapshot, code: str, at: datetime) -> bool:
    until = line.prepaid.get(code)
    return until is not None and at < until


def _rate_voice(ev, line, d, abroad, zab, catalog):
    dur = ev.duration_s
    x = d.explanation
    x["seconds"] = dur
    if dur < 3:
        x["rule"] = "voice_short"
        return
    minutes = -(-dur // 60)
    d.units = minutes
    zone = ev.zone
    if ev.direction == "out":
        # calls to the family group are free (DESIGN §4 "voice out, home/russia"; abroad only where
        # «Забугорище» makes calls as at home); incoming calls follow the voice-in rules below
        if ev.peer in line.family_peers and (not abroad or zab) and _in_group(line, ev.peer, ev.started_at):
            d.paid_by = "family"
            x["rule"] = "voice_family"
            return
        if abroad and not zab:
            x["rule"] = "voice_out_abroad"
            _money(d, minutes, ABROAD_VOICE_PER_MIN, "roaming",
                   f"Звонок на {phone(ev.peer)}, {country(zone, 'ru')}, {minutes} мин",
                   f"Call to {phone(ev.peer)}, {country(zone, 'en')}, {minutes} min")
            return
        if zone == "russia" and "vezde_kak_doma" not in line.options:
            x["rule"] = "voice_out_russia"
            _money(d, minutes, RUSSIA_VOICE_OUT_PER_MIN, "roaming",
                   f"Звонок на {phone(ev.peer)}, роуминг по России, {minutes} мин",
                   f"Call to {phone(ev.peer)}, roaming in Russia, {minutes} min")
            return
        x["rule"] = "voice_out_zab" if zab else "voice_out"
        draws, rest = _draw(_buckets(line, "voice", ev.started_at), minutes, ev.started_at)
        d.draws = draws
        if rest:
            _money(d, rest, line.tariff.rate_voice_kopecks, "roaming" if abroad else "voice",
                   f"Звонок на {phone(ev.peer)}, {rest} мин сверх пакета",
                   f"Call to {phone(ev.peer)}, {rest} min over the bundle")
        return
    # incoming
    if zone == "home" or zab:
        x["rule"] = "voice_in_zab" if zab else "voice_in_home"
        return
    if zone == "russia":
        if "vezde_kak_doma" in line.options:
            x["rule"] = "voice_in_russia_vkd"
            return
        x["rule"] = "voice_in_russia"
        _money(d, minutes, RUSSIA_VOICE_IN_PER_MIN, "roaming",
               f"Входящий от {phone(ev.peer)}, роуминг по России, {minutes} мин",
               f"Incoming call from {phone(ev.peer)}, roaming in Russia, {minutes} min")
        return
    # abroad, incoming, without Забугорище
    free = 0
    if "nol_bez_granits" in line.options:
        x["rule"] = "voice_in_abroad_nbg"
        previous = line.period_start is not None and ev.started_at < line.period_start
        used = line.nbg_prev_free_minutes_used if previous else line.nbg_free_minutes_used
        left = NBG_FREE_MINUTES_PER_PERIOD - used
        free = max(0, min(NBG_FREE_MINUTES_PER_CALL, minutes, left))
        d.nbg_free_minutes = free
        d.nbg_previous_period = previous
        x["free_min"] = free
        day = moscow_date(ev.started_at)
        if ("nol_bez_granits", day) not in line.fee_days and not _prepaid(line, "nol_bez_granits", ev.started_at):
            fee = catalog.products["nol_bez_granits"].fee_kopecks
            when = day.strftime("%d.%m.%Y")
            d.charges.append(Charge(fee, "daily_fee", "roaming", f"«Ноль без границ»: сутки {when}",
                                    "nol_bez_granits", day, f"Zero without borders: day {when}"))
            x["fee"] = {"code": "nol_bez_granits", "day": day.isoformat(), "kopecks": fee}
    else:
        x["rule"] = "voice_in_abroad"
    paid = minutes - free
    if paid:
        _money(d, paid, ABROAD_VOICE_PER_MIN, "roaming",
               f"Входящий от {phone(ev.peer)}, {country(zone, 'ru')}, {paid} мин",
               f"Incoming call from {phone(ev.peer)}, {country(zone, 'en')}, {paid} min")
    else:
        x["rate"] = ABROAD_VOICE_PER_MIN


def _rate_sms(ev, line, d, abroad, zab):
    x = d.explanation
    if ev.direction == "in":
        x["rule"] = "sms_in"
        return
    d.units = 1
    if abroad and not zab:
        x["rule"] = "sms_out_abroad"
        _money(d, 1, ABROAD_SMS, "roaming", f"SMS на {phone(ev.peer)}, {country(ev.zone, 'ru')}",
               f"SMS to {phone(ev.peer)}, {country(ev.zone, 'en')}")
        return
    x["rule"] = "sms_out_zab" if zab else "sms_out"
    draws, rest = _draw(_buckets(line, "sms", ev.started_at), 1, ev.started_at)
    d.draws = draws
    if rest:
        _money(d, 1, line.tariff.rate_sms_kopecks, "roaming" if abroad else "sms", f"SMS на {phone(ev.peer)}",
               f"SMS to {phone(ev.peer)}")


def _rate_data(ev, line, d, abroad, zab):
    nbytes = ev.bytes
    x = d.explanation
    x["bytes"] = nbytes
    if nbytes == 0:
        x["rule"] = "data_empty"
        return
    kb = -(-nbytes // 1024)
    d.units = kb
    if abroad and not zab:
        x["rule"] = "data_abroad"
        x["rate"] = ABROAD_DATA_PER_MB
        x["paid"] = kb
        cost = data_cost(kb, ABROAD_DATA_PER_MB)
        d.charges.append(Charge(cost, "usage", "roaming", f"Интернет, {country(ev.zone, 'ru')}, {kb} КБ",
                                description_en=f"Data, {country(ev.zone, 'en')}, {kb} KB"))
        return
    x["rule"] = "data_zab" if zab else "data"
    draws, rest = _draw(_buckets(line, "data", ev.started_at), kb, ev.started_at)
    d.draws = draws
    if rest:
        rate_mb = line.tariff.rate_mb_kopecks
        x["rate"] = rate_mb
        x["paid"] = rest
        d.charges.append(Charge(data_cost(rest, rate_mb), "usage", "roaming" if abroad else "data",
                                f"Интернет сверх пакета, {rest} КБ", description_en=f"Data over the bundle, {rest} KB"))


def _money(d: Decision, units: int, rate_kopecks: int, category: str, description: str,
           description_en: str) -> None:
    """Charge `units` at `rate_kopecks` each; the explanation records both."""
    d.explanation["rate"] = rate_kopecks
    d.explanation["paid"] = units
    if units and rate_kopecks:
        d.charges.append(Charge(units * rate_kopecks, "usage", category, description, description_en=description_en))


def apply(decision: Decision, line: LineSnapshot) -> None:
    """Update the in-memory snapshot with a rated decision (draws, fee days, free minutes).

    Money is applied by the ledger (ledger.post), which also awards bonus points.
    """
    if decision.status != "rated":
        return
    for dr in decision.draws:
        dr.bucket.used += dr.amount
    for c in decision.charges:
        if c.fee_code:
            line.fee_days.add((c.fee_code, c.fee_day))
    if decision.parental_period is not None and line.parental is not None:
        spent = line.parental.spent
        spent[decision.parental_period] = spent.get(decision.parental_period, 0) + decision.charged_kopecks
    if decision.nbg_free_minutes:
        if decision.nbg_previous_period:
            line.nbg_prev_free_minutes_used += decision.nbg_free_minutes
        else:
            line.nbg_free_minutes_used += decision.nbg_free_minutes
