"""Routes of the control room (/console) and the demo tools QA drives it with.

- GET /api/v1/console/establish?ticket=…  a one-time link (demo mode, printed by run.sh) or a login
  ticket (the operator token typed into the room) → the room's HttpOnly cookie, then /console;
- GET /api/v1/console/logout               ends the room's session;
- GET /api/v1/demo/sms/{msisdn}            demo mode, operator token: a number's demo SMS inbox
  (Locust's portal users read their login codes there, as a presenter reads the demo phone).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse

from mts_portal.core import console, runtime
from mts_portal.core.db import read, transact
from mts_portal.core.errors import DomainError, Invalid, NotFound
from mts_portal.core.events import is_msisdn
from mts_portal.core.settings import get_settings

router = APIRouter()


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/api/v1/console/establish", include_in_schema=False)
def establish(request: Request, ticket: str = ""):
    from mts_portal.api.app import _ensure_prelogin, _prelogin_nonce

    client = request.client.host if request.client else ""
    try:
        token = transact(runtime.engine(), lambda s: console.redeem(
            session=s, ticket=ticket, client=client, now=runtime.now(), binding=_prelogin_nonce(request)))
    except DomainError as exc:
        response = RedirectResponse(f"/console?e={exc.code}", status_code=303)
        _ensure_prelogin(request, response)
        return _no_store(response)
    response = RedirectResponse("/console", status_code=303)
    response.set_cookie(console.OPERATOR_COOKIE, token, httponly=True, secure=get_settings().cookie_secure,
                        samesite="strict", path="/")
    _ensure_prelogin(request, response)  # the room opens subscribers' cabinets: their tickets bind to it
    return _no_store(response)


@router.get("/api/v1/console/logout", include_in_schema=False)
def logout(request: Request):
    from mts_portal.api.app import _ensure_prelogin, _same_origin

    if _same_origin(request):
        token = request.cookies.get(console.OPERATOR_COOKIE)
        transact(runtime.engine(), lambda s: console.logout(session=s, token=token, now=runtime.now()))
    response = RedirectResponse("/console?e=logout", status_code=303)
    response.delete_cookie(console.OPERATOR_COOKIE, path="/", httponly=True, secure=get_settings().cookie_secure,
                           samesite="strict")
    _ensure_prelogin(request, response)
    return _no_store(response)


def _require_operator(request: Request) -> None:
    from mts_portal.api.app import require_operator

    require_operator(request.headers.get("authorization"))


@router.get("/api/v1/demo/sms/{msisdn}", dependencies=[Depends(_require_operator)])
def demo_sms(msisdn: str, limit: Annotated[int, Query(ge=1, le=50)] = 10):
    """Demo mode only: the latest SMS a number received (newest first), as the demo phone shows them."""
    from sqlalchemy import select

    from mts_portal.core.models import SmsMessage

    if not get_settings().demo:
        raise NotFound("not found", "Не найдено")
    if not is_msisdn(msisdn):
        raise Invalid("msisdn: 11 digits starting with 7", "Номер: 11 цифр, начиная с 7")
    rows = read(runtime.engine(), lambda s: s.exec(
        select(SmsMessage.id, SmsMessage.sender, SmsMessage.text, SmsMessage.created_at)
        .where(SmsMessage.to_msisdn == msisdn).order_by(SmsMessage.id.desc()).limit(limit)).all())
    return {"msisdn": msisdn, "messages": [{"id": i, "from": f, "text": t, "at": at.isoformat()}
                                           for i, f, t, at in rows]}
