"""The API's request and response schemas: the OpenAPI document is built from these, so every constraint
here is one the routes enforce (and docs/SECURITY.md's input-domain table lists)."""

from __future__ import annotations

import re
from datetime import date as _date
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
)

from mts_portal.core import billing, charging, domain, events
from mts_portal.core import catalog as _cat
from mts_portal.core.catalog import default_catalog
from mts_portal.core.clock import MAX_CLOCK_STEP

MSISDN_PATTERN = r"^7[0-9]{10}$"
MOBILE_PATTERN = r"^79[0-9]{9}$"  # a subscriber's own phone (core/phones.py: other numbers are a format error)
SINGLE_LINE = domain.CONTROL_PATTERN
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
_TEXT = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]"
NAME_PATTERN = rf"^{_TEXT}*[^\s\x00-\x1f\x7f-\x9f]{_TEXT}*$"  # one line, something besides spaces
KEY_PATTERN = r"^[!-~]+$"  # printable ASCII without spaces: idempotency keys and event ids travel in logs

_catalog = default_catalog()
TARIFFS = tuple(code for code, t in _catalog.tariffs.items() if not t.family_member)
OPTIONS = tuple(code for code, p in _catalog.products.items() if p.public)
TariffCode = Literal[TARIFFS]  # type: ignore[valid-type]
OptionCode = Literal[OPTIONS]  # type: ignore[valid-type]


def _iso_instant(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 date-time string with an offset")
    try:
        return domain.instant(value, "date-time")
    except domain.Invalid as exc:
        raise ValueError(exc.message_en.removeprefix("date-time: ")) from None


Instant = Annotated[
    datetime, BeforeValidator(_iso_instant),
    WithJsonSchema({"type": "string", "pattern": domain.INSTANT_PATTERN, "example": "2026-11-22T15:00:00+03:00",
                    "description": "ISO-8601 date-time with an offset, a calendar date of 2000–2099 as written"}),
]


def _json_int(value: Any) -> int:
    """A JSON integer as JSON Schema defines it: 5 or 5.0 (not "5", not true, not 5.5)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be an integer")
        value = int(value)
    return value


def _single_line(value: str) -> str:
    if domain.has_control(value):
        raise ValueError("control characters are not allowed")
    return value


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    """Every 4xx and 5xx answer: a machine code and a reason (English; Russian where the UI shows it)."""
    error: str = Field(examples=["invalid"], description="machine code: invalid, malformed, unauthorized, forbidden, "
                       "not_found, method_not_allowed, conflict, insufficient_funds, too_large, "
                       "unsupported_media_type, store_unavailable, internal, …")
    reason: str = Field(examples=["amount_kopecks: at least 100"])
    reason_ru: str | None = None
    model_config = ConfigDict(extra="allow")


OPERATOR = [{"operatorToken": []}]
OPERATOR_OR_SESSION = [{"operatorToken": []}, {"sessionCookie": []}]


def error_responses(*statuses: int, unavailable: bool = False) -> dict:
    """The documented error answers of a route (always with the error schema)."""
    text = {400: "malformed body (not JSON, not UTF-8, NaN/Infinity)", 401: "no valid token / session",
            403: "refused here", 404: "no such line / object, or not the caller's", 409: "conflicts with the state",
            413: "body too large", 415: "body is not application/json", 422: "a field outside its domain",
            429: "rate limited", 500: "unexpected error (with a correlation id)",
            503: "the store cannot take writes now; retry after Retry-After seconds"}
    out: dict = {}
    for code in (*statuses, 500, *((503,) if unavailable else ())):
        entry: dict = {"model": ErrorOut, "description": text[code]}
        if code == 503:
            entry["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
        out[code] = entry
    return out



class LineIn(_In):
    msisdn: str = Field(pattern=MSISDN_PATTERN, description="11 digits starting with 7", examples=["79161112233"])
    tariff: TariffCode = Field(description="tariff code (my_mts_member is given by joining a family)")
    holder_name: Annotated[str, Field(min_length=1, max_length=200, pattern=NAME_PATTERN),
                           AfterValidator(_single_line)] | None = Field(default=None, examples=["Анна Смирнова"])
    account_id: int | None = Field(default=None, ge=1, le=domain.INT32_MAX,
                                   description="add the line to this existing account")

    _account_id_is_a_json_integer = field_validator("account_id", mode="before")(lambda v: None if v is None
                                                                                   else _json_int(v))


class TopUpIn(_In):
    amount_kopecks: int = Field(ge=billing.MIN_TOPUP_KOPECKS, le=billing.MAX_TOPUP_KOPECKS, examples=[50000])
    idempotency_key: str = Field(min_length=1, max_length=128, pattern=KEY_PATTERN, examples=["pay-2026-0001"])


    _amount_is_a_json_integer = field_validator("amount_kopecks", mode="before")(lambda v: _json_int(v))


class OptionIn(_In):
    code: OptionCode


class InboundSmsIn(_In):
    from_msisdn: str = Field(alias="from", pattern=MOBILE_PATTERN, description="a Russian mobile number, 79XXXXXXXXX")
    text: str = Field(min_length=1, max_length=500, pattern=MULTI_LINE, examples=["Да"])


class ClockIn(_In):
    now: Instant = Field(description=f"the new simulated time: not before the current one, at most "
                                     f"{MAX_CLOCK_STEP.days} days after it")


class BucketOut(BaseModel):
    id: int
    kind: Literal["voice", "sms", "data"]
    unit: Literal["min", "sms", "KB"]
    total: int
    used: int
    remaining: int
    valid_until: datetime
    source: str
    product_code: str | None
    shared_from: str | None


class LineOut(BaseModel):
    msisdn: str
    balance_kopecks: int
    credit_limit_kopecks: int
    status: Literal["active", "suspended", "blocked", "lost"]
    tariff: str
    tariff_fee_kopecks: int
    bonus_points: int
    fees_owed_kopecks: int
    period_end: datetime
    options: list[str]
    buckets: list[BucketOut]


class NewLineOut(LineOut):
    account_id: int


class TopUpOut(BaseModel):
    payment_id: int
    msisdn: str
    amount_kopecks: int
    status: str
    idempotency_key: str
    balance_after_kopecks: int


class OptionOut(BaseModel):
    msisdn: str
    code: str
    connected: bool
    charged_kopecks: int
    balance_kopecks: int
    message_ru: str
    message_en: str
    bucket_id: int | None = None


class DrawnOut(BaseModel):
    bucket_id: int
    kind: Literal["voice", "sms", "data"]
    unit: Literal["min", "sms", "KB"]
    amount: int


class RecordOut(BaseModel):
    id: int
    event_id: str
    kind: Literal["voice", "sms", "data"]
    direction: Literal["out", "in"] | None
    peer: str | None
    started_at: datetime
    duration_s: int | None
    bytes: int | None
    zone: str
    status: Literal["rated", "blocked"]
    units: int
    charged_kopecks: int
    paid_by: str
    drawn: list[DrawnOut]
    explanation: dict[str, Any]


class TotalsOut(BaseModel):
    count: int
    charged_kopecks: int
    minutes: int
    sms: int
    kb: int


class RecordsOut(BaseModel):
    msisdn: str
    records: list[RecordOut]
    next_cursor: str | None
    totals: TotalsOut


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    store: str
    store_writable: bool
    store_reason: str | None
    revision: str | None
    now: datetime
    simulated_clock: bool
    demo: bool


class ClockOut(BaseModel):
    now: datetime
    jobs: dict[str, int]


class InboundSmsOut(BaseModel):
    result: str


# ---------------------------------------------------------------- /events: the envelope and its events


class _EventBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_id: str = Field(min_length=1, max_length=128, pattern=KEY_PATTERN,
                          description="idempotency key: a replay is answered `duplicate` with the first outcome")
    msisdn: str = Field(pattern=MSISDN_PATTERN)
    started_at: Instant = Field(description="within the last 7 days and at most 5 minutes ahead of the clock, "
                                            "else `rejected`")
    zone: str = Field(pattern=r"^(home|russia|[A-QS-Z][A-Z]|R[A-TV-Z])$",
                      description="home, russia (national roaming) or an ISO-3166 alpha-2 country other than RU")


class VoiceEvent(_EventBase):
    kind: Literal["voice"]
    direction: Literal["out", "in"]
    peer: str = Field(pattern=r"^[0-9]{1,20}$")
    duration_s: int = Field(ge=0, le=events.MAX_DURATION_S)


class SmsEvent(_EventBase):
    kind: Literal["sms"]
    direction: Literal["out", "in"]
    peer: str = Field(pattern=r"^[0-9]{1,20}$")


class DataEvent(_EventBase):
    kind: Literal["data"]
    bytes: int = Field(ge=0, le=events.MAX_BYTES)


UsageEvent = Annotated[VoiceEvent | SmsEvent | DataEvent, Field(discriminator="kind")]


EVENTS_IN_SCHEMA = {
    "title": "EventsIn", "type": "object", "additionalProperties": False, "required": ["events"],
    "description": "At most 1000 events. Each item is rated on its own: one that is not a valid UsageEvent "
                   "(wrong fields, out of range, too late, an unknown number) is answered `rejected` with the "
                   "reason, and the rest of the batch is rated.",
    "properties": {"events": {"type": "array", "maxItems": charging.MAX_BATCH, "items": {
        "anyOf": [{"$ref": "#/components/schemas/UsageEvent"},
                  {"description": "anything else is answered `rejected` with the reason"}]}}},
}


class EventResultOut(BaseModel):
    event_id: str | None
    status: Literal["rated", "duplicate", "rejected", "blocked"]
    charged_kopecks: int = Field(description="money this delivery charged (daily fees it triggered included); "
                                 "0 for a duplicate, rejected or blocked event")
    drawn: list[DrawnOut]
    reason: str | None
    original_status: Literal["rated", "blocked"] | None = Field(
        default=None, description="a `duplicate`: the first delivery's status")
    original_charged_kopecks: int | None = Field(default=None, description="a `duplicate`: what the first delivery "
                                                 "charged (the replay charges nothing)")
    original_drawn: list[DrawnOut] | None = Field(default=None, description="a `duplicate`: what the first "
                                                  "delivery drew from bundles")


class EventsOut(BaseModel):
    results: list[EventResultOut]


def usage_event_schemas() -> dict:
    """Component schemas of the event kinds, added to the OpenAPI document."""
    from pydantic import TypeAdapter

    schema = TypeAdapter(UsageEvent).json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    defs["UsageEvent"] = schema
    return defs


def pattern_ok(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern.strip("^$"), value) is not None


# ---------------------------------------------------------------- home internet and TV (issue 17's routes)

# a contract number as typed: its 12 digits, spaces and dashes allowed between them (core/home.normalize_contract)
CONTRACT_PATTERN = r"^[ -]*(?:[0-9][ -]*){12}$"
REQUEST_NUMBER_PATTERN = r"^(CN|PR)-[0-9]{4}-[0-9]{6,8}$"  # CN-2611-000042: a connection request or a problem
# one line, no spaces at either end (the store keeps it stripped: 5–200 characters are what is kept)
TRIMMED_PATTERN = r"^[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f\u2028\u2029]*[^\s\x00-\x1f\x7f-\x9f])?$"
HOME_TARIFFS = tuple(t["code"] for t in _cat.HOME_TARIFFS if t.get("public", True))
HOME_CODES = tuple(p["code"] for p in _cat.HOME_PRODUCTS if p.get("public", True))
HOME_TV_PACKAGES = tuple(p["code"] for p in _cat.HOME_PRODUCTS if p["kind"] == "tv_package")
HOME_NO_TV = tuple(t["code"] for t in _cat.HOME_TARIFFS if t["tv_package_code"] is None)
HomeTariffCode = Literal[HOME_TARIFFS]  # type: ignore[valid-type]
HomeCode = Literal[HOME_CODES]  # type: ignore[valid-type]
MAX_USAGE_SESSIONS = 100_000  # one post (a day's sessions of a household come in several)
MAX_USAGE_BYTES = 10**13  # 10 TB a post in each direction
MAX_TV_MINUTES = 1440  # a day's viewing in one post
Contract = Annotated[str, Field(pattern=CONTRACT_PATTERN, max_length=40, examples=["770012345678"],
                                description="12 digits (spaces and dashes between them are ignored)")]


# a real calendar date of 2000–2099 as the date-times (one pattern for the schema and the parser: a format
# "date" with a pattern would leave generators filtering most dates out)
DATE_PATTERN = (r"^(?:20[0-9]{2}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
                r"|02-(?:0[1-9]|1[0-9]|2[0-8]))|20(?:[02468][048]|[13579][26])-02-29)$")


def _iso_date(value: Any) -> _date:
    if not isinstance(value, str) or not re.fullmatch(DATE_PATTERN, value):
        raise ValueError("must be a calendar date YYYY-MM-DD of 2000–2099")
    return _date.fromisoformat(value)


def _json_int_or_none(value: Any) -> int | None:
    return None if value is None else _json_int(value)


class HomeAccountIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        # TV packages only on a tariff with TV (core/home.py refuses them otherwise)
        "if": {"properties": {"tariff": {"enum": list(HOME_NO_TV)}}, "required": ["tariff"]},
        "then": {"properties": {"codes": {"items": {"not": {"enum": list(HOME_TV_PACKAGES)}}}}}})

    holder_name: Annotated[str, Field(min_length=1, max_length=120, pattern=NAME_PATTERN),
                           AfterValidator(_single_line)] = Field(examples=["Ирина Домашняя"],
                                                                 description="a new account's holder")
    address: Annotated[str, Field(min_length=5, max_length=200, pattern=TRIMMED_PATTERN),
                       AfterValidator(_single_line)] = Field(examples=["Москва, ул. Тверская, д. 7, кв. 12"])
    contact_msisdn: str = Field(pattern=MSISDN_PATTERN, description="gets the contract's codes and SMS",
                                examples=["79260001122"])
    tariff: HomeTariffCode
    contract: Contract | None = Field(default=None, description="a number of one's own; else the next free one "
                                      "(409 if it exists)")
    codes: list[HomeCode] = Field(default_factory=list, max_length=10,
                                  description="TV packages (on a tariff with TV) and options to connect; one "
                                              "already connected or included in the tariff: 409")
    account_id: int | None = Field(default=None, ge=1, le=domain.INT32_MAX,
                                   description="the holder's existing account (404 if none)")
    link_msisdn: str | None = Field(default=None, pattern=MSISDN_PATTERN,
                                    description="link the contract to this line's account (404 if no such line)")
    opening_kopecks: int = Field(default=0, ge=0, le=billing.MAX_TOPUP_KOPECKS)

    _ints_are_json_integers = field_validator("account_id", "opening_kopecks", mode="before")(
        lambda v: _json_int_or_none(v))

    @field_validator("codes")
    @classmethod
    def _no_tv_on_internet_only(cls, codes, info):
        if info.data.get("tariff") in HOME_NO_TV and set(codes) & set(HOME_TV_PACKAGES):
            raise ValueError("TV packages need a tariff with TV")
        return codes


class HomePaymentIn(_In):
    amount_kopecks: int = Field(ge=billing.MIN_TOPUP_KOPECKS, le=billing.MAX_TOPUP_KOPECKS, examples=[50000])
    idempotency_key: str = Field(min_length=1, max_length=128, pattern=KEY_PATTERN, examples=["gw-2026-0001"])

    _amount_is_a_json_integer = field_validator("amount_kopecks", mode="before")(lambda v: _json_int(v))


class HomeUsageIn(_In):
    day: Annotated[_date, BeforeValidator(_iso_date),
                   WithJsonSchema({"type": "string", "pattern": DATE_PATTERN,
                                   "example": "2026-11-22", "description": "a Moscow day of 2000–2099"})]
    sessions: int = Field(ge=0, le=MAX_USAGE_SESSIONS)
    bytes_down: int = Field(ge=0, le=MAX_USAGE_BYTES)
    bytes_up: int = Field(ge=0, le=MAX_USAGE_BYTES)
    tv_minutes: int = Field(default=0, ge=0, le=MAX_TV_MINUTES, description="counted only on a tariff with TV")

    _ints_are_json_integers = field_validator("sessions", "bytes_down", "bytes_up", "tv_minutes",
                                              mode="before")(lambda v: _json_int(v))


class RequestStatusIn(_In):
    status: Literal["in_work", "done"] = Field(description="forward only: new → in_work → done (409 otherwise)")


class HomeEquipmentOut(BaseModel):
    kind: str
    model: str
    ownership: Literal["rented", "owned"]
    rent_kopecks: int


class HomeOut(BaseModel):
    contract: str
    address: str
    contact_msisdn: str
    status: Literal["active", "suspended"]
    balance_kopecks: int
    tariff: str
    down_mbps: int
    up_mbps: int
    tv_package: str | None
    monthly_kopecks: int
    connected: list[str]
    period_used_kb: int
    cap_kb: int | None
    capped: bool
    promo_since: datetime | None
    equipment: list[HomeEquipmentOut]


class NewHomeOut(HomeOut):
    account_id: int


class HomePaymentOut(BaseModel):
    payment_id: int
    contract: str
    amount_kopecks: int
    status: str
    balance_after_kopecks: int
    replayed: bool


class HomeLedgerEntryOut(BaseModel):
    at: datetime
    amount_kopecks: int
    kind: str
    category: str
    cause_ref: str
    description: str
    balance_after: int | None


class HomeLedgerOut(BaseModel):
    contract: str
    entries: list[HomeLedgerEntryOut]


class HomeUsageDayOut(BaseModel):
    day: _date
    sessions: int
    bytes_down: int
    bytes_up: int
    throttled_bytes: int
    tv_minutes: int


class HomeUsageOut(BaseModel):
    contract: str
    days: list[HomeUsageDayOut]


class HomeUsageResultOut(BaseModel):
    status: Literal["recorded", "suspended"]
    counted_kb: int
    throttled_bytes: int
    capped: bool


class RequestStatusOut(BaseModel):
    number: str
    status: Literal["new", "in_work", "done"]
