"""Routes of the control room (/console) and the demo tools QA drives it with.

- GET /api/v1/console/establish?ticket=…  a one-time link (demo mode, printed by run.sh) or a login
  ticket (the operator token typed into the room) → the room's HttpOnly cookie, then /console;
- GET /api/v1/console/logout               ends the room's session;
- GET /api/v1/demo/sms/{msisdn}            demo mode, operator token: a number's demo SMS inbox
  (Locust's portal users read their login codes there, as a presenter reads the demo phone);
- /api/v1/scenarios…                       operator token, simulated clock: list the scenarios, start a
  run in this portal, follow it, stop it (`python -m simulator scenario run NAME --url …`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from mts_portal.api.schemas import MSISDN_PATTERN, OPERATOR, error_responses
from mts_portal.core import console, domain, runtime
from mts_portal.core.db import read, transact
from mts_portal.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
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
            session=s, ticket=ticket, client=client, now=runtime.session_now(), binding=_prelogin_nonce(request)))
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
        transact(runtime.engine(), lambda s: console.logout(session=s, token=token, now=runtime.session_now()))
    response = RedirectResponse("/console?e=logout", status_code=303)
    response.delete_cookie(console.OPERATOR_COOKIE, path="/", httponly=True, secure=get_settings().cookie_secure,
                           samesite="strict")
    _ensure_prelogin(request, response)
    return _no_store(response)


def _require_operator(request: Request) -> None:
    from mts_portal.api.app import check_operator

    check_operator(request.headers.get("authorization"))


OP = {"dependencies": [Depends(_require_operator)], "openapi_extra": {"security": OPERATOR}}
RunId = Annotated[int, Path(ge=1, le=domain.INT32_MAX)]


@router.get("/api/v1/demo/sms/{msisdn}", **OP, responses=error_responses(401, 404, 422), operation_id="demo_sms")
def demo_sms(msisdn: Annotated[str, Path(pattern=MSISDN_PATTERN)], limit: Annotated[int, Query(ge=1, le=50)] = 10):
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


# ---------------------------------------------------------------- scenarios (simulator/scenarios)


class ScenarioRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    speed: float = Field(default=10.0, ge=0, le=1000,
                         description="scenario time ÷ wall time; 0 runs it in fast-forward (the clock jumps)")


def _simulated_clock():
    from mts_portal.core.clock import SimulatedClock

    clock = runtime.clock()
    if not isinstance(clock, SimulatedClock):
        raise Forbidden("scenarios run on a simulated clock (demo and test modes) only",
                        "Сценарии запускаются только с имитируемыми часами (демо- и тестовый режим)")
    return clock


@router.get("/api/v1/scenarios", **OP, responses=error_responses(401))
def scenarios():
    """The scenarios this portal can run, with their stories in both languages."""
    from simulator.scenario import all_scenarios

    return {"scenarios": [{"name": s.name, "title_ru": s.title_ru, "title_en": s.title_en, "story_ru": s.story_ru,
                           "story_en": s.story_en, "steps": len(s.steps), "checks": len(s.expect),
                           "duration_s": s.duration_s} for s in all_scenarios()]}


@router.post("/api/v1/scenarios/{name}/runs", status_code=202, **OP,
             responses=error_responses(400, 401, 403, 404, 413, 415, 422, unavailable=True))
def start_scenario(name: str, body: ScenarioRunIn | None = None):
    """Start a run in this portal (its progress: GET /api/v1/scenarios/runs/{id})."""
    from mts_portal.core.live import HUB
    from simulator.scenario import ScenarioError, load, start_in_background

    body = body or ScenarioRunIn()
    clock = _simulated_clock()
    try:
        load(name)
    except ScenarioError as exc:
        raise NotFound(str(exc), "Такого сценария нет") from exc
    run_id = start_in_background(runtime.engine(), clock, name, speed=body.speed, publish=HUB.publish,
                                 demo_traffic=get_settings().demo)
    transact(runtime.engine(), lambda s: console.audit(s, None, "scenario_start", name, f"run {run_id} via API",
                                                       runtime.session_now()))
    return {"id": run_id, "name": name, "speed": body.speed}


def _run_row(run_id: int):
    from mts_portal.core.errors import parse_id
    from mts_portal.core.models import ScenarioRun

    row = read(runtime.engine(), lambda s: s.get(ScenarioRun, parse_id(run_id)))
    if row is None:
        raise NotFound("no such scenario run", "Такого запуска нет")
    return row


@router.get("/api/v1/scenarios/runs/{run_id}", **OP, responses=error_responses(401, 404, 422))
def scenario_run(run_id: RunId):
    from datetime import UTC, datetime

    from simulator.scenario import run_view

    return run_view(_run_row(run_id), datetime.now(UTC))


@router.post("/api/v1/scenarios/runs/{run_id}/stop", **OP, responses=error_responses(401, 404, 409, 422,
                                                                                       unavailable=True))
def stop_scenario(run_id: RunId):
    from simulator.scenario import request_stop

    row = _run_row(run_id)
    if not request_stop(runtime.engine(), row.id):
        raise Conflict("this run is not running", "Этот запуск уже завершён")
    return {"id": row.id, "stop_requested": True}


@router.get("/api/v1/live", **OP, responses=error_responses(401))
def live_status():
    """What this process holds for open pages (operators, load tests): tabs, their watchers, lines waited
    on, asyncio tasks, per-tab states kept in memory and dropped after their tab closed."""
    import asyncio
    import collections

    from mts_portal.core.live import HUB, TABS

    out = {"tabs": TABS.count(), "tab_watchers": TABS.tasks(), "hub_lines_waited": HUB.watched_lines(),
           "hub_published": HUB.published}
    try:
        from mts_portal import services
        from mts_portal.state.base import watcher_count

        rx_app = services._reflex_app()
        manager = getattr(rx_app, "_state_manager", None) if rx_app is not None else None
        states = getattr(manager, "states", None)
        out.update({"watchers": watcher_count(), "states_in_memory": len(states) if isinstance(states, dict) else None,
                    "states_purged": services.PURGER.purged,
                    "state_manager": type(manager).__name__ if manager is not None else None,
                    "sockets": len(services._connected_tokens() or ())})
    except Exception:  # an API node without pages
        pass
    try:
        tasks = asyncio.all_tasks(HUB._loop) if HUB._loop is not None else None
    except RuntimeError:
        tasks = None
    out["asyncio_tasks"] = len(tasks) if tasks is not None else None
    if tasks:  # what they run (a leak shows as one name growing): the coroutine's name, most common first
        kinds = collections.Counter(getattr(t.get_coro(), "__qualname__", "?") for t in tasks)
        out["asyncio_task_kinds"] = dict(kinds.most_common(12))
    return out
