"""The FastAPI application: routes under /api/v1, errors as 4xx with a reason."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
from typing import Annotated, Literal
from urllib.parse import urlsplit

import orjson
from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from mts_portal.api import edge, schemas
from mts_portal.core import auth, billing, charging, detail, jobs, reports, runtime
from mts_portal.core.clock import MAX_CLOCK_STEP, SimulatedClock
from mts_portal.core.db import HEALTH, read, transact
from mts_portal.core.errors import Conflict, DomainError, Forbidden, NotFound, Unauthorized
from mts_portal.core.intake import GroupCommitter
from mts_portal.core.live import HUB
from mts_portal.core.migrate import current_revision
from mts_portal.core.models import Account
from mts_portal.core.settings import get_settings

log = logging.getLogger("mts_portal.api")

MAX_EVENTS = charging.MAX_BATCH
MAX_BODY_BYTES = edge.MAX_EVENTS_BODY
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


def require_operator(request: Request) -> None:
    """The operator token (documented as the `operatorToken` security scheme, not as a header parameter)."""
    check_operator(request.headers.get("authorization"))


def check_operator(authorization: str | None) -> None:
    if not is_operator(authorization):
        raise Unauthorized("a valid operator token is required (Authorization: Bearer …)",
                           "Нужен действующий токен оператора")


class Caller(BaseModel):
    operator: bool
    session: auth.SessionInfo | None = None
    model_config = ConfigDict(arbitrary_types_allowed=True)


def operator_or_session(request: Request) -> Caller:
    """The operator token, or a subscriber's session cookie (then only their own numbers)."""
    if is_operator(request.headers.get("authorization")):
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


# ---------------------------------------------------------------- the contract's pieces

Msisdn = Annotated[str, Path(pattern=schemas.MSISDN_PATTERN, description="11 digits starting with 7",
                             examples=["79161112233"])]
OPERATOR, OPERATOR_OR_SESSION, _errors = schemas.OPERATOR, schemas.OPERATOR_OR_SESSION, schemas.error_responses
WRITE = (400, 401, 413, 415, 422)
READ = (401, 404, 422)


def _summary_link() -> dict:
    return {"GetSummary": {"operationId": "line_summary", "parameters": {"msisdn": "$response.body#/msisdn"}},
            "TopUp": {"operationId": "top_up", "parameters": {"msisdn": "$response.body#/msisdn"}},
            "Records": {"operationId": "line_records", "parameters": {"msisdn": "$response.body#/msisdn"}},
            "ConnectOption": {"operationId": "connect_option", "parameters": {"msisdn": "$response.body#/msisdn"}},
            "DemoSms": {"operationId": "demo_sms", "parameters": {"msisdn": "$response.body#/msisdn"}},
            "SmsReply": {"operationId": "inbound_sms", "requestBody": {"from": "$response.body#/msisdn", "text": "Да"}}}


# ---------------------------------------------------------------- app


@contextlib.asynccontextmanager
async def lifespan(_app: FastAPI):
    try:
        await run_in_threadpool(runtime.engine)  # migrate on start
    except Exception as exc:
        from mts_portal.core.db import normalize_url

        url = normalize_url(get_settings().db_url)
        where = url.split("///", 1)[1] if url.startswith("sqlite") else url.split("@")[-1]
        raise RuntimeError(f"cannot open the store at {where}: {type(exc).__name__}: "
                           f"{str(getattr(exc, 'orig', exc)).splitlines()[0]}") from exc
    HUB.attach(asyncio.get_running_loop())
    yield


def create_app() -> FastAPI:
    api = FastAPI(
        title="mts_portal API",
        version="1.0",
        description="Operator and subscriber API of the portal (DESIGN §6). Every 4xx/5xx answer is "
                    '`{"error": code, "reason": "…", "reason_ru": "…"}`; bodies are JSON (UTF-8, no NaN/Infinity), '
                    "at most 64 KiB (2 MiB for /events); callers are authenticated before their body is read.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    edge.install_handlers(api)
    _routes(api)
    from mts_portal.api.console import router as console_router

    api.include_router(console_router)
    edge.add_catch_all(api)
    api.add_middleware(edge.EdgeMiddleware, is_operator=is_operator, routes=lambda: api.router.routes)
    api.openapi = lambda: _openapi(api)
    return api


def _openapi(api: FastAPI) -> dict:
    if api.openapi_schema:
        return api.openapi_schema
    from fastapi.openapi.utils import get_openapi

    spec = get_openapi(title=api.title, version=api.version, description=api.description, routes=api.routes)
    comps = spec.setdefault("components", {})
    comps.setdefault("securitySchemes", {}).update({
        "operatorToken": {"type": "http", "scheme": "bearer", "description": "MTS_OPERATOR_TOKEN"},
        "sessionCookie": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                          "description": "a subscriber's session (HttpOnly cookie set at login): own lines only"},
    })
    comps.setdefault("schemas", {}).update(schemas.usage_event_schemas())
    for item in spec["paths"].values():
        for op in item.values():
            # FastAPI documents its own 422 shape; ours is ErrorOut
            for resp in op.get("responses", {}).values():
                ref = resp.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
                if ref.endswith("/HTTPValidationError"):
                    resp["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/ErrorOut"}
    for name in ("HTTPValidationError", "ValidationError"):
        comps["schemas"].pop(name, None)
    # routes that did not document who may call them and their error answers (every route can answer 500,
    # and 401 when it needs a caller): read it from their dependencies
    for route in edge.flat_routes(api.routes):
        if not getattr(route, "include_in_schema", False) or not hasattr(route, "dependant"):
            continue
        calls = _dependency_calls(route.dependant)
        security = OPERATOR if require_operator in calls else \
            OPERATOR_OR_SESSION if operator_or_session in calls else None
        for method in route.methods:
            op = spec["paths"].get(route.path_format, {}).get(method.lower())
            if op is None:
                continue
            responses = op.setdefault("responses", {})
            error = {"description": "", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
            if security is not None:
                op.setdefault("security", security)
                responses.setdefault("401", {**error, "description": "no valid token / session"})
            responses.setdefault("500", {**error, "description": "unexpected error (with a correlation id)"})
    api.openapi_schema = spec
    return spec


def _dependency_calls(dependant) -> set:
    out = set()
    for dep in dependant.dependencies:
        out.add(dep.call)
        out |= _dependency_calls(dep)
    return out


def _routes(api: FastAPI) -> None:
    from mts_portal.api import home as home_api

    home_api.register(api, require_operator, operator_or_session, Caller)

    @api.get("/api/v1/health", response_model=schemas.HealthOut, operation_id="health",
             responses={503: {"model": schemas.HealthOut, "description": "the store does not take writes"},
                        500: {"model": schemas.ErrorOut, "description": "unexpected error"}})
    def health():
        """The node and its store: `store_writable` comes from a cheap write probe (at most every 2 s) and from
        what real writes met; 503 while the store cannot write."""
        eng = runtime.engine()
        writable, reason = HEALTH.status(eng)
        try:
            revision = current_revision(eng)
        except Exception:  # noqa: BLE001 - a store that cannot be read is what this says
            revision = None
        body = {"status": "ok" if writable else "degraded", "store": eng.dialect.name, "store_writable": writable,
                "store_reason": reason, "revision": revision, "now": runtime.now().isoformat(),
                "simulated_clock": get_settings().simulated_clock, "demo": get_settings().demo}
        return JSONResponse(body, status_code=200 if writable else 503,
                            headers=None if writable else {"Retry-After": "5"})

    @api.post("/api/v1/lines", status_code=201, dependencies=[Depends(require_operator)], operation_id="create_line",
              response_model=schemas.NewLineOut, openapi_extra={"security": OPERATOR},
              responses={**_errors(*WRITE, 404, 409, unavailable=True),
                         201: {"links": _summary_link(), "description": "the new line"}})
    def create_line(body: schemas.LineIn):
        """Provision a line (fee and bundles as at a period start, prorated). 409 if the msisdn exists;
        404 if `account_id` names no account."""
        now = runtime.now()

        def fn(s):
            if body.account_id is not None and s.get(Account, body.account_id) is None:
                raise NotFound("account_id: no such account", "Такого лицевого счёта нет")
            line = billing.provision_line(session=s, msisdn=body.msisdn, tariff_code=body.tariff, now=now,
                                          holder_name=body.holder_name, account_id=body.account_id)
            s.flush()
            return billing.line_summary(session=s, msisdn=line.msisdn, now=now).to_api() | {
                "account_id": line.account_id}

        return transact(runtime.engine(), fn)

    @api.get("/api/v1/lines/{msisdn}/summary", operation_id="line_summary", response_model=schemas.LineOut,
             openapi_extra={"security": OPERATOR_OR_SESSION}, responses=_errors(*READ, unavailable=True))
    def summary(msisdn: Msisdn, caller: Annotated[Caller, Depends(operator_or_session)]):
        """Balance, credit limit, status, tariff, buckets, bonus points of a line (operator, or its owner's session)."""
        _check_owner(caller, msisdn)
        now = runtime.now()
        return read(runtime.engine(), lambda s: billing.line_summary(session=s, msisdn=msisdn, now=now).to_api())

    @api.post("/api/v1/lines/{msisdn}/topups", dependencies=[Depends(require_operator)], operation_id="top_up",
              response_model=schemas.TopUpOut, openapi_extra={"security": OPERATOR},
              responses=_errors(*WRITE, 404, 409, unavailable=True))
    def topup(msisdn: Msisdn, body: schemas.TopUpIn):
        """A payment gateway's callback. The same key again: one credit and the same answer; the same key with
        another amount or line: 409."""
        now = runtime.now()
        res = transact(runtime.engine(), lambda s: billing.top_up(
            session=s, msisdn=msisdn, amount_kopecks=body.amount_kopecks, key=body.idempotency_key, now=now))
        return {"payment_id": res.payment_id, "msisdn": res.msisdn, "amount_kopecks": res.amount_kopecks,
                "status": res.status, "idempotency_key": res.idempotency_key,
                "balance_after_kopecks": res.balance_kopecks}

    @api.get("/api/v1/lines/{msisdn}/records", operation_id="line_records", response_model=schemas.RecordsOut,
             openapi_extra={"security": OPERATOR_OR_SESSION}, responses=_errors(*READ, unavailable=True))
    def records(
        msisdn: Msisdn,
        caller: Annotated[Caller, Depends(operator_or_session)],
        from_: Annotated[schemas.Instant | None, Query(alias="from", description="from this instant (inclusive)")] = None,
        to: Annotated[schemas.Instant | None, Query(description="before this instant; a window that ends before it "
                                                                "starts is empty")] = None,
        kind: Literal["voice", "sms", "data"] | None = None,
        cursor: Annotated[str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_-]+$",
                                            description="next_cursor of the previous page (404 if not one)")] = None,
        page_size: Annotated[int, Query(ge=1, le=500)] = 50,
    ):
        """A line's detail records, newest first, paged by cursor, with the totals of the window."""
        _check_owner(caller, msisdn)
        now = runtime.now()
        page = read(runtime.engine(), lambda s: detail.records_page(
            session=s, msisdn=msisdn, start=from_, end=to, kind=kind, cursor=cursor, page_size=page_size, now=now,
            empty_if_reversed=True))
        return page.to_api()

    @api.post("/api/v1/lines/{msisdn}/options", status_code=201, dependencies=[Depends(require_operator)],
              operation_id="connect_option", response_model=schemas.OptionOut, openapi_extra={"security": OPERATOR},
              responses=_errors(*WRITE, 404, 409, unavailable=True))
    def connect(msisdn: Msisdn, body: schemas.OptionIn):
        """Connect a service or option, or buy an add-on (money first: 409 if not covered)."""
        now = runtime.now()

        def fn(s):
            line = billing.get_line_for_update(s, msisdn)
            return billing.connect_option(session=s, line=line, code=body.code, now=now)

        res = transact(runtime.engine(), fn)
        return res.__dict__

    @api.delete("/api/v1/lines/{msisdn}/options/{code}", dependencies=[Depends(require_operator)],
                operation_id="disconnect_option", response_model=schemas.OptionOut,
                openapi_extra={"security": OPERATOR}, responses=_errors(401, 404, 409, 422, unavailable=True))
    def disconnect(msisdn: Msisdn, code: schemas.OptionCode):
        """Disconnect a service or option (409 if it is not connected)."""
        now = runtime.now()

        def fn(s):
            line = billing.get_line_for_update(s, msisdn)
            return billing.disconnect_option(session=s, line=line, code=code, now=now)

        return transact(runtime.engine(), fn).__dict__

    @api.post("/api/v1/sms/inbound", dependencies=[Depends(require_operator)], operation_id="inbound_sms",
              response_model=schemas.InboundSmsOut, openapi_extra={"security": OPERATOR},
              responses=_errors(*WRITE, 404, 409, unavailable=True))
    def inbound_sms(body: schemas.InboundSmsIn):
        """An SMS from a subscriber to the service number (e.g. «Да» to a family invitation)."""
        from mts_portal.core import family

        result = transact(runtime.engine(), lambda s: family.sms_reply(s, body.from_msisdn, body.text, runtime.now()))
        return {"result": result}

    @api.post("/api/v1/clock", dependencies=[Depends(require_operator)], operation_id="move_clock",
              response_model=schemas.ClockOut, openapi_extra={"security": OPERATOR},
              responses=_errors(*WRITE, 403, 409, unavailable=True))
    def move_clock(body: schemas.ClockIn):
        """Demo and test modes only (403 otherwise): move the simulated clock forward, at most
        MAX_CLOCK_STEP (62 days) in one move, and run what fell due in between. Either all of it is done or
        the clock is put back where it was (409 for a move back or too far)."""
        clock = runtime.clock()
        if not isinstance(clock, SimulatedClock):
            raise Forbidden("the clock is real here; it can be moved only in demo and test modes",
                            "Часы реальные: двигать их можно только в демо- и тестовом режиме")
        try:
            new_now = clock.move_to(body.now, sessions_too=True, max_step=MAX_CLOCK_STEP)  # idle-logout tests
        except ValueError as exc:
            raise Conflict(f"now: {exc}", "Часы двигаются только вперёд и не дальше чем на 62 дня за раз") from exc
        try:
            report = jobs.run_due(runtime.engine(), new_now)
        except BaseException:
            clock.undo_move()
            raise
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

    @api.post("/api/v1/events", dependencies=[Depends(require_operator)], operation_id="ingest_events",
              response_model=schemas.EventsOut, openapi_extra={
                  "security": OPERATOR,
                  "requestBody": {"required": True, "content": {"application/json": {
                      "schema": schemas.EVENTS_IN_SCHEMA}}}},
              responses=_errors(400, 401, 413, 415, unavailable=True))
    async def events(request: Request):
        """Rate up to 1000 usage events (DESIGN §4). One result per event, in order: `rated`, `blocked`
        (credit or line status), `rejected` (with the reason: a field outside its domain, too late, an unknown
        number) or `duplicate` (seen before: the first delivery's outcome again, nothing charged twice).
        400 for a malformed envelope, 413 over 1000 events or 2 MiB."""
        envelope = getattr(request.state, "json_body", None)  # read, bounded and parsed by the edge middleware
        if envelope is None:
            try:
                envelope = orjson.loads(await request.body())
            except orjson.JSONDecodeError:
                return edge.error_response(400, "body is not valid JSON", "Тело запроса — не JSON", code="malformed")
        if not isinstance(envelope, dict) or not isinstance(envelope.get("events"), list):
            return edge.error_response(400, 'body must be {"events": [...]}', "Тело запроса: {\"events\": [...]}",
                                       code="malformed")
        if set(envelope) - {"events"}:
            field = sorted(set(envelope) - {"events"})[0]
            return edge.error_response(400, f"unknown field {field}", f"Лишнее поле {field}", code="malformed")
        batch = envelope["events"]
        if len(batch) > MAX_EVENTS:
            return edge.error_response(413, f"at most {MAX_EVENTS} events per request",
                                       f"Не больше {MAX_EVENTS} событий за запрос", code="too_large")
        results = await run_in_threadpool(INTAKE.submit, batch)
        return Response(orjson.dumps({"results": [r.to_json() for r in results]}), media_type="application/json")


app = create_app()
