"""The API's request and response schemas: the OpenAPI document is built from these, so every constraint
here is one the routes enforce (and docs/SECURITY.md's input-domain table lists)."""

from __future__ import annotations

import re
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
