"""Hand-computed rating cases, one or more per rule of DESIGN §4.

Each case builds a line snapshot, rates events in order (applying each decision,
as charging does) and checks the exact kopecks, what was drawn and the status.
Amounts in the comments are the hand computation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from mts_portal.core.catalog import default_catalog
from mts_portal.core.events import validate
from mts_portal.core.ledger import post
from mts_portal.core.rating import BucketState, LineSnapshot, ParentalLimits, apply, rate

CAT = default_catalog()
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # 15:00 Moscow
P_START = datetime(2026, 10, 31, 21, 0, tzinfo=UTC)
P_END = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
FAMILY = "79160000099"


@dataclass
class Line:
    tariff: str = "smart"
    balance: int = 100_000
    options: tuple[str, ...] = ()
    voice: int | None = None  # remaining minutes in the tariff bundle (None: the tariff's full prorated bundle)
    sms: int | None = None
    data: int | None = None
    addons: list[tuple[int, datetime]] = field(default_factory=list)  # (KB, valid_until)
    status: str = "active"
    credit: int = 0
    nbg_used: int = 0
    family: bool = False
    parental: tuple[int | None, bool] | None = None  # a child's line: (monthly spending limit, night data off)
    spent: int = 0  # counted against the parental limit this period already

    def snapshot(self) -> LineSnapshot:
        t = CAT.tariffs[self.tariff]
        buckets = {"voice": [], "sms": [], "data": []}
        for n, (kb, until) in enumerate(self.addons):
            buckets["data"].append(BucketState(100 + n, 1, "data", "KB", kb, 0, NOW - timedelta(days=1), until, 0,
                                               "addon"))
        buckets["data"].sort(key=lambda b: b.valid_until)
        for i, (kind, unit, left) in enumerate((("voice", "min", self.voice), ("sms", "sms", self.sms),
                                                ("data", "KB", self.data))):
            total = t.bundle(kind)
            if total == 0 and left is None:
                continue
            remaining = total if left is None else left
            total = max(total, remaining)
            buckets[kind].append(BucketState(i + 1, 1, kind, unit, total, total - remaining, P_START, P_END, 1,
                                             "tariff"))
        return LineSnapshot(id=1, msisdn="79161234567", status=self.status, tariff=t, balance_kopecks=self.balance,
                            credit_limit_kopecks=self.credit, options=frozenset(self.options), buckets=buckets,
                            family_peers={FAMILY: None} if self.family else {},
                            nbg_free_minutes_used=self.nbg_used,
                            parental=ParentalLimits(*self.parental, {P_START: self.spent}) if self.parental else None)


_n = iter(range(10**6))


def E(kind: str, *, at: datetime = NOW - timedelta(minutes=10), zone: str = "home", direction: str = "out",
      peer: str = "79031112233", dur: int | None = None, nbytes: int | None = None) -> dict:
    e = {"event_id": f"t{next(_n)}", "msisdn": "79161234567", "kind": kind, "started_at": at.isoformat(),
         "zone": zone}
    if kind != "data":
        e["direction"] = direction
        e["peer"] = peer
    if kind == "voice":
        e["duration_s"] = dur
    if kind == "data":
        e["bytes"] = nbytes
    return e


def V(dur, **kw):
    return E("voice", dur=dur, **kw)


def S(**kw):
    return E("sms", **kw)


def D(nbytes, **kw):
    return E("data", nbytes=nbytes, **kw)


MSK_2359 = datetime(2026, 11, 21, 20, 59, tzinfo=UTC)  # 23:59 on 21 Nov in Moscow
MSK_0001 = datetime(2026, 11, 21, 21, 1, tzinfo=UTC)  # 00:01 on 22 Nov in Moscow
LATE_OK = NOW - timedelta(days=7) + timedelta(seconds=1)
LATE_BAD = NOW - timedelta(days=7) - timedelta(seconds=1)
ADDON_SOON = NOW + timedelta(hours=5)
ADDON_LATER = NOW + timedelta(days=5)
NIGHT_23 = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)  # 23:00 on 21 Nov in Moscow: night starts
DAWN_07 = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)  # 07:00 on 22 Nov in Moscow: night is over

# (id, line, events, expected per event: (status, charged_kopecks, {bucket_id: amount drawn}))
CASES = [
    # ---- voice, every zone: under 3 s free, per started minute
    ("voice-2s-free", Line(), [V(2)], [("rated", 0, {})]),
    ("voice-3s-one-minute", Line(), [V(3)], [("rated", 0, {1: 1})]),
    ("voice-60s-one-minute", Line(), [V(60)], [("rated", 0, {1: 1})]),
    ("voice-61s-two-minutes", Line(), [V(61)], [("rated", 0, {1: 2})]),
    ("voice-121s-three-minutes", Line(), [V(121)], [("rated", 0, {1: 3})]),
    ("voice-abroad-2s-free", Line(), [V(2, zone="TR")], [("rated", 0, {})]),
    # ---- voice out, home: bundle first, the rest at the tariff rate
    ("voice-bundle-partly", Line(voice=1), [V(150)], [("rated", 2 * 200, {1: 1})]),  # 3 min: 1 drawn, 2 × 2.00
    ("voice-minimum-rate", Line("minimum"), [V(60)], [("rated", 250, {})]),
    ("voice-tarifische-over-bundle", Line("tarifische", voice=0), [V(180)], [("rated", 3 * 150, {})]),
    ("voice-bundle-then-money-next-call", Line(voice=2), [V(120), V(60)], [("rated", 0, {1: 2}), ("rated", 200, {})]),
    # ---- voice in
    ("voice-in-home-free", Line("minimum", balance=0), [V(600, direction="in")], [("rated", 0, {})]),
    # ---- national roaming
    ("voice-out-russia-no-vkd", Line(), [V(61, zone="russia")], [("rated", 2 * 500, {})]),
    ("voice-out-russia-vkd-bundle", Line(options=("vezde_kak_doma",)), [V(61, zone="russia")],
     [("rated", 0, {1: 2})]),
    ("voice-in-russia-no-vkd", Line(), [V(61, zone="russia", direction="in")], [("rated", 2 * 300, {})]),
    ("voice-in-russia-vkd-free", Line(options=("vezde_kak_doma",)), [V(61, zone="russia", direction="in")],
     [("rated", 0, {})]),
    # ---- abroad without options
    ("voice-out-abroad", Line(), [V(61, zone="TR")], [("rated", 2 * 4900, {})]),
    ("voice-in-abroad", Line(), [V(61, zone="US", direction="in")], [("rated", 2 * 4900, {})]),
    ("sms-out-abroad", Line(), [S(zone="FR")], [("rated", 1900, {})]),
    ("data-abroad-1mb", Line(), [D(1024 * 1024, zone="TR")], [("rated", 15000, {})]),
    ("data-abroad-1kb-rounds-up", Line(), [D(1, zone="TR")], [("rated", 15, {})]),  # ceil(15000/1024) = 15
    # ---- «Ноль без границ»: 10 free minutes per incoming call, 200 a period, 60 ₽ per day with an incoming call
    ("nbg-first-call-fee-only", Line(options=("nol_bez_granits",)), [V(61, zone="TR", direction="in")],
     [("rated", 6000, {})]),
    ("nbg-second-call-15min", Line(options=("nol_bez_granits",)),
     [V(61, zone="TR", direction="in"), V(900, zone="TR", direction="in")],
     [("rated", 6000, {}), ("rated", 5 * 4900, {})]),  # 15 min: 10 free, 5 × 49 ₽
    ("nbg-period-cap", Line(options=("nol_bez_granits",), nbg_used=195), [V(600, zone="TR", direction="in")],
     [("rated", 6000 + 5 * 4900, {})]),  # 10 min: only 5 free left this period
    ("nbg-cap-exhausted", Line(options=("nol_bez_granits",), nbg_used=200), [V(60, zone="TR", direction="in")],
     [("rated", 6000 + 4900, {})]),
    ("nbg-fee-each-moscow-day", Line(options=("nol_bez_granits",)),
     [V(60, zone="TR", direction="in", at=MSK_2359), V(60, zone="TR", direction="in", at=MSK_0001)],
     [("rated", 6000, {}), ("rated", 6000, {})]),
    ("nbg-outgoing-no-fee", Line(options=("nol_bez_granits",)), [V(60, zone="TR")], [("rated", 4900, {})]),
    # ---- «Забугорище»: home bundles abroad + a daily fee on the first chargeable out/SMS/data event
    ("zab-popular-fee", Line(options=("zabugorishche",)), [V(61, zone="TR")], [("rated", 35000, {1: 2})]),
    ("zab-other-country-fee", Line(options=("zabugorishche",)), [V(61, zone="US")], [("rated", 49000, {1: 2})]),
    ("zab-once-a-day", Line(options=("zabugorishche",)), [V(61, zone="TR"), D(2048, zone="TR")],
     [("rated", 35000, {1: 2}), ("rated", 0, {3: 2})]),
    ("zab-new-moscow-day", Line(options=("zabugorishche",)), [S(zone="GE", at=MSK_2359), S(zone="GE", at=MSK_0001)],
     [("rated", 35000, {2: 1}), ("rated", 35000, {2: 1})]),
    ("zab-incoming-free-no-fee", Line(options=("zabugorishche",)), [V(300, zone="TR", direction="in")],
     [("rated", 0, {})]),
    ("zab-short-call-no-fee", Line(options=("zabugorishche",)), [V(2, zone="TR")], [("rated", 0, {})]),
    ("zab-over-bundle-tariff-rate", Line(options=("zabugorishche",), voice=1), [V(120, zone="TR")],
     [("rated", 35000 + 200, {1: 1})]),
    ("zab-and-nbg-incoming-free", Line(options=("zabugorishche", "nol_bez_granits")),
     [V(300, zone="TR", direction="in")], [("rated", 0, {})]),
    # ---- family calls
    ("family-call-free", Line(family=True), [V(300, peer=FAMILY)], [("rated", 0, {})]),
    ("family-call-out-russia-free", Line(family=True), [V(300, peer=FAMILY, zone="russia")], [("rated", 0, {})]),
    # the family rule is one of voice out; an incoming call in russia without «Везде как дома» is 3 ₽/min
    ("family-call-in-russia-charged", Line(family=True), [V(300, peer=FAMILY, zone="russia", direction="in")],
     [("rated", 5 * 300, {})]),
    ("family-call-abroad-zab-free", Line(family=True, options=("zabugorishche",)), [V(300, peer=FAMILY, zone="TR")],
     [("rated", 0, {})]),
    ("family-call-abroad-charged", Line(family=True), [V(60, peer=FAMILY, zone="TR")], [("rated", 4900, {})]),
    ("family-peer-8-prefix", Line(family=True), [V(60, peer="8" + FAMILY[1:])], [("rated", 0, {})]),
    # ---- SMS
    ("sms-bundle", Line(), [S()], [("rated", 0, {2: 1})]),
    ("sms-minimum-rate", Line("minimum"), [S()], [("rated", 200, {})]),
    ("sms-bundle-exhausted", Line(sms=0), [S()], [("rated", 150, {})]),
    ("sms-in-free", Line("minimum", balance=0), [S(direction="in")], [("rated", 0, {})]),
    ("sms-russia-from-bundle", Line(), [S(zone="russia")], [("rated", 0, {2: 1})]),
    # ---- data: KB = ceil(bytes/1024), add-ons first, overage ceil(KB × rate / 1024)
    ("data-zero-bytes", Line(), [D(0)], [("rated", 0, {})]),
    ("data-1-byte-1kb", Line(), [D(1)], [("rated", 0, {3: 1})]),
    ("data-1025-bytes-2kb", Line(), [D(1025)], [("rated", 0, {3: 2})]),
    ("data-minimum-1kb", Line("minimum"), [D(1024)], [("rated", 1, {})]),  # ceil(500/1024) = 1
    ("data-minimum-1mb", Line("minimum"), [D(1024 * 1024)], [("rated", 500, {})]),
    ("data-minimum-1025kb", Line("minimum"), [D(1025 * 1024)], [("rated", 501, {})]),  # ceil(512500/1024)
    ("data-addon-first", Line(data=1000, addons=[(100, ADDON_LATER)]), [D(150 * 1024)],
     [("rated", 0, {100: 100, 3: 50})]),
    ("data-sooner-addon-first", Line(addons=[(50, ADDON_LATER), (50, ADDON_SOON)]), [D(60 * 1024)],
     [("rated", 0, {101: 50, 100: 10})]),
    ("data-over-bundle", Line(data=10), [D(20 * 1024)], [("rated", 5, {3: 10})]),  # ceil(10 × 500/1024) = 5
    ("data-russia-bundle", Line(), [D(2048, zone="russia")], [("rated", 0, {3: 2})]),
    ("data-expired-addon-skipped", Line(data=100, addons=[(100, NOW - timedelta(hours=1))]), [D(10 * 1024)],
     [("rated", 0, {3: 10})]),
    # ---- credit limit and status
    ("blocked-no-money", Line("minimum", balance=100), [V(60)], [("blocked", 0, {})]),
    ("full-trust-below-zero", Line("minimum", balance=0, options=("full_trust",), credit=30000), [V(60)],
     [("rated", 250, {})]),
    ("full-trust-limit-reached", Line("minimum", balance=-29900, options=("full_trust",), credit=30000), [V(60)],
     [("blocked", 0, {})]),
    ("full-trust-exact-limit", Line("minimum", balance=-29750, options=("full_trust",), credit=30000), [V(60)],
     [("rated", 250, {})]),
    ("blocked-draws-nothing", Line("smart", balance=0, voice=1), [V(180)], [("blocked", 0, {})]),
    ("blocked-then-free-call", Line("minimum", balance=0), [V(60), V(60, direction="in")],
     [("blocked", 0, {}), ("rated", 0, {})]),
    ("zab-fee-blocked-not-consumed", Line(balance=1000, options=("zabugorishche",)),
     [V(61, zone="TR"), V(61, zone="TR", direction="in")], [("blocked", 0, {}), ("rated", 0, {})]),
    ("suspended-bundle-call-blocked", Line(status="suspended"), [V(60)], [("blocked", 0, {})]),
    ("suspended-incoming-rated", Line(status="suspended"), [V(60, direction="in")], [("rated", 0, {})]),
    ("lost-data-blocked", Line(status="lost"), [D(100)], [("blocked", 0, {})]),
    ("blocked-line-sms-blocked", Line(status="blocked"), [S()], [("blocked", 0, {})]),
    # ---- «Родительский контроль» on a child's line (docs/RATING.md): night-time data off, monthly spending limit
    ("parental-night-data-blocked", Line(parental=(None, True)), [D(1024, at=NIGHT_23)], [("blocked", 0, {})]),
    ("parental-night-0659-blocked", Line(parental=(None, True)), [D(1024, at=DAWN_07 - timedelta(seconds=1))],
     [("blocked", 0, {})]),
    ("parental-night-0700-rated", Line(parental=(None, True)), [D(1024, at=DAWN_07)], [("rated", 0, {3: 1})]),
    ("parental-night-2259-rated", Line(parental=(None, True)), [D(1024, at=NIGHT_23 - timedelta(seconds=1))],
     [("rated", 0, {3: 1})]),
    ("parental-night-calls-rated", Line(parental=(None, True)), [V(60, at=NIGHT_23), S(at=NIGHT_23)],
     [("rated", 0, {1: 1}), ("rated", 0, {2: 1})]),
    ("parental-night-empty-session-free", Line(parental=(None, True)), [D(0, at=NIGHT_23)], [("rated", 0, {})]),
    ("parental-night-not-asked", Line(parental=(None, False)), [D(1024, at=NIGHT_23)], [("rated", 0, {3: 1})]),
    ("parental-limit-exact-then-blocked", Line("minimum", parental=(500, False)), [V(60), V(60), V(60)],
     [("rated", 250, {}), ("rated", 250, {}), ("blocked", 0, {})]),  # 2,50 + 2,50 = the 5 ₽ limit exactly
    ("parental-limit-bundles-not-counted", Line(parental=(0, False)), [V(60), S(), D(1024)],
     [("rated", 0, {1: 1}), ("rated", 0, {2: 1}), ("rated", 0, {3: 1})]),
    ("parental-limit-zero-no-money", Line("minimum", parental=(0, False)), [S(), V(2)],
     [("blocked", 0, {}), ("rated", 0, {})]),  # a call under 3 s is free: never refused
    ("parental-limit-spent-earlier", Line("minimum", parental=(1000, False), spent=900), [V(60), D(1024)],
     [("blocked", 0, {}), ("rated", 1, {})]),  # 9 + 2,50 > 10 ₽ refused; 0,01 ₽ of data fits
    ("parental-limit-daily-fee-counts", Line(options=("zabugorishche",), parental=(30_000, False)),
     [V(61, zone="TR"), V(61, zone="TR", direction="in")], [("blocked", 0, {}), ("rated", 0, {})]),  # 350 ₽ > 300
    ("parental-limit-mixed-bundle-and-money", Line(voice=1, parental=(300, False)), [V(150)],
     [("blocked", 0, {})]),  # 1 min from the bundle + 2 × 2 ₽ = 4 ₽ > 3 ₽: nothing drawn either
    ("parental-incoming-never-refused", Line("minimum", balance=0, parental=(0, True)),
     [V(600, direction="in", at=NIGHT_23)], [("rated", 0, {})]),
    ("parental-limit-ok-funds-refuse", Line("minimum", balance=100, parental=(100_000, False)), [V(60)],
     [("blocked", 0, {})]),
    # ---- late and future events
    ("late-rejected", Line(), [V(60, at=LATE_BAD)], [("rejected", 0, {})]),
    ("late-edge-rated", Line(), [V(60, at=LATE_OK)], [("rated", 0, {1: 1})]),
    ("future-rejected", Line(), [V(60, at=NOW + timedelta(minutes=5, seconds=1))], [("rejected", 0, {})]),
    ("future-edge-rated", Line(), [V(60, at=NOW + timedelta(minutes=5))], [("rated", 0, {1: 1})]),
]


@pytest.mark.parametrize("line,events,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rating_case(line: Line, events: list[dict], expected: list[tuple]):
    snap = line.snapshot()
    assert len(events) == len(expected)
    for raw, (status, charged, drawn) in zip(events, expected, strict=True):
        ev = validate(raw)
        assert not isinstance(ev, str), ev
        d = rate(ev, snap, CAT, NOW)
        assert d.status == status, (d.status, d.reason, d.explanation)
        assert d.charged_kopecks == charged, (d.charges, d.explanation)
        assert {dr.bucket.id: dr.amount for dr in d.draws} == drawn if status == "rated" else d.drawn_json() == []
        apply(d, snap)
        for c in d.charges if d.status == "rated" else []:
            post(snap, -c.amount_kopecks, kind=c.kind, category=c.category, cause_type="event", cause_ref=raw["event_id"],
                 description=c.description, at=ev.started_at)


def test_at_least_forty_cases():
    assert len(CASES) >= 40


def test_bonus_points_one_per_full_five_roubles_without_rounding_loss():
    snap = Line("minimum", balance=10_000).snapshot()
    earned = []
    for amount in (499, 1, 1250, 250, 4999, 1):
        p = post(snap, -amount, kind="usage", category="voice", cause_type="event", cause_ref="x", description="x",
                 at=NOW)
        earned.append(p.bonus["points"] if p.bonus else 0)
    # cumulative 499, 500, 1750, 2000, 6999, 7000 kopecks -> 0, 1, 3, 4, 13, 14 points
    assert earned == [0, 1, 2, 1, 9, 1]
    assert snap.bonus_points == 14 and snap.balance_kopecks == 10_000 - 7_000


def test_topups_earn_no_points():
    snap = Line("minimum", balance=0).snapshot()
    p = post(snap, 100_000, kind="topup", category="payment", cause_type="payment", cause_ref="k", description="t",
             at=NOW)
    assert p.bonus is None and snap.bonus_points == 0


def test_parental_refusals_say_why():
    snap = Line("minimum", parental=(500, True), spent=400).snapshot()
    d = rate(validate(D(1024, at=NIGHT_23)), snap, CAT, NOW)
    assert d.explanation["blocked"] == "parental_night" and "23:00 to 07:00" in d.reason
    d = rate(validate(V(60)), snap, CAT, NOW)
    assert d.explanation["blocked"] == "parental_limit" and (d.explanation["limit"], d.explanation["spent"]) == (500, 400)
    assert d.reason == "parental control: monthly spending limit of 500 kopecks (spent 400, this event 250)"
    d = rate(validate(V(3)), snap, CAT, NOW)  # 1 minute: 2,50 ₽ > 1 ₽ left
    assert d.status == "blocked"
    d = rate(validate(D(10 * 1024)), snap, CAT, NOW)  # 10 KB: 0,05 ₽ fits
    assert d.status == "rated"
    apply(d, snap)
    assert snap.parental.spent[P_START] == 405  # what the rater counts next


def test_explanations_are_data():
    snap = Line(voice=1).snapshot()
    d = rate(validate(V(150)), snap, CAT, NOW)
    assert d.explanation == {"seconds": 150, "rule": "voice_out", "rate": 200, "paid": 2, "zone": "home"}
    d = rate(validate(D(1025, zone="TR")), snap, CAT, NOW)
    assert d.explanation == {"bytes": 1025, "rule": "data_abroad", "rate": 15000, "paid": 2, "zone": "TR"}
