"""The FastAPI application: routes under /api/v1, errors as 4xx with a reason."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

import orjson
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from starlette.concurrency import run_in_threadpool

from mts_portal.core import auth, billing, charging, detail, jobs, reports, runtime
from mts_portal.core.clock import SimulatedClock, as_utc
from mts_portal.core.db import read, transact
from mts_portal.core.errors import DomainError, Forbidden, Invalid, Unauthorized
from mts_portal.core.intake import GroupCommitter
from mts_portal.core.live import HUB
from mts_portal.core.migrate import current_revision
from mts_portal.core.settings import get_settings

log = logging.getLogger("mts_portal.api")

MAX_EVENTS = charging.MAX_BATCH
MAX_BODY_BYTES = 2 * 1024 * 1024
SESSION_COOKIE = "mts_session"
PRELOGIN_COOKIE = "mts_prelogin"  # a browser's pre-login nonce: login tickets are bound to it (login CSRF)
# concurrent ingestion requests share transactions (group commit); one writer thread per process
INTAKE = GroupCommitter(runtime.engine, runtime.now, on_committed=HUB.publish)


# ---------------------------------------------------------------- auth dependencies


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return None


def is_operator(authorization: str | None) -> bool:
    expected = get_settings().effective_operator_token
    given = _bearer(authorization)
    return bool(expected and given and hmac.compare_digest(given.encode(), expected.encode()))


def require_operator(authorization: Annotated[str | None, Header()] = None) -> None:
    if not is_operator(authorization):
        raise Unauthorized("a valid operator token is required (Authorization: Bearer …)",
                           "Нужен действующий токен оператора")


class Caller(BaseModel):
    operator: bool
    session: auth.SessionInfo | None = None
    model_config = ConfigDict(arbitrary_types_allowed=True)


def operator_or_session(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
    """The operator token, or a subscriber's session cookie (then only their own numbers)."""
    if is_operator(authorization):
        return Caller(operator=True)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        info = transact(runtime.engine(), lambda s: auth.validate_session(session=s, token=token,
                                                                          now=runtime.session_now()))
        if info is not None:
            return Caller(operator=False, session=info)
    raise Unauthorized("log in or give an operator token", "Войдите в личный кабинет")


def _check_owner(caller: Caller, msisdn: str) -> None:
    if caller.operator:
        return
    read(runtime.engine(), lambda s: auth.require_line(s, caller.session, msisdn))


# ---------------------------------------------------------------- session routes' helpers


def _prelogin_nonce(request: Request) -> str | None:
    """The browser's pre-login nonce from its cookie, if it looks like one of ours."""
    value = request.cookies.get(PRELOGIN_COOKIE) or ""
    if 32 <= len(value) <= auth.NONCE_MAX and all(ch.isalnum() or ch in "-_" for ch in value):
        return value
    return None


def _ensure_prelogin(request: Request, response: Response) -> None:
    """Give the browser a random pre-login nonce unless it has one (one per browser: tabs share it)."""
    if _prelogin_nonce(request) is None:
        response.set_cookie(PRELOGIN_COOKIE, secrets.token_urlsafe(32), httponly=True,
                            secure=get_settings().cookie_secure, samesite="strict", path="/")


def _same_origin(request: Request) -> bool:
    """Was this request made by our own pages (or typed by the user)? Sec-Fetch-Site where the browser
    sends it, else the Origin / Referer host; a request with neither is no cross-site browser request."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return True
    return urlsplit(source).netloc == request.headers.get("host", "")


# ---------------------------------------------------------------- bodies


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    msisdn: str = Field(description="11 digits starting with 7")
    tariff: str
    holder_name: str | None = None
    account_id: StrictInt | None = None


class TopUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_kopecks: StrictInt
    idempotency_key: str = Field(min_length=1, max_length=128)


class OptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str


class InboundSmsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_msisdn: str = Field(alias="from")
    text: str = Field(max_length=500)


class ClockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    now: datetime


# ---------------------------------------------------------------- app


@contextlib.asynccontextmanager
async def lifespan(_app: FastAPI):
    await run_in_threadpool(runtime.engine)  # migrate on start
    HUB.attach(asyncio.get_running_loop())
    yield


def create_app() -> FastAPI:
    api = FastAPI(
        title="mts_portal API",
        version="1.0",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )

    @api.exception_handler(DomainError)
    async def _domain_error(_req: Request, exc: DomainError):
        return JSONResponse(exc.to_json(), status_code=exc.http_status)

    @api.exception_handler(RequestValidationError)
    async def _validation_error(_req: Request, exc: RequestValidationError):
        errors = exc.errors()
        reasons = []
        for e in errors:
            loc = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
            reasons.append(f"{loc}: {e.get('msg')}" if loc else str(e.get("msg")))
        return JSONResponse({"error": "invalid", "reason": "; ".join(reasons) or "invalid request",
                             "detail": json.loads(json.dumps(errors, default=str))}, status_code=422)

    _routes(api)
    from mts_portal.api.console import router as console_router

    api.include_router(console_router)
    return api


def _routes(api: FastAPI) -> None:
    @api.get("/api/v1/health")
    def health():
        eng = runtime.engine()
        return {
            "status": "ok",
            "store": eng.dialect.name,
            "revision": current_revision(eng),
            "now": runtime.now().isoformat(),
            "simulated_clock": get_settings().simulated_clock,
            "demo": get_settings().demo,
        }

    @api.post("/api/v1/lines", status_code=201, dependencies=[Depends(require_operator)])
    def create_line(body: LineIn):
        now = runtime.now()

        def fn(s):
            line = billing.provision_line(session=s, msisdn=body.msisdn, tariff_code=body.tariff, now=now,
                                          holder_name=body.holder_name, account_id=body.account_id)
            s.flush()
            return billing.line_summary(session=s, msisdn=line.msisdn, now=now).to_api() | {
                "account_id": line.account_id}

        return transact(runtime.engine(), fn)

    @api.get("/api/v1/lines/{msisdn}/summary")
    def summary(msisdn: str, caller: Annotated[Caller, Depends(operator_or_session)]):
        _check_owner(caller, msisdn)
        now = runtime.now()
        return read(runtime.engine(), lambda s: billing.line_summary(session=s, msisdn=msisdn, now=now).to_api())

    @api.post("/api/v1/lines/{msisdn}/topups", dependencies=[Depends(require_operator)])
    def topup(msisdn: str, body: TopUpIn):
        now = runtime.now()
        res = transact(runtime.engine(), lambda s: billing.top_up(
            session=s, msisdn=msisdn, amount_kopecks=body.amount_kopecks, key=body.idempotency_key, now=now))
        return {"payment_id": res.payment_id, "msisdn": res.msisdn, "amount_kopecks": res.amount_kopecks,
                "status": res.status, "idempotency_key": res.idempotency_key,
                "balance_after_kopecks": res.balance_kopecks}

    @api.get("/api/v1/lines/{msisdn}/records")
    def records(
        msisdn: str,
        caller: Annotated[Caller, Depends(operator_or_session)],
        from_: Annotated[datetime | None, Query(alias="from")] = None,
        to: datetime | None = None,
        kind: Literal["voice", "sms", "data"] | None = None,
        cursor: str | None = None,
        page_size: Annotated[int, Query(ge=1, le=500)] = 50,
    ):
        _check_owner(caller, msisdn)
        now = runtime.now()
        page = read(runtime.engine(), lambda s: detail.records_page(
            session=s, msisdn=msisdn, start=as_utc(from_) if from_ else None, end=as_utc(to) if to else None,
            kind=kind, cursor=cursor, page_size=page_size, now=now))
        return page.to_api()

    @api.post("/api/v1/lines/{msisdn}/options", status_code=201, dependencies=[Depends(require_operator)])
    def connect(msisdn: str, body: OptionIn):
        now = runtime.now()

        def fn(s):
            line = billing.get_line_for_update(s, msisdn)
            return billing.connect_option(session=s, line=line, code=body.code, now=now)

        res = transact(runtime.engine(), fn)
        return res.__dict__

    @api.delete("/api/v1/lines/{msisdn}/options/{code}", dependencies=[Depends(require_operator)])
    def disconnect(msisdn: str, code: str):
        now = runtime.now()

        def fn(s):
            line = billing.get_line_for_update(s, msisdn)
            return billing.disconnect_option(session=s, line=line, code=code, now=now)

        return transact(runtime.engine(), fn).__dict__

    @api.post("/api/v1/sms/inbound", dependencies=[Depends(require_operator)])
    def inbound_sms(body: InboundSmsIn):
        """An SMS from a subscriber to the service number (e.g. «Да» to a family invitation)."""
        from mts_portal.core import family

        result = transact(runtime.engine(), lambda s: family.sms_reply(s, body.from_msisdn, body.text, runtime.now()))
        return {"result": result}

    @api.post("/api/v1/clock", dependencies=[Depends(require_operator)])
    def move_clock(body: ClockIn):
        clock = runtime.clock()
        if not isinstance(clock, SimulatedClock):
            raise Forbidden("the clock is real here; it can be moved only in demo and test modes",
                            "Часы реальные: двигать их можно только в демо- и тестовом режиме")
        if body.now.tzinfo is None:
            raise Invalid("now: the offset is missing (e.g. +03:00 or Z)", "Укажите часовой пояс времени")
        try:
            new_now = clock.move_to(body.now, sessions_too=True)  # tests of idle logout move the clock
        except ValueError as exc:
            raise Invalid(f"now: {exc}", "Часы двигаются только вперёд") from exc
        report = jobs.run_due(runtime.engine(), new_now)
        return {"now": new_now.isoformat(), "jobs": report.to_json()}

    @api.get("/api/v1/session/prelogin", include_in_schema=False)
    def prelogin(request: Request, next: str = "/login"):
        """Give the browser its pre-login nonce (HttpOnly, SameSite=Strict) and go back to the login page.

        The login page's websocket must carry the nonce: a ticket is bound to it when a login is proven,
        and /establish redeems the ticket only with the same nonce (login CSRF)."""
        if not any(next == p or next.startswith(p + "?") for p in ("/login", "/console")) or "\\" in next:
            next = "/login"
        response = RedirectResponse(next, status_code=303)
        _ensure_prelogin(request, response)
        response.headers["Cache-Control"] = "no-store"
        return response

    @api.get("/api/v1/session/establish", include_in_schema=False)
    def establish(request: Request, ticket: str = "", next: str = "/"):
        """Browser step 2 of a login: redeem the one-time ticket, set the HttpOnly session cookie.
        The ticket must have been earned in this browser: its pre-login nonce cookie must match."""
        if not next.startswith("/") or next.startswith("//") or "\\" in next:
            next = "/"
        client = request.client.host if request.client else ""
        nonce = _prelogin_nonce(request)
        try:
            result = transact(runtime.engine(), lambda s: auth.redeem_ticket(
                session=s, ticket=ticket, client=client, now=runtime.session_now(), binding=nonce, require_binding=True))
        except DomainError as exc:
            response = RedirectResponse(f"/login?e={exc.code}", status_code=303)
            _ensure_prelogin(request, response)
            response.headers["Cache-Control"] = "no-store"
            return response
        response = RedirectResponse(next, status_code=303)
        response.set_cookie(SESSION_COOKIE, result.token, httponly=True, secure=get_settings().cookie_secure,
                            samesite="strict", path="/")
        response.headers["Cache-Control"] = "no-store"
        return response

    @api.get("/api/v1/session/logout", include_in_schema=False)
    def logout(request: Request, reason: str = "logout"):
        """End the session and clear its cookie — only when asked from our own pages (or typed in the
        address bar): a link or form on another site cannot log the user out."""
        if not _same_origin(request):
            response = RedirectResponse("/", status_code=303)
            response.headers["Cache-Control"] = "no-store"
            return response
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            transact(runtime.engine(), lambda s: auth.end_session(session=s, token=token, now=runtime.session_now()))
        reason = reason if reason in ("logout", "idle", "expired", "lost", "password", "none") else "logout"
        # "none": a first visit to a private page without any session — the login page shows no notice
        response = RedirectResponse("/login" if reason == "none" else f"/login?e={reason}", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, secure=get_settings().cookie_secure,
                               samesite="strict")
        _ensure_prelogin(request, response)  # the login page that follows can start a login at once
        response.headers["Cache-Control"] = "no-store"
        return response

    @api.get("/api/v1/reports/{report_id}", include_in_schema=False)
    def report_download(report_id: str, request: Request):
        """A detail report of the session's account (reports are kept 3 days)."""
        token = request.cookies.get(SESSION_COOKIE)
        now = runtime.now()
        info = transact(runtime.engine(), lambda s: auth.validate_session(session=s, token=token,
                                                                          now=runtime.session_now()))
        if info is None:
            raise Unauthorized("log in to download reports", "Войдите, чтобы скачать отчёт")
        rep = read(runtime.engine(), lambda s: reports.get(s, info, report_id, now))
        return FileResponse(rep.path, media_type=rep.media_type, filename=rep.filename,
                            headers={"Cache-Control": "private, no-store"})

    @api.get("/api/v1/demo/mail/{message_id}/attachment", include_in_schema=False)
    def mail_attachment(message_id: str):
        """Demo mode only: the simulated mailbox's attachments."""
        from mts_portal.core.errors import NotFound, parse_id
        from mts_portal.core.models import MailMessage

        if not get_settings().demo:
            raise NotFound("not found", "Не найдено")
        msg = read(runtime.engine(), lambda s: s.get(MailMessage, parse_id(message_id)))
        if msg is None or not msg.attachment_path:
            raise NotFound("no such attachment", "Вложение не найдено")
        return FileResponse(msg.attachment_path, filename=msg.attachment_name,
                            headers={"Cache-Control": "private, no-store"})

    @api.post("/api/v1/events", dependencies=[Depends(require_operator)])
    async def events(request: Request):
        too_large = JSONResponse({"error": "too_large", "reason": f"body over {MAX_BODY_BYTES} bytes"}, 413)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return too_large
        # read at most MAX_BODY_BYTES + 1 whatever the framing (a chunked body has no length to trust)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return too_large
            chunks.append(chunk)
        body = b"".join(chunks)
        try:
            envelope = orjson.loads(body)
        except orjson.JSONDecodeError:
            return JSONResponse({"error": "malformed", "reason": "body is not valid JSON"}, 400)
        if not isinstance(envelope, dict) or not isinstance(envelope.get("events"), list):
            return JSONResponse({"error": "malformed", "reason": 'body must be {"events": [...]}'}, 400)
        if set(envelope) - {"events"}:
            return JSONResponse({"error": "malformed", "reason": f"unknown field {sorted(set(envelope) - {'events'})[0]}"}, 400)
        batch = envelope["events"]
        if len(batch) > MAX_EVENTS:
            return JSONResponse({"error": "too_large", "reason": f"at most {MAX_EVENTS} events per request"}, 413)
        results = await run_in_threadpool(INTAKE.submit, batch)
        return Response(orjson.dumps({"results": [r.to_json() for r in results]}), media_type="application/json")


app = create_app()
