"""SQLModel tables of the domain store.

Conventions: money in integer kopecks (signed in the ledger: + credit, - debit),
data in KB, voice in minutes; datetimes are stored as naive UTC and come back
as aware UTC (UTCDateTime). The store is created by alembic migrations only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import BigInteger, DateTime, Index, Text, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, naive UTC in the store, aware UTC out."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text (e.g. from a textual query)
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_field(*, nullable: bool = False, index: bool = False, default=None):
    kwargs = {"sa_type": UTCDateTime, "nullable": nullable, "index": index}
    if default is not None or nullable:
        kwargs["default"] = default
    return Field(**kwargs)


def _big(**kw):
    return Field(sa_type=BigInteger, **kw)


# ---------------------------------------------------------------- catalogue


class Tariff(SQLModel, table=True):
    __tablename__ = "tariffs"

    code: str = Field(primary_key=True, max_length=32)
    name_ru: str
    name_en: str
    fee_kopecks: int = _big(default=0)
    minutes: int = 0
    sms: int = 0
    data_kb: int = _big(default=0)
    rate_voice_kopecks: int = 0  # per started minute out of bundle
    rate_sms_kopecks: int = 0
    rate_mb_kopecks: int = 0
    public: bool = True  # offered in the catalogue / switchable
    family_owner: bool = False
    family_member: bool = False
    sort: int = 0
    description_ru: str = ""
    description_en: str = ""


class Product(SQLModel, table=True):
    """Services, options, roaming options, internet add-ons, content subscriptions."""

    __tablename__ = "products"

    code: str = Field(primary_key=True, max_length=32)
    category: str = Field(max_length=16)  # service | content | roaming | addon
    name_ru: str
    name_en: str
    fee_kopecks: int = _big(default=0)
    fee_unit: str = Field(default="month", max_length=12)  # month | day | once | usage_day
    data_kb: int = _big(default=0)  # add-ons
    validity_hours: int | None = None  # add-ons: None = to the end of the period
    bonus_price_points: int | None = None
    popular_countries_fee_kopecks: int | None = None  # Забугорище: 350 ₽ in popular countries
    public: bool = True
    sort: int = 0
    description_ru: str = ""
    description_en: str = ""


# ---------------------------------------------------------------- subscribers


class Account(SQLModel, table=True):
    __tablename__ = "accounts"

    id: int | None = Field(default=None, primary_key=True)
    holder_name: str
    email: str | None = None
    lang: str = Field(default="ru", max_length=2)
    created_at: datetime = utc_field()


class Line(SQLModel, table=True):
    __tablename__ = "lines"

    id: int | None = Field(default=None, primary_key=True)
    msisdn: str = Field(max_length=11, unique=True, index=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    tariff_code: str = Field(foreign_key="tariffs.code", max_length=32)
    # derived from the flags below by billing.recompute_status(): lost > blocked > suspended > active
    status: str = Field(default="active", max_length=12)
    is_lost: bool = False
    is_blocked: bool = False  # voluntary block
    balance_kopecks: int = _big(default=0)
    fees_owed_kopecks: int = _big(default=0)  # unpaid period fees (line suspended)
    fees_owed_detail: str = Field(default="{}", sa_type=Text)  # JSON: the fee items and the bundles they buy
    charged_total_kopecks: int = _big(default=0)  # all money charged, for bonus points
    bonus_points: int = 0
    period_start: datetime = utc_field()  # the period whose fees/bundles were last processed
    period_end: datetime = utc_field()
    nbg_free_minutes_used: int = 0  # «Ноль без границ» free minutes this period
    nbg_prev_free_minutes_used: int = 0  # the same for the previous period (late events, ≤ 7 days)
    low_balance_notified: bool = False
    call_forward_to: str | None = Field(default=None, max_length=11)
    call_forward_mode: str | None = Field(default=None, max_length=12)  # always|busy|no_answer
    version: int = _big(default=0)  # bumped at every change; drives live updates
    created_at: datetime = utc_field()


class AccountLink(SQLModel, table=True):
    """A number added to another account by confirming a code («Управление номерами»)."""

    __tablename__ = "account_links"
    __table_args__ = (UniqueConstraint("account_id", "line_id"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    line_id: int = Field(foreign_key="lines.id", index=True)
    created_at: datetime = utc_field()


class Subscription(SQLModel, table=True):
    """A service / option / content subscription of a line."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_line_active", "line_id", "active"),)

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="lines.id")
    code: str = Field(foreign_key="products.code", max_length=32)
    active: bool = True
    started_at: datetime = utc_field()
    ended_at: datetime | None = utc_field(nullable=True)
    paid_until: datetime | None = utc_field(nullable=True)  # daily fees / bonus-paid periods
    source: str = Field(default="money", max_length=12)  # money | bonus | system


class Bucket(SQLModel, table=True):
    """An allowance: minutes, SMS or KB, valid in [valid_from, valid_until).

    A family pool is the owner's tariff bucket (pool_total = its size) and the
    members' share buckets carved out of it (parent_bucket_id): owner.total +
    sum(shares.total) == pool_total always.
    """

    __tablename__ = "buckets"
    __table_args__ = (Index("ix_buckets_line_valid", "line_id", "valid_until"),)

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="lines.id")
    kind: str = Field(max_length=5)  # voice | sms | data
    unit: str = Field(max_length=3)  # min | sms | KB
    total: int = _big()
    used: int = _big(default=0)
    valid_from: datetime = utc_field()
    valid_until: datetime = utc_field()
    source: str = Field(max_length=16)  # tariff | addon | family_share | bonus
    product_code: str | None = Field(default=None, max_length=32)
    priority: int = 1  # lower is drawn first: add-ons 0, tariff/share 1
    parent_bucket_id: int | None = Field(default=None, foreign_key="buckets.id", index=True)
    pool_total: int | None = _big(default=None, nullable=True)
    family_group_id: int | None = Field(default=None, foreign_key="family_groups.id", index=True)


# ---------------------------------------------------------------- money


class LedgerEntry(SQLModel, table=True):
    """One row per movement of money on a line; the balance is their sum."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_line_created", "line_id", "created_at"),
        # the same cause can never move money twice (a fee per period, a daily fee per day, an event)
        # (cause_ref first: usage rows arrive in event-id order, so the index grows at its end, not at random)
        UniqueConstraint("cause_ref", "kind", "line_id", name="uq_ledger_cause"),
    )

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="lines.id")
    amount_kopecks: int = _big()
    kind: str = Field(max_length=16)  # usage | fee | daily_fee | topup | transfer_in | transfer_out | promised_fee | family_fee
    category: str = Field(default="", max_length=16)  # voice | sms | data | roaming | fee | service | content | payment | transfer
    cause_type: str = Field(max_length=12)  # event | fee | payment | transfer | promised
    cause_ref: str = Field(max_length=160)
    description: str = ""  # Russian (the statement's language)
    description_en: str = ""
    balance_after: int = _big()
    created_at: datetime = utc_field()


class BonusEntry(SQLModel, table=True):
    __tablename__ = "bonus_entries"

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="lines.id", index=True)
    points: int
    reason: str = Field(max_length=16)  # earned | exchange
    description: str = ""
    description_en: str = ""
    cause_ref: str | None = Field(default=None, max_length=160)
    created_at: datetime = utc_field()


class UsageRecord(SQLModel, table=True):
    """A rated event. event_id is unique: the idempotency key of ingestion."""

    __tablename__ = "usage_records"
    __table_args__ = (Index("ix_usage_line_started", "line_id", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=128, unique=True)
    line_id: int = Field(foreign_key="lines.id")
    kind: str = Field(max_length=5)
    direction: str | None = Field(default=None, max_length=3)
    peer: str | None = Field(default=None, max_length=32)
    started_at: datetime = utc_field()
    duration_s: int | None = None
    bytes: int | None = _big(default=None, nullable=True)
    zone: str = Field(max_length=6)
    status: str = Field(max_length=8)  # rated | blocked
    units: int = _big(default=0)  # billable minutes / SMS / KB
    charged_kopecks: int = _big(default=0)
    paid_by: str = Field(default="", max_length=16)  # free | bundle | money | mixed | family | blocked
    drawn: str = Field(default="[]", sa_type=Text)  # JSON [{bucket_id, kind, unit, amount}]
    explanation: str = Field(default="{}", sa_type=Text)  # JSON: rule, rate, rounding, reason
    ingested_at: datetime = utc_field()


class DailyFeeCharge(SQLModel, table=True):
    """A daily fee charged for a Moscow calendar day (Забугорище, Ноль без границ, content)."""

    __tablename__ = "daily_fee_charges"
    __table_args__ = (UniqueConstraint("line_id", "code", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="lines.id")
    code: str = Field(max_length=32)
    day: date
    amount_kopecks: int = _big()
    cause_ref: str = Field(max_length=160)


class Card(SQLModel, table=True):
    __tablename__ = "cards"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    brand: str = Field(max_length=12)
    last4: str = Field(max_length=4)
    exp_month: int
    exp_year: int
    token: str = Field(max_length=64, unique=True)  # the gateway's token; the PAN is never stored
    gateway_profile: str = Field(default="ok", max_length=16)  # the simulated bank's answer for this card
    created_at: datetime = utc_field()
    removed: bool = False


class Payment(SQLModel, table=True):
    __tablename__ = "payments"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=128, unique=True)
    line_id: int = Field(foreign_key="lines.id", index=True)
    amount_kopecks: int = _big()
    method: str = Field(max_length=12)  # gateway | card | autopay | bonus
    card_id: int | None = Field(default=None, foreign_key="cards.id")
    status: str = Field(max_length=10)  # succeeded | declined
    decline_reason: str | None = None
    # the balance once the payment and what it settled (owed fees) were applied: a replay answers the same
    balance_after_kopecks: int | None = _big(default=None, nullable=True)
    created_at: datetime = utc_field()


class AutopayRule(SQLModel, table=True):
    __tablename__ = "autopay_rules"

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="lines.id", index=True)
    card_id: int = Field(foreign_key="cards.id")
    kind: str = Field(max_length=10)  # threshold | monthly
    threshold_kopecks: int | None = _big(default=None, nullable=True)
    amount_kopecks: int = _big()
    day_of_month: int | None = None
    active: bool = True
    created_at: datetime = utc_field()
    last_run_at: datetime | None = utc_field(nullable=True)


class AutopayRun(SQLModel, table=True):
    __tablename__ = "autopay_runs"

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="autopay_rules.id", index=True)
    line_id: int = Field(foreign_key="lines.id", index=True)
    amount_kopecks: int = _big()
    status: str = Field(max_length=10)  # succeeded | declined
    reason: str = ""
    created_at: datetime = utc_field()


class PromisedPayment(SQLModel, table=True):
    """«Обещанный платёж»: extra credit for 3 days (DESIGN §4 credit)."""

    __tablename__ = "promised_payments"

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="lines.id", index=True)
    amount_kopecks: int = _big()
    fee_kopecks: int = _big()
    created_at: datetime = utc_field()
    due_at: datetime = utc_field()
    status: str = Field(default="active", max_length=8)  # active | repaid | expired
    closed_at: datetime | None = utc_field(nullable=True)


class Transfer(SQLModel, table=True):
    __tablename__ = "transfers"

    id: int | None = Field(default=None, primary_key=True)
    from_line_id: int = Field(foreign_key="lines.id", index=True)
    to_line_id: int = Field(foreign_key="lines.id", index=True)
    amount_kopecks: int = _big()
    status: str = Field(max_length=10)  # pending | done | cancelled
    idempotency_key: str = Field(max_length=128, unique=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)  # who asked for it
    created_at: datetime = utc_field()
    done_at: datetime | None = utc_field(nullable=True)


# ---------------------------------------------------------------- messages


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_line_created", "line_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="lines.id")
    kind: str = Field(max_length=16)  # debit | low_balance | bundle_80 | bundle_100 | family | payment | info
    text_ru: str
    text_en: str
    created_at: datetime = utc_field()
    read_at: datetime | None = utc_field(nullable=True)


class SmsMessage(SQLModel, table=True):
    """The simulated SMS inbox of a number (any number, ours or another operator's)."""

    __tablename__ = "sms_messages"
    __table_args__ = (Index("ix_sms_to_created", "to_msisdn", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    to_msisdn: str = Field(max_length=11)
    sender: str = Field(max_length=16)
    text: str
    created_at: datetime = utc_field()


class MailMessage(SQLModel, table=True):
    """The simulated e-mail box (ordered detail reports)."""

    __tablename__ = "mail_messages"

    id: int | None = Field(default=None, primary_key=True)
    to_email: str = Field(index=True)
    subject: str
    body: str
    attachment_path: str | None = None
    attachment_name: str | None = None
    created_at: datetime = utc_field()


class Report(SQLModel, table=True):
    """An ordered detail report: kept 3 days."""

    __tablename__ = "reports"

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="lines.id", index=True)
    fmt: str = Field(max_length=4)  # csv | html | pdf
    period_from: datetime = utc_field()
    period_to: datetime = utc_field()
    kind: str | None = Field(default=None, max_length=5)
    path: str
    to_email: str | None = None
    created_at: datetime = utc_field()
    expires_at: datetime = utc_field()


# ---------------------------------------------------------------- family


class FamilyGroup(SQLModel, table=True):
    __tablename__ = "family_groups"

    id: int | None = Field(default=None, primary_key=True)
    owner_line_id: int = Field(foreign_key="lines.id", unique=True)
    created_at: datetime = utc_field()


class FamilyMember(SQLModel, table=True):
    __tablename__ = "family_members"
    __table_args__ = (Index("ix_family_members_line_status", "line_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="family_groups.id", index=True)
    line_id: int = Field(foreign_key="lines.id")
    status: str = Field(max_length=10)  # pending | active | cancelled | declined | removed | left
    invited_at: datetime = utc_field()
    joined_at: datetime | None = utc_field(nullable=True)
    ended_at: datetime | None = utc_field(nullable=True)
    quota_minutes: int | None = None  # None: draws from the shared remainder
    quota_sms: int | None = None
    quota_kb: int | None = _big(default=None, nullable=True)
    previous_tariff: str | None = Field(default=None, max_length=32)


class PoolDraw(SQLModel, table=True):
    """How much of a family pool bucket one member line has drawn (the owner's own use is the rest)."""

    __tablename__ = "pool_draws"
    __table_args__ = (UniqueConstraint("bucket_id", "line_id"),)

    id: int | None = Field(default=None, primary_key=True)
    bucket_id: int = Field(foreign_key="buckets.id", index=True)
    line_id: int = Field(foreign_key="lines.id", index=True)
    used: int = _big(default=0)


# ---------------------------------------------------------------- access


class Credential(SQLModel, table=True):
    __tablename__ = "credentials"

    line_id: int = Field(foreign_key="lines.id", primary_key=True)
    password_hash: str
    updated_at: datetime = utc_field()


class OtpCode(SQLModel, table=True):
    """A one-time code: stored only as a hash, bound to one attempt and purpose."""

    __tablename__ = "otp_codes"
    __table_args__ = (Index("ix_otp_msisdn_purpose", "msisdn", "purpose"),)

    id: int | None = Field(default=None, primary_key=True)
    msisdn: str = Field(max_length=11)
    purpose: str = Field(max_length=16)  # login | add_number | transfer | password
    attempt_id: str = Field(max_length=64, unique=True)
    code_hash: str = Field(max_length=128)
    account_id: int | None = Field(default=None, foreign_key="accounts.id")
    payload: str | None = None  # e.g. the transfer it confirms
    client: str = Field(default="", max_length=64)
    created_at: datetime = utc_field()
    expires_at: datetime = utc_field()
    used_at: datetime | None = utc_field(nullable=True)
    voided: bool = False


class LoginGuard(SQLModel, table=True):
    """Wrong attempts and the lock of one number's login."""

    __tablename__ = "login_guards"

    msisdn: str = Field(primary_key=True, max_length=11)
    failures: int = 0
    locked_until: datetime | None = utc_field(nullable=True)


class AuthSession(SQLModel, table=True):
    __tablename__ = "auth_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    # a home login (contract number) has no line: both None and login_home_id set (issue 17)
    login_line_id: int | None = Field(default=None, foreign_key="lines.id")
    selected_line_id: int | None = Field(default=None, foreign_key="lines.id")
    login_home_id: int | None = Field(default=None, foreign_key="home_accounts.id")
    # the home account the session shows in the home section (a mobile login: one of its linked ones)
    home_account_id: int | None = Field(default=None, foreign_key="home_accounts.id")
    created_at: datetime = utc_field()
    last_seen_at: datetime = utc_field()
    ended_at: datetime | None = utc_field(nullable=True)
    ended_reason: str | None = Field(default=None, max_length=16)
    client: str = Field(default="", max_length=64)
    # how it began: code | password | console (a presenter opened this cabinet from /console, demo mode)
    via: str = Field(default="", max_length=16)


class LoginTicket(SQLModel, table=True):
    """A proven login waiting to become a session: redeemed once, within a minute, by the
    HTTP route that sets the HttpOnly session cookie. Stored only as a hash."""

    __tablename__ = "login_tickets"

    id: int | None = Field(default=None, primary_key=True)
    ticket_hash: str = Field(max_length=64, unique=True)
    line_id: int | None = Field(default=None, foreign_key="lines.id")
    home_account_id: int | None = Field(default=None, foreign_key="home_accounts.id")  # a home login's ticket
    # hash of the pre-login nonce cookie of the browser that proved the login (login CSRF)
    binding_hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = utc_field()
    expires_at: datetime = utc_field()
    used_at: datetime | None = utc_field(nullable=True)
    via: str = Field(default="", max_length=16)  # becomes the session's `via`


class RateEvent(SQLModel, table=True):
    """A log of rate-limited actions (code sending), per number and per client."""

    __tablename__ = "rate_events"
    __table_args__ = (Index("ix_rate_events_key_at", "key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80)
    at: datetime = utc_field()


# ---------------------------------------------------------------- system


class SimClockRow(SQLModel, table=True):
    """The simulated clock of a demo/test deployment, shared by all its processes.

    Simulated now = anchor_wall + offset_seconds + (wall - anchor_wall) × speed, wall and anchor_wall
    in Unix seconds: with speed 1 and anchor 0 that is wall + offset (the original form). Speed 0 is
    a paused clock; a speed change re-anchors at the current simulated time, so the clock never
    moves back."""

    __tablename__ = "sim_clock"

    id: int = Field(default=1, primary_key=True)
    offset_seconds: float = 0.0
    speed: float = 1.0
    anchor_wall: float = 0.0
    # sessions' clock = wall + session_offset: moved by POST /api/v1/clock (tests of idle logout) but not
    # by the control room's or a scenario's moves nor by the speed, so a demo never logs its audience out
    session_offset: float = 0.0


class ChangeLog(SQLModel, table=True):
    """The change feed: one row per line touched by a transaction (live updates)."""

    __tablename__ = "change_log"

    seq: int | None = Field(default=None, primary_key=True)
    line_id: int
    at: datetime = utc_field()


class SimProfile(SQLModel, table=True):
    """The simulator's view of a subscriber (persona, home region); not used by rating."""

    __tablename__ = "sim_profiles"

    line_id: int = Field(foreign_key="lines.id", primary_key=True)
    persona: str = Field(max_length=16)
    demo_login: int | None = None  # 1..5 for the logins printed by `simulator seed`
    activity: float = 1.0


# ---------------------------------------------------------------- the product team's side (demo control room)


class OperatorSession(SQLModel, table=True):
    """A session of the control room (/console): never a subscriber's. Stored as a hash; the same idle
    and absolute limits as subscriber sessions. `via`: token (MTS_OPERATOR_TOKEN typed in) | link (the
    one-time link `run.sh` prints in demo mode)."""

    __tablename__ = "operator_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    via: str = Field(max_length=8)
    client: str = Field(default="", max_length=64)
    created_at: datetime = utc_field()
    last_seen_at: datetime = utc_field()
    ended_at: datetime | None = utc_field(nullable=True)
    ended_reason: str | None = Field(default=None, max_length=16)


class OperatorLink(SQLModel, table=True):
    """A one-time way into the control room, redeemed once before it expires by the HTTP route that sets
    the room's HttpOnly cookie: `link` (demo mode: printed by run.sh, 12 hours) or `login` (the token
    was typed in: a minute, bound to that browser's pre-login nonce like subscriber login tickets)."""

    __tablename__ = "operator_links"

    id: int | None = Field(default=None, primary_key=True)
    ticket_hash: str = Field(max_length=64, unique=True)
    purpose: str = Field(default="link", max_length=8)
    binding_hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = utc_field()
    expires_at: datetime = utc_field()
    used_at: datetime | None = utc_field(nullable=True)


class OperatorAudit(SQLModel, table=True):
    """What the control room did: traffic and clock changes, scenarios, cabinets opened as a subscriber."""

    __tablename__ = "operator_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_field(index=True)
    operator_session_id: int | None = Field(default=None, foreign_key="operator_sessions.id")
    action: str = Field(max_length=32)
    target: str = Field(default="", max_length=64)
    detail: str = Field(default="")


class DemoControl(SQLModel, table=True):
    """The demo traffic as the control room set it (one row, id 1); the leader's traffic reads it every
    second. rate_per_s None: the MTS_DEMO_TRAFFIC of the deployment."""

    __tablename__ = "demo_control"

    id: int = Field(default=1, primary_key=True)
    rate_per_s: float | None = None
    duplicates: float = 0.0
    reorder: float = 0.0
    malformed: float = 0.0
    late: float = 0.0
    focus: bool = True  # lines with an open cabinet get a share of the traffic
    updated_at: datetime | None = utc_field(nullable=True)


class Presence(SQLModel, table=True):
    """Which lines each portal process shows in open cabinets right now (its sweeper writes it every few
    seconds): the demo traffic follows the audience across processes, the console counts sessions."""

    __tablename__ = "presence"

    worker: str = Field(max_length=64, primary_key=True)
    line_ids: str = Field(default="[]", sa_type=Text)
    sessions: int = 0
    seen_at: datetime = utc_field()


class EngineSecond(SQLModel, table=True):
    """What one process's charging did in one wall-clock second (the control room's engine chart): kept
    an hour. Latency as a histogram (mergeable across processes), see core/metrics.py."""

    __tablename__ = "engine_seconds"

    worker: str = Field(max_length=64, primary_key=True)
    second: int = Field(primary_key=True, sa_type=BigInteger)
    rated: int = 0
    duplicate: int = 0
    rejected: int = 0
    blocked: int = 0
    charged_kopecks: int = _big(default=0)
    batches: int = 0
    latency_hist: str = Field(default="", sa_type=Text)


class ScenarioRun(SQLModel, table=True):
    """One run of a scenario (simulator/scenarios/): its progress, timeline and checked outcomes."""

    __tablename__ = "scenario_runs"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=40, index=True)
    status: str = Field(default="running", max_length=10)  # running | passed | failed | stopped | error
    mode: str = Field(default="live", max_length=12)  # live | fast
    started_at: datetime = utc_field()
    ended_at: datetime | None = utc_field(nullable=True)
    progress: int = 0  # steps done
    steps: int = 0
    timeline: str = Field(default="[]", sa_type=Text)
    outcomes: str = Field(default="[]", sa_type=Text)
    subscribers: str = Field(default="{}", sa_type=Text)
    error: str | None = None
    stop_requested: bool = False
    heartbeat_at: datetime | None = utc_field(nullable=True)


class SupportRequest(SQLModel, table=True):
    __tablename__ = "support_requests"

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="lines.id", index=True)
    kind: str = Field(max_length=12)  # callback | chat
    phone: str = Field(max_length=11)
    topic: str
    preferred_time: str | None = None
    status: str = Field(default="new", max_length=10)
    created_at: datetime = utc_field()


# ---- services (issue 17b)


class TariffChange(SQLModel, table=True):
    """A line's tariff history: every change of `lines.tariff_code` (billing.change_tariff) and the
    tariff a line was connected on (from_code None)."""

    __tablename__ = "tariff_changes"
    __table_args__ = (Index("ix_tariff_changes_line_at", "line_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="lines.id")
    from_code: str | None = Field(default=None, max_length=32)
    to_code: str = Field(max_length=32)
    at: datetime = utc_field()
    reason: str = Field(max_length=16)  # provision | switch | family_join | family_leave | backfill
    fee_kopecks: int = _big(default=0)  # charged by the change itself (a switch's prorated fee)


class MelodyChoice(SQLModel, table=True):
    """GOOD'OK: the melody a line's callers hear instead of the ringing tone."""

    __tablename__ = "goodok_choices"

    line_id: int = Field(foreign_key="lines.id", primary_key=True)
    melody_code: str = Field(max_length=32)
    chosen_at: datetime = utc_field()


class MelodyPurchase(SQLModel, table=True):
    """A paid GOOD'OK melody bought by a line (once: choosing it again later costs nothing)."""

    __tablename__ = "goodok_purchases"
    __table_args__ = (UniqueConstraint("line_id", "melody_code"),)

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="lines.id")
    melody_code: str = Field(max_length=32)
    price_kopecks: int = _big()
    bought_at: datetime = utc_field()


class PhoneContact(SQLModel, table=True):
    """The simulated handset's address book (what «Вторая память» backs up)."""

    __tablename__ = "phone_contacts"
    __table_args__ = (Index("ix_phone_contacts_line", "line_id"),)

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="lines.id")
    name: str = Field(max_length=80)
    number: str = Field(max_length=16)
    created_at: datetime = utc_field()


class PhoneCall(SQLModel, table=True):
    """The simulated handset's call log, filled from the line's rated calls (and by a restore)."""

    __tablename__ = "phone_calls"
    __table_args__ = (Index("ix_phone_calls_line_started", "line_id", "started_at"),
                      UniqueConstraint("line_id", "peer", "started_at", "direction"))

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="lines.id")
    peer: str = Field(max_length=32)
    direction: str = Field(max_length=3)  # out | in
    started_at: datetime = utc_field()
    duration_s: int = 0


class PhoneState(SQLModel, table=True):
    """What the simulated handset has done: its address book was set up, its call log read up to."""

    __tablename__ = "phone_states"

    line_id: int = Field(foreign_key="lines.id", primary_key=True)
    contacts_ready: bool = False
    calls_synced_until: datetime | None = utc_field(nullable=True)  # usage records copied into the log so far
    calls_cleared_at: datetime | None = utc_field(nullable=True)


class MemorySchedule(SQLModel, table=True):
    """«Вторая память»: how often the phone is backed up by itself."""

    __tablename__ = "memory_schedules"

    line_id: int = Field(foreign_key="lines.id", primary_key=True)
    frequency: str = Field(default="daily", max_length=8)  # daily | weekly | off
    next_at: datetime | None = utc_field(nullable=True)
    updated_at: datetime = utc_field()


class MemoryBackup(SQLModel, table=True):
    """One backup of the phone's contacts and call log (the payload is the JSON kept in the cloud)."""

    __tablename__ = "memory_backups"
    __table_args__ = (Index("ix_memory_backups_line_created", "line_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(foreign_key="lines.id")
    created_at: datetime = utc_field()
    trigger: str = Field(max_length=8)  # schedule | manual
    contacts_count: int = 0
    calls_count: int = 0
    size_bytes: int = _big(default=0)
    payload: str = Field(sa_type=Text)


class ParentalLink(SQLModel, table=True):
    """«Родительский контроль»: a child's number attached to a parent's, with the limits the rating
    engine (spending, night-time data) and the content paths (blocked subscriptions) honour."""

    __tablename__ = "parental_links"

    id: int | None = Field(default=None, primary_key=True)
    parent_line_id: int = Field(foreign_key="lines.id", index=True)
    child_line_id: int = Field(foreign_key="lines.id", index=True)
    status: str = Field(default="active", max_length=8)  # active | ended
    via: str = Field(max_length=8)  # account (a number of the parent's account) | code (confirmed by SMS code)
    spend_limit_kopecks: int | None = _big(default=None, nullable=True)  # per calendar month; None: no limit
    night_data_off: bool = False  # mobile data off 23:00–07:00 Moscow time
    blocked_content: str = Field(default="[]", sa_type=Text)  # JSON list of content codes, or ["*"]: all
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()
    ended_at: datetime | None = utc_field(nullable=True)


# the scheduler looks subscriptions up by code (content fees, scheduled backups)
Index("ix_subscriptions_code_active", Subscription.__table__.c.code, Subscription.__table__.c.active)


# ---------------------------------------------------------------- home internet and TV (issue 17)


class HomeTariff(SQLModel, table=True):
    """A home internet (and TV) tariff: speeds, the TV package it includes, a monthly fee, maybe a cap."""

    __tablename__ = "home_tariffs"

    code: str = Field(primary_key=True, max_length=32)
    name_ru: str
    name_en: str
    down_mbps: int
    up_mbps: int
    tv_package_code: str | None = Field(default=None, max_length=32)  # included TV package, None: internet only
    fee_kopecks: int = _big(default=0)
    cap_kb: int | None = _big(default=None, nullable=True)  # monthly traffic cap; None: unlimited
    public: bool = True
    sort: int = 0
    description_ru: str = ""
    description_en: str = ""


class HomeProduct(SQLModel, table=True):
    """TV channel packages and home options (static IP, antivirus, router rent …), monthly fees."""

    __tablename__ = "home_products"

    code: str = Field(primary_key=True, max_length=32)
    kind: str = Field(max_length=12)  # tv_package | option
    name_ru: str
    name_en: str
    fee_kopecks: int = _big(default=0)
    channels: int = 0  # TV packages
    public: bool = True
    sort: int = 0
    description_ru: str = ""
    description_en: str = ""


class HomeAccount(SQLModel, table=True):
    """A home internet and TV contract (personal account): its own balance and ledger. The holder is an
    Account (the same holder a mobile line has); the contact mobile gets its codes and SMS."""

    __tablename__ = "home_accounts"

    id: int | None = Field(default=None, primary_key=True)
    contract: str = Field(max_length=12, unique=True, index=True)  # 12 digits
    account_id: int = Field(foreign_key="accounts.id", index=True)
    address: str
    contact_msisdn: str = Field(max_length=11, index=True)
    tariff_code: str = Field(foreign_key="home_tariffs.code", max_length=32)
    status: str = Field(default="active", max_length=12)  # active | suspended
    balance_kopecks: int = _big(default=0)
    low_balance_notified: bool = False
    period_start: datetime = utc_field()
    period_end: datetime = utc_field()
    period_used_kb: int = _big(default=0)  # traffic this period (the cap's counter)
    negative_since: datetime | None = utc_field(nullable=True)  # the grace period runs from here
    suspended_at: datetime | None = utc_field(nullable=True)
    promo_since: datetime | None = utc_field(nullable=True)  # «20 % возврата»: taking part since
    persona: str = Field(default="couple", max_length=16)  # the simulator's household
    version: int = _big(default=0)
    created_at: datetime = utc_field()


class HomeSubscription(SQLModel, table=True):
    """A TV channel package or home option connected to a home account."""

    __tablename__ = "home_subscriptions"
    __table_args__ = (Index("ix_home_subscriptions_account_active", "home_account_id", "active"),)

    id: int | None = Field(default=None, primary_key=True)
    home_account_id: int = Field(foreign_key="home_accounts.id")
    code: str = Field(foreign_key="home_products.code", max_length=32)
    active: bool = True
    started_at: datetime = utc_field()
    ended_at: datetime | None = utc_field(nullable=True)


class HomeEquipment(SQLModel, table=True):
    """A router or TV set-top box at the address: rented (a monthly fee) or owned (bought)."""

    __tablename__ = "home_equipment"

    id: int | None = Field(default=None, primary_key=True)
    home_account_id: int = Field(foreign_key="home_accounts.id", index=True)
    kind: str = Field(max_length=8)  # router | tv_box
    model: str = Field(max_length=64)
    serial: str = Field(max_length=32)
    ownership: str = Field(max_length=8)  # rented | owned
    rent_kopecks: int = _big(default=0)  # per month when rented
    since: datetime = utc_field()


class HomeLedgerEntry(SQLModel, table=True):
    """One row per movement of money on a home account (ledger.post); the balance is their sum."""

    __tablename__ = "home_ledger_entries"
    __table_args__ = (
        Index("ix_home_ledger_account_created", "home_account_id", "created_at"),
        UniqueConstraint("cause_ref", "kind", "home_account_id", name="uq_home_ledger_cause"),
    )

    id: int | None = Field(default=None, primary_key=True)
    home_account_id: int = Field(foreign_key="home_accounts.id")
    amount_kopecks: int = _big()
    kind: str = Field(max_length=16)  # home_fee | topup | cashback
    category: str = Field(default="", max_length=16)  # tariff | tv_package | option | equipment | payment | promo
    cause_type: str = Field(max_length=12)  # fee | payment | promo
    cause_ref: str = Field(max_length=160)
    description: str = ""
    description_en: str = ""
    balance_after: int = _big()
    created_at: datetime = utc_field()


class HomePayment(SQLModel, table=True):
    """A payment to a home account (the same card gateway as mobile top-ups); idempotent by key."""

    __tablename__ = "home_payments"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=128, unique=True)
    home_account_id: int = Field(foreign_key="home_accounts.id", index=True)
    amount_kopecks: int = _big()
    method: str = Field(max_length=12)  # gateway | card
    card_id: int | None = Field(default=None, foreign_key="cards.id")
    status: str = Field(max_length=10)  # succeeded | declined
    decline_reason: str | None = None
    balance_after_kopecks: int | None = _big(default=None, nullable=True)
    created_at: datetime = utc_field()


class HomeUsageDay(SQLModel, table=True):
    """A home account's internet traffic and TV viewing of one Moscow day (the simulator's sessions)."""

    __tablename__ = "home_usage_days"
    __table_args__ = (UniqueConstraint("home_account_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    home_account_id: int = Field(foreign_key="home_accounts.id")
    day: date
    sessions: int = 0
    bytes_down: int = _big(default=0)
    bytes_up: int = _big(default=0)
    throttled_bytes: int = _big(default=0)  # over the cap: carried at the reduced speed, not counted
    tv_minutes: int = 0


class HomeRequest(SQLModel, table=True):
    """«Заявка на подключение» (connect) or «Сообщить о проблеме» (problem): a number and a status
    that moves new → in_work → done."""

    __tablename__ = "home_requests"
    __table_args__ = (Index("ix_home_requests_status", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=16, unique=True)
    kind: str = Field(max_length=8)  # connect | problem
    account_id: int = Field(foreign_key="accounts.id", index=True)  # who filed it
    home_account_id: int | None = Field(default=None, foreign_key="home_accounts.id", index=True)
    contact_msisdn: str = Field(max_length=11)
    address: str = ""
    services: str = ""  # connect: what is wanted (comma-separated codes: internet,tv,…)
    call_time: str = ""  # connect: when to call
    service: str = ""  # problem: internet | tv | equipment | payment
    text: str = ""  # problem: what is wrong
    status: str = Field(default="new", max_length=8)  # new | in_work | done
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class HomeLink(SQLModel, table=True):
    """A multi-account: a home account managed from a mobile login (after a code to its contact mobile)."""

    __tablename__ = "home_links"
    __table_args__ = (UniqueConstraint("account_id", "home_account_id"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    home_account_id: int = Field(foreign_key="home_accounts.id", index=True)
    created_at: datetime = utc_field()


class HomeCredential(SQLModel, table=True):
    """The permanent password of a home account's login (argon2id)."""

    __tablename__ = "home_credentials"

    home_account_id: int = Field(foreign_key="home_accounts.id", primary_key=True)
    password_hash: str
    updated_at: datetime = utc_field()
