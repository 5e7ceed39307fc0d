"""The edge of the HTTP service: one error contract, bounded bodies, authentication before the body,
security headers, and a store in trouble answered 503 — for the API and for the portal's own routes.

`EdgeMiddleware` is pure ASGI (it streams, so it never buffers a body it is going to refuse) and wraps the
FastAPI app, which in the portal wraps Reflex's backend (pages, the websocket, /ping): every request of
the process passes through it. The exception handlers make every error of the routes the same shape,
`{"error": code, "reason": "…", "reason_ru": "…"}`; an unexpected exception becomes a 500 of that shape
with a correlation id that the log line carries too, and the connection stays open (nothing is re-raised
to the server, which would close it).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from mts_portal.core.db import StoreUnavailable, as_store_unavailable
from mts_portal.core.errors import DomainError

log = logging.getLogger("mts_portal.api")

API_PREFIX = "/api/v1/"
EVENTS_PATH = "/api/v1/events"
MAX_EVENTS_BODY = 2 * 1024 * 1024  # 1000 events of ~2 KB each
MAX_API_BODY = 64 * 1024  # every other API body is a few fields
MAX_OTHER_BODY = 1024 * 1024  # the portal's own routes (Reflex's socket.io long-polling posts)
BODY_METHODS = frozenset(("POST", "PUT", "PATCH", "DELETE"))
# API routes that take a body or act without the operator token: none today (the session routes are GETs)
PUBLIC_API_WRITES: frozenset[str] = frozenset()
# Reflex's backend endpoints that take other methods than GET on the portal's side
REFLEX_ENDPOINTS = ("/_event", "/_upload", "/_health", "/ping", "/_all_routes", "/auth-codespace")

# The Reflex production build needs inline scripts (its hydration data) and eval (its state code); it
# talks to its backend over ws:/wss: on the same host. Nothing may frame the pages.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' ws: wss:; media-src 'self' blob:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' https://cdn.jsdelivr.net").replace(
    "style-src 'self'", "style-src 'self' https://cdn.jsdelivr.net")
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)

STATUS_CODES = {400: "malformed", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "too_large",
                415: "unsupported_media_type", 422: "invalid", 423: "locked", 429: "rate_limited",
                500: "internal", 503: "store_unavailable"}


def error_body(status: int, reason: str, reason_ru: str | None = None, code: str | None = None, **extra) -> dict:
    return {"error": code or STATUS_CODES.get(status, "error"), "reason": reason,
            "reason_ru": reason_ru or reason, **extra}


def error_response(status: int, reason: str, reason_ru: str | None = None, *, code: str | None = None,
                   headers: dict | None = None, **extra) -> JSONResponse:
    return JSONResponse(error_body(status, reason, reason_ru, code, **extra), status_code=status, headers=headers)


def store_unavailable_response(exc: StoreUnavailable) -> JSONResponse:
    return JSONResponse(exc.to_json(), status_code=503, headers={"Retry-After": str(exc.retry_after_s)})


# ---------------------------------------------------------------- exception handlers


def install_handlers(api: FastAPI) -> None:
    @api.exception_handler(DomainError)
    async def _domain_error(_req: Request, exc: DomainError):
        if isinstance(exc, StoreUnavailable):
            return store_unavailable_response(exc)
        return JSONResponse(exc.to_json(), status_code=exc.http_status)

    @api.exception_handler(RequestValidationError)
    async def _validation_error(_req: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "body is not valid JSON", "Тело запроса — не JSON", code="malformed")
        reasons = []
        for e in errors:
            loc = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header"))
            reasons.append(f"{loc}: {e.get('msg')}" if loc else str(e.get("msg")))
        detail = orjson.loads(orjson.dumps([{k: e.get(k) for k in ("loc", "msg", "type")} for e in errors],
                                           default=str))
        return error_response(422, "; ".join(reasons)[:1000] or "invalid request",
                              "Неверные данные запроса", code="invalid", detail=detail)

    @api.exception_handler(StarletteHTTPException)
    async def _http_error(_req: Request, exc: StarletteHTTPException):
        reasons = {404: ("no such route", "Такого адреса нет"),
                   405: ("method not allowed on this route", "Этот метод здесь не поддерживается")}
        en, ru = reasons.get(exc.status_code, (str(exc.detail), str(exc.detail)))
        return error_response(exc.status_code, en, ru, headers=getattr(exc, "headers", None))

    @api.exception_handler(DBAPIError)
    async def _store_error(_req: Request, exc: DBAPIError):
        return _unexpected_or_unavailable(exc)

    @api.exception_handler(PoolTimeout)
    async def _pool_timeout(_req: Request, exc: PoolTimeout):
        return _unexpected_or_unavailable(exc)


def _unexpected_or_unavailable(exc: BaseException) -> JSONResponse:
    unavailable = as_store_unavailable(_engine_or_none(), exc)
    if unavailable is not None:
        return store_unavailable_response(unavailable)
    return internal_error_response(exc)


def _engine_or_none():
    from mts_portal.core.db import get_engine

    try:
        return get_engine()
    except Exception:  # noqa: BLE001 - the store's URL itself may be what is wrong
        return None


def internal_error_response(exc: BaseException) -> JSONResponse:
    correlation = secrets.token_hex(8)
    log.error("unexpected error, correlation id %s", correlation, exc_info=exc)
    return error_response(500, f"internal error; quote correlation id {correlation}",
                          f"Внутренняя ошибка; код для поддержки {correlation}", code="internal",
                          correlation_id=correlation, headers={"X-Correlation-Id": correlation})


def flat_routes(routes) -> list:
    """The routes themselves (FastAPI keeps an included router's routes behind one entry)."""
    out = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            out.extend(flat_routes(inner.routes))
        else:
            out.append(route)
    return out


def add_catch_all(api: FastAPI) -> None:
    """Unknown /api/v1 addresses and wrong methods answer the error contract (in the portal the API app
    mounts Reflex's app at "", which would answer them with a page)."""

    async def _catch_all(request: Request):
        allowed: set[str] = set()
        for route in flat_routes(api.router.routes):
            if route is catch_all_route or isinstance(route, Mount):
                continue
            match, _ = route.matches(request.scope)
            if match is Match.PARTIAL:
                allowed |= set(getattr(route, "methods", ()) or ())
        if allowed:
            return error_response(405, "method not allowed on this route", "Этот метод здесь не поддерживается",
                                  headers={"Allow": ", ".join(sorted(allowed))})
        return error_response(404, "no such route", "Такого адреса нет")

    api.add_api_route("/api/v1/{rest:path}", _catch_all, include_in_schema=False,
                      methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"])
    catch_all_route = api.router.routes[-1]


# ---------------------------------------------------------------- the middleware

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class _TooLarge(Exception):
    pass


class EdgeMiddleware:
    def __init__(self, app, *, is_operator: Callable[[str | None], bool], routes: Callable[[], list]):
        self.app = app
        self.is_operator = is_operator
        self.routes = routes

    def _route_exists(self, scope) -> bool:
        """Does an API route take this method on this path? (Otherwise the router answers 404/405 and the
        body is never read.)"""
        for route in flat_routes(self.routes()):
            if isinstance(route, Mount) or getattr(route, "path", "").endswith("{rest:path}"):
                continue
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return True
        return False

    async def __call__(self, scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        csp = (DOCS_CSP if path.startswith("/api/v1/docs") else CSP).encode()
        started = False

        async def send_with_headers(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {k.lower() for k, _ in message.get("headers", ())}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                if b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", csp))
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        async def answer(response: JSONResponse) -> None:
            await response(scope, receive, send_with_headers)

        api = path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")
        if method in BODY_METHODS or _header(scope, b"content-length") not in (None, "0") \
                or _header(scope, b"transfer-encoding") is not None:
            if api and not self._route_exists(scope):
                await self.app(scope, _bounded(receive, 0), send_with_headers)  # 404 / 405, body unread
                return
            if api and method in BODY_METHODS and path not in PUBLIC_API_WRITES \
                    and not self.is_operator(_header(scope, b"authorization")):
                # before a byte of the body is read
                await answer(error_response(401, "a valid operator token is required (Authorization: Bearer …)",
                                            "Нужен действующий токен оператора", code="unauthorized",
                                            headers={"WWW-Authenticate": "Bearer"}))
                return
            if not api and method in BODY_METHODS and not path.startswith(REFLEX_ENDPOINTS):
                await answer(error_response(405, "method not allowed on this route",
                                            "Этот метод здесь не поддерживается", headers={"Allow": "GET, HEAD"}))
                return
            limit = MAX_EVENTS_BODY if path == EVENTS_PATH else MAX_API_BODY if api else MAX_OTHER_BODY
            length = _header(scope, b"content-length")
            too_large = error_response(413, f"body over {limit} bytes", f"Тело запроса больше {limit} байт",
                                       code="too_large")
            if length is not None and (not length.isdigit() or int(length) > limit):
                if not length.isdigit():
                    await answer(error_response(400, "bad Content-Length", "Неверный Content-Length",
                                                code="malformed"))
                else:
                    await answer(too_large)
                return
            if api:
                try:
                    body = await self._read(receive, limit)
                except _TooLarge:
                    await answer(too_large)
                    return
                if body:
                    ctype = (_header(scope, b"content-type") or "application/json").split(";")[0].strip().lower()
                    if ctype != "application/json" and not ctype.endswith("+json"):
                        await answer(error_response(415, "the body must be application/json",
                                                    "Тело запроса должно быть JSON", code="unsupported_media_type"))
                        return
                    try:  # strict: UTF-8, no NaN/Infinity, no lone surrogates, nothing after the value
                        # (kept for the route, so /events parses its 2 MiB once)
                        scope.setdefault("state", {})["json_body"] = orjson.loads(body)
                    except orjson.JSONDecodeError as exc:
                        await answer(error_response(400, f"body is not valid JSON ({str(exc).split(':')[0]})",
                                                    "Тело запроса — не корректный JSON в UTF-8", code="malformed"))
                        return
                receive = _replay(body, receive)
            else:
                receive = _bounded(receive, limit)

        try:
            await self.app(scope, receive, send_with_headers)
        except _TooLarge:
            if not started:
                await answer(error_response(413, "body too large", "Тело запроса слишком большое", code="too_large"))
        except Exception as exc:  # noqa: BLE001 - the contract: an answer, never a dropped connection
            if started:
                log.exception("error after the response started on %s %s", method, path)
                return
            if isinstance(exc, DomainError | DBAPIError | PoolTimeout):
                unavailable = as_store_unavailable(_engine_or_none(), exc)
                if unavailable is not None:
                    await answer(store_unavailable_response(unavailable))
                    return
            await answer(internal_error_response(exc))

    @staticmethod
    async def _read(receive: Receive, limit: int) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _bounded(receive: Receive, limit: int) -> Receive:
    size = 0

    async def bounded() -> dict:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise _TooLarge
        return message

    return bounded
