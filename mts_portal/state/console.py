"""The control room (/console): the product team's side of the portal.

Every handler checks the room's own session first (`_operator`): an HttpOnly cookie that only
/api/v1/console/establish sets, from the operator token typed in (lockout as for subscriber logins)
or, in demo mode, the one-time link `run.sh` prints. A subscriber's session gives nothing here.
While the page is open, `watch` refreshes the engine panel, the sessions, the clock and the running
scenario twice a second from counters the engine and the live hub keep (no scan of usage tables).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import reflex as rx

from mts_portal.core import console, metrics, runtime
from mts_portal.core.auth import format_msisdn
from mts_portal.core.catalog import default_catalog
from mts_portal.core.clock import (
    MSK,
    SimulatedClock,
    fmt_datetime,
    moscow_date,
    moscow_midnight,
    period_of,
)
from mts_portal.core.db import read, transact
from mts_portal.core.errors import DomainError, Locked, Unauthorized
from mts_portal.core.live import HUB, read_presence
from mts_portal.core.money import format_rub
from mts_portal.core.settings import get_settings
from mts_portal.i18n import add, count_digits
from mts_portal.state.base import UiState, both, claim_watch, in_thread, release_watch

add({
    "title.console": ("Пульт демо — Мой МТС", "Control room — My MTS"),
    "console.title": ("Пульт", "Control room"),
    "console.subtitle": ("Движок тарификации, трафик, часы, абоненты и сценарии — вживую.",
                         "The rating engine, traffic, clock, subscribers and scenarios — live."),
    "console.login": ("Вход в пульт", "Control room login"),
    "console.token": ("Токен оператора", "Operator token"),
    "console.token_hint": ("Значение MTS_OPERATOR_TOKEN этого портала.", "This portal's MTS_OPERATOR_TOKEN."),
    "console.enter": ("Войти", "Log in"),
    "console.demo_hint": ("В демо-режиме `bash scripts/run.sh` печатает одноразовую ссылку в пульт.",
                          "In demo mode `bash scripts/run.sh` prints a one-time link into the control room."),
    "console.logout": ("Выйти из пульта", "Leave the control room"),
    "console.e.logout": ("Вы вышли из пульта.", "You have left the control room."),
    "console.e.unauthorized": ("Ссылка в пульт больше не действует. Войдите с токеном оператора.",
                               "This control-room link no longer works. Log in with the operator token."),
    "console.e.login_binding": ("Вход начат в другом браузере. Войдите ещё раз здесь.",
                                "The login was started in another browser. Log in again here."),
    "console.e.forbidden": ("Одноразовые ссылки в пульт работают только в демо-режиме.",
                            "One-time control-room links work in demo mode only."),
    "console.e.ended": ("Сеанс пульта завершён. Войдите снова.", "The control-room session has ended. Log in again."),
    "console.engine": ("Движок тарификации", "Rating engine"),
    "console.eps": ("событий/с", "events/s"),
    "console.rated": ("оценено", "rated"),
    "console.duplicate": ("повторы", "duplicates"),
    "console.rejected": ("отклонено", "rejected"),
    "console.blocked": ("заблокировано", "blocked"),
    "console.per_minute": ("Списано за минуту", "Charged per minute"),
    "console.latency": ("Задержка пачки p50 / p95", "Batch latency p50 / p95"),
    "console.sessions": ("Открытых кабинетов", "Open cabinets"),
    "console.population": ("Абонентов", "Subscribers"),
    "console.store": ("Хранилище", "Store"),
    "console.last_minute": ("За последнюю минуту", "In the last minute"),
    "console.traffic": ("Трафик", "Traffic"),
    "console.rate": ("Событий в секунду (0–2000)", "Events per second (0–2000)"),
    "console.duplicates": ("Повторы, %", "Duplicates, %"),
    "console.reorder": ("Перестановки, %", "Reordering, %"),
    "console.malformed": ("Битые, %", "Malformed, %"),
    "console.late": ("Опоздавшие, %", "Late, %"),
    "console.focus": ("Больше трафика для открытых кабинетов", "More traffic for the open cabinets"),
    "console.apply": ("Применить", "Apply"),
    "console.traffic_saved": ("Трафик изменён", "Traffic changed"),
    "console.clock": ("Часы", "Clock"),
    "console.clock_real": ("Часы настоящие: управлять ими можно только в демо-режиме.",
                           "The clock is real: it can be controlled in demo mode only."),
    "console.pause": ("Пауза", "Pause"),
    "console.next_day": ("Следующий день", "Next day"),
    "console.period_end": ("Конец периода", "End of the period"),
    "console.fell_due": ("Выполнено", "Done"),
    "console.speed": ("Скорость", "Speed"),
    "console.subscribers": ("Абоненты", "Subscribers"),
    "console.find": ("Номер или имя", "Number or name"),
    "console.search": ("Найти", "Find"),
    "console.nothing_found": ("Никого не нашлось", "Nobody found"),
    "console.open_cabinet": ("Открыть кабинет", "Open the cabinet"),
    "console.cabinet_demo_only": ("Кабинет абонента открывается из пульта только в демо-режиме.",
                                  "A subscriber's cabinet opens from here in demo mode only."),
    "console.scenarios": ("Сценарии", "Scenarios"),
    "console.start": ("Запустить", "Start"),
    "console.stop": ("Остановить", "Stop"),
    "console.fast": ("мгновенно", "instant"),
    "console.run_status": ("Статус", "Status"),
    "console.timeline": ("Что произошло", "What happened"),
    "console.outcomes": ("Ожидаемые итоги", "Expected outcomes"),
    "console.no_run": ("Выберите сценарий и нажмите «Запустить».", "Pick a scenario and press Start."),
    "console.audit": ("Журнал пульта", "Control-room log"),
    "console.home_requests": ("Заявки «Интернет и ТВ»", "Internet & TV requests"),
    "console.home_in_work": ("В работу", "Take on"),
    "console.home_done": ("Выполнено", "Done"),
    "console.home_none": ("Открытых заявок нет.", "No open requests."),
    "run.running": ("идёт", "running"),
    "run.passed": ("все итоги выполнены", "all outcomes met"),
    "run.failed": ("не все итоги выполнены", "some outcomes not met"),
    "run.stopped": ("остановлен", "stopped"),
    "run.error": ("ошибка", "error"),
    "run.interrupted": ("прерван", "interrupted"),
    "console.met": ("выполнено", "met"),
    "console.not_met": ("не выполнено", "not met"),
})

SPEEDS = ["1", "5", "20", "0"]  # ×1, ×5, ×20, instant (fast-forward)
CLOCK_SPEEDS = {"pause": 0.0, "x1": 1.0, "x60": 60.0, "x3600": 3600.0}
REFRESH_S = 0.5  # the engine panel's period: an event shows within ~0.5 s plus the read (aim ≤ 1 s)


def _pct(value: float) -> str:
    return f"{value * 100:g}"


class ConsoleState(UiState):
    authed: bool = False
    checked: bool = False
    demo: bool = False
    error: str = ""
    notice: str = ""
    # engine
    series: list[dict] = []
    eps_text: str = "0"
    rated_text: str = "0"
    minute_rated: str = "0"
    minute_dup: str = "0"
    minute_rej: str = "0"
    minute_blocked: str = "0"
    charged_minute: str = ""
    per_minute: list[dict] = []
    latency_text: str = "—"
    sessions_text: str = "0"
    population_text: str = "0"
    store_text: str = ""
    refreshed_at: str = ""
    # traffic
    rate: str = ""
    duplicates: str = "0"
    reorder: str = "0"
    malformed: str = "0"
    late: str = "0"
    focus: bool = True
    traffic_error: str = ""
    # clock
    simulated: bool = False
    clock_text: str = ""
    speed_key: str = "x1"
    clock_report: str = ""
    clock_error: str = ""
    # subscribers
    query_text: str = ""
    hits: list[dict[str, str]] = []
    searched: bool = False
    selected: dict[str, str] = {}
    subscriber_error: str = ""
    # scenarios
    scenarios: list[dict[str, str]] = []
    run_speed: str = "5"
    run: dict[str, str] = {}
    timeline: list[dict[str, str]] = []
    outcomes: list[dict[str, str]] = []
    run_error: str = ""
    audit: list[dict[str, str]] = []
    # «Интернет и ТВ» requests not done yet (issue 17): the room moves them new → in work → done
    home_requests: list[dict[str, str]] = []
    home_error: str = ""
    _run_id: int = 0
    _error_pair: list[str] = []
    _population_at: float = 0.0

    # ---------------------------------------------------------------- access

    def _op_token(self) -> str | None:
        return self._cookie(console.OPERATOR_COOKIE)

    async def _operator(self) -> console.OperatorInfo | None:
        """The room's session (touched: a handler call is activity), or None — then the page shows the login
        form again. Checked first by every handler."""
        token = self._op_token()
        if not token:
            return None
        now = runtime.session_now()
        return await in_thread(lambda: transact(runtime.engine(), lambda s: console.validate(
            session=s, token=token, now=now)))

    def _ended(self):
        self.authed = False
        self._error_pair = both("console.e.ended")
        self.error = self._pick(self._error_pair)

    @rx.event
    async def load(self):
        self.demo = get_settings().demo
        self.checked = False
        if self._prelogin() is None and not self.router.url.query_parameters.get("pl"):
            # the room opens subscribers' cabinets and logs in with tickets bound to this browser's nonce
            return rx.call_script("window.location.replace('/api/v1/session/prelogin?next=' + "
                                  "encodeURIComponent('/console?pl=1'))")
        op = await self._operator()
        reason = str(self.router.url.query_parameters.get("e", ""))
        self.notice = self.t.get(f"console.e.{reason}", "") if reason else ""
        self.checked = True
        if op is None:
            self.authed = False
            return None
        self.authed = True
        self.error = ""
        self.scenarios = [{"name": s.name, "title": s.title(self._lang()), "story": s.story(self._lang()),
                           "steps": str(len(s.steps)), "checks": str(len(s.expect))} for s in _scenarios()]
        await self._refresh_all()
        return ConsoleState.watch

    @rx.event
    async def login(self, form: dict):
        token = str(form.get("token", "") or "")
        client = self._client()
        binding = self._prelogin()
        now = runtime.session_now()
        try:
            ticket = await in_thread(lambda: transact(runtime.engine(), lambda s: console.login_with_token(
                session=s, token=token, client=client, now=now, binding=binding), keep_on=(Unauthorized, Locked)))
        except DomainError as exc:
            self._error_pair = both(exc)
            self.error = self._pick(self._error_pair)
            return None
        self.error = ""
        return rx.call_script(f"window.location.assign('/api/v1/console/establish?ticket={ticket}')")

    @rx.event
    async def logout(self):
        return rx.call_script("window.location.assign('/api/v1/console/logout')")

    @rx.event
    def relang(self):
        self.error = self._pick(self._error_pair)
        return ConsoleState.load

    # ---------------------------------------------------------------- the live panel

    @rx.event(background=True)
    async def watch(self):
        """One per tab: the panels twice a second while the room is open; leaves when the session ends."""
        async with self:
            client, token = self.router.session.client_token, self._op_token()
            if not token or not claim_watch("console", client, 0):
                return
        try:
            checked_at = next_at = time.monotonic()
            while True:
                next_at += REFRESH_S  # a fixed period, whatever the refresh itself took
                await asyncio.sleep(max(0.05, next_at - time.monotonic()))
                next_at = max(next_at, time.monotonic() - REFRESH_S)  # after a stall, do not rush to catch up
                if time.monotonic() - checked_at >= 5.0:  # a read-only check: watching is not activity
                    checked_at = time.monotonic()
                    alive = await in_thread(lambda t=token: read(runtime.engine(), lambda s: console.check(
                        session=s, token=t, now=runtime.session_now())))
                    if alive is None:
                        async with self:
                            self._ended()
                        return
                view = await in_thread(self._panel_data)
                async with self:
                    self._apply_panel(view)
                    run_id = self._run_id
                if run_id:
                    rv = await in_thread(_run_view, run_id)
                    async with self:
                        self._apply_run(rv)
        finally:
            release_watch("console", client)

    def _panel_data(self) -> dict:
        eng = runtime.engine()
        data = {"engine": metrics.summary(eng, window_s=120, minutes=10)}
        data["sessions"], _ = read_presence(eng)
        if time.monotonic() - self._population_at > 10:
            from sqlalchemy import func, select

            from mts_portal.core.models import Line

            data["population"] = read(eng, lambda s: s.exec(select(func.count()).select_from(Line)).scalar_one())
        clock = runtime.clock()
        data["now"] = runtime.now()
        data["speed"] = clock.speed if isinstance(clock, SimulatedClock) else 1.0
        data["simulated"] = isinstance(clock, SimulatedClock)
        data["store"] = eng.dialect.name + ("" if eng.dialect.name != "sqlite" else f" · {eng.url.database}")
        return data

    def _apply_panel(self, d: dict) -> None:
        lang = self._lang()
        e = d["engine"]
        self.series = [{"t": datetime.fromtimestamp(p["second"], MSK).strftime("%H:%M:%S"),
                        "rated": p["rated"], "duplicate": p["duplicate"], "rejected": p["rejected"],
                        "blocked": p["blocked"]} for p in e["series"]]
        self.eps_text = count_digits(round(e["events_per_s"]), lang)
        self.rated_text = count_digits(round(e["rated_per_s"]), lang)
        lm = e["last_minute"]
        self.minute_rated = count_digits(lm["rated"], lang)
        self.minute_dup = count_digits(lm["duplicate"], lang)
        self.minute_rej = count_digits(lm["rejected"], lang)
        self.minute_blocked = count_digits(lm["blocked"], lang)
        self.charged_minute = format_rub(lm["charged_kopecks"], lang)
        self.per_minute = [{"m": datetime.fromtimestamp(p["minute"], MSK).strftime("%H:%M"),
                            "rub": p["charged_kopecks"] // 100} for p in e["per_minute"]]
        ms = "ms" if lang == "en" else "мс"
        self.latency_text = (f"{e['p50_ms']:.0f} / {e['p95_ms']:.0f} {ms}" if e["p50_ms"] is not None else "—")
        self.sessions_text = count_digits(d["sessions"], lang)
        if "population" in d:
            self.population_text = count_digits(d["population"], lang)
            self._population_at = time.monotonic()
        self.store_text = d["store"]
        self.simulated = d["simulated"]
        speed = d["speed"]
        self.speed_key = next((k for k, v in CLOCK_SPEEDS.items() if v == speed), "x1")
        self.clock_text = fmt_datetime(d["now"]) + (" МСК" if lang == "ru" else " Moscow")
        self.refreshed_at = datetime.now(MSK).strftime("%H:%M:%S")

    async def _refresh_all(self) -> None:
        self._population_at = 0.0
        view = await in_thread(self._panel_data)
        self._apply_panel(view)
        settings = await in_thread(lambda: read(runtime.engine(), console.traffic))
        self.rate = f"{settings.rate_per_s:g}"
        self.duplicates, self.reorder = _pct(settings.duplicates), _pct(settings.reorder)
        self.malformed, self.late = _pct(settings.malformed), _pct(settings.late)
        self.focus = settings.focus
        await self._load_audit()
        await self._load_home_requests()
        if not self._run_id:
            self._run_id = await in_thread(_last_run_id)
        if self._run_id:
            self._apply_run(await in_thread(_run_view, self._run_id))

    async def _load_audit(self) -> None:
        rows = await in_thread(lambda: read(runtime.engine(), lambda s: console.recent_audit(s, 12)))
        self.audit = [{"at": fmt_datetime(r.at), "action": r.action, "target": r.target, "detail": r.detail}
                      for r in rows]

    async def _load_home_requests(self) -> None:
        from sqlalchemy import select

        from mts_portal.core import home
        from mts_portal.core.models import HomeRequest

        lang = self._lang()

        def fn(s):
            rows = s.exec(select(HomeRequest).where(HomeRequest.status != "done")
                          .order_by(HomeRequest.id.desc()).limit(10)).scalars()
            return [{"number": r.number, "kind": r.kind, "status": r.status,
                     "status_label": home.status_word(r.status, lang), "when": fmt_datetime(r.created_at),
                     "next": "in_work" if r.status == "new" else "done"} for r in rows]

        self.home_requests = await in_thread(lambda: read(runtime.engine(), fn))

    @rx.event
    async def advance_home_request(self, number: str, status: str):
        """Move a home request on (the core refuses going back or an unknown number)."""
        op = await self._operator()
        if op is None:
            return self._ended()
        from mts_portal.core import home

        number, status, now = str(number)[:16], str(status)[:8], runtime.now()

        def fn(s):
            req = home.advance(session=s, number=number, to_status=status, now=now)
            console.audit(s, op.session_id, "home_request", req.number, req.status, runtime.session_now())

        try:
            await in_thread(lambda: transact(runtime.engine(), fn))
        except DomainError as exc:
            self.home_error = self._msg(exc)
            return None
        self.home_error = ""
        await self._load_home_requests()
        await self._load_audit()

    # ---------------------------------------------------------------- traffic

    @rx.event
    async def save_traffic(self, form: dict):
        op = await self._operator()
        if op is None:
            return self._ended()
        self.traffic_error = ""

        def share(key: str):
            raw = str(form.get(key, "0") or "0").replace(",", ".").strip()
            try:
                return float(raw) / 100.0
            except ValueError:
                return raw  # the core answers with the field's rule

        rate = str(form.get("rate", "") or "").replace(",", ".").strip()
        focus = str(form.get("focus", "")).lower() in ("on", "true", "1")
        now = runtime.session_now()
        try:
            settings = await in_thread(lambda: transact(runtime.engine(), lambda s: console.set_traffic(
                session=s, operator_session_id=op.session_id, now=now, rate_per_s=rate if rate else None,
                duplicates=share("duplicates"), reorder=share("reorder"), malformed=share("malformed"),
                late=share("late"), focus=focus)))
        except DomainError as exc:
            self.traffic_error = self._msg(exc)
            return None
        self.rate = f"{settings.rate_per_s:g}"
        self.focus = settings.focus
        await self._load_audit()
        return rx.toast.success(self.t["console.traffic_saved"])

    # ---------------------------------------------------------------- clock

    @rx.event
    async def set_speed(self, key: str):
        op = await self._operator()
        if op is None:
            return self._ended()
        clock = runtime.clock()
        if not isinstance(clock, SimulatedClock) or key not in CLOCK_SPEEDS:
            self.clock_error = self.t["console.clock_real"]
            return None
        await in_thread(clock.set_speed, CLOCK_SPEEDS[key])
        await in_thread(lambda: transact(runtime.engine(), lambda s: console.audit(
            s, op.session_id, "clock_speed", key, "", runtime.session_now())))
        self.speed_key = key
        self.clock_error = ""
        await self._load_audit()

    @rx.event
    async def jump(self, where: str):
        """To the next Moscow midnight, or to the start of the next billing period, running what falls due."""
        op = await self._operator()
        if op is None:
            return self._ended()
        clock = runtime.clock()
        if not isinstance(clock, SimulatedClock):
            self.clock_error = self.t["console.clock_real"]
            return None
        now = runtime.now()
        target = moscow_midnight(moscow_date(now) + timedelta(days=1)) if where == "day" else period_of(now).end
        target += timedelta(seconds=1)

        def move():
            from mts_portal.core import jobs

            clock.move_to(target)
            report = jobs.run_due(runtime.engine(), target)
            transact(runtime.engine(), lambda s: console.audit(s, op.session_id, "clock_jump", where,
                                                               json.dumps(report.to_json()), runtime.session_now()))
            return report

        try:
            report = await in_thread(move)
        except DomainError as exc:
            self.clock_error = self._msg(exc)
            return None
        except ValueError as exc:  # another process moved the clock further meanwhile
            self.clock_error = str(exc)
            return None
        if report.changed_line_ids:
            HUB.publish(report.changed_line_ids)
        j = report.to_json()
        lang = self._lang()
        self.clock_error = ""
        self.clock_report = (f"{fmt_datetime(target)}: начало периода — {j['rollovers']}, суточные платы — "
                             f"{j['content_fees']}, автоплатежи — {j['autopay_runs']}, обещанные платежи истекли — "
                             f"{j['promised_expired']}" if lang == "ru" else
                             f"{fmt_datetime(target)}: period starts {j['rollovers']}, daily fees {j['content_fees']}, "
                             f"autopays {j['autopay_runs']}, promised payments expired {j['promised_expired']}")
        await self._refresh_all()

    # ---------------------------------------------------------------- subscribers

    @rx.event
    async def search(self, form: dict):
        op = await self._operator()
        if op is None:
            return self._ended()
        self.query_text = str(form.get("q", "") or "")[:80]
        q = self.query_text
        lang = self._lang()
        hits = await in_thread(lambda: read(runtime.engine(), lambda s: console.find_lines(s, q)))
        cat = default_catalog()
        self.hits = [{"msisdn": h.msisdn, "label": h.label, "holder": h.holder, "status": h.status,
                      "tariff": cat.tariffs[h.tariff_code].name_en if lang == "en" else cat.tariffs[h.tariff_code].name_ru,
                      "balance": format_rub(h.balance_kopecks, lang)} for h in hits]
        self.searched = True
        self.selected = {}

    @rx.event
    async def select_line(self, msisdn: str):
        op = await self._operator()
        if op is None:
            return self._ended()
        from mts_portal.core import billing

        m = str(msisdn)[:11]
        lang = self._lang()
        try:
            summary = await in_thread(lambda: read(runtime.engine(), lambda s: billing.line_summary(
                session=s, msisdn=m, now=runtime.now())))
        except DomainError as exc:
            self.subscriber_error = self._msg(exc)
            return None
        from mts_portal.core.money import format_amount

        self.subscriber_error = ""
        self.selected = {
            "msisdn": summary.msisdn, "label": format_msisdn(summary.msisdn),
            "balance": format_rub(summary.balance_kopecks, lang), "status": summary.status,
            "holder": summary.holder_name,
            "tariff": summary.tariff_name_en if lang == "en" else summary.tariff_name_ru,
            "bonus": str(summary.bonus_points),
            "buckets": " · ".join(f"{format_amount(b.remaining, b.unit, lang)}" for b in summary.buckets) or "—",
        }

    @rx.event
    async def open_cabinet(self, msisdn: str):
        op = await self._operator()
        if op is None:
            return self._ended()
        if not get_settings().demo:
            self.subscriber_error = self.t["console.cabinet_demo_only"]
            return None
        m, binding, now = str(msisdn)[:11], self._prelogin(), runtime.session_now()
        try:
            ticket = await in_thread(lambda: transact(runtime.engine(), lambda s: console.open_cabinet(
                session=s, operator_session_id=op.session_id, msisdn=m, binding=binding, now=now)))
        except DomainError as exc:
            self.subscriber_error = self._msg(exc)
            return None
        self.subscriber_error = ""
        await self._load_audit()
        return rx.call_script(f"window.open('/api/v1/session/establish?ticket={ticket}&next=/', '_blank')")

    # ---------------------------------------------------------------- scenarios

    @rx.event
    def set_run_speed(self, value: str):
        self.run_speed = value if value in SPEEDS else "5"

    @rx.event
    async def start_scenario(self, name: str):
        op = await self._operator()
        if op is None:
            return self._ended()
        from simulator.scenario import ScenarioError, start_in_background

        clock = runtime.clock()
        if not isinstance(clock, SimulatedClock):
            self.run_error = self.t["console.clock_real"]
            return None
        speed = float(self.run_speed)
        try:
            run_id = await in_thread(lambda: start_in_background(runtime.engine(), clock, str(name), speed=speed,
                                                                 publish=HUB.publish,
                                                                 demo_traffic=get_settings().demo))
        except ScenarioError as exc:
            self.run_error = str(exc)
            return None
        await in_thread(lambda: transact(runtime.engine(), lambda s: console.audit(
            s, op.session_id, "scenario_start", str(name), f"run {run_id}, ×{speed:g}", runtime.session_now())))
        self.run_error = ""
        self._run_id = run_id
        self._apply_run(await in_thread(_run_view, run_id))
        await self._load_audit()

    @rx.event
    async def stop_scenario(self):
        op = await self._operator()
        if op is None:
            return self._ended()
        from simulator.scenario import request_stop

        if self._run_id:
            run_id = self._run_id
            await in_thread(request_stop, runtime.engine(), run_id)
            await in_thread(lambda: transact(runtime.engine(), lambda s: console.audit(
                s, op.session_id, "scenario_stop", str(run_id), "", runtime.session_now())))

    def _apply_run(self, view: dict | None) -> None:
        if not view:
            return
        lang = self._lang()
        sc = next((s for s in _scenarios() if s.name == view["name"]), None)
        self.run = {"id": str(view["id"]), "name": view["name"], "title": sc.title(lang) if sc else view["name"],
                    "status": view["status"], "status_text": self.t.get(f"run.{view['status']}", view["status"]),
                    "progress": str(round(100 * view["progress"] / max(1, view["steps"]))),
                    "steps": f"{view['progress']} / {view['steps']}", "error": view.get("error") or ""}
        subs = view.get("subscribers", {})
        rows = []
        for e in reversed(view["timeline"][-60:]):
            rows.append({"t": f"{e.get('t', 0):.0f} s" if lang == "en" else f"{e.get('t', 0):.0f} с",
                         "text": e.get("en" if lang == "en" else "ru", ""), "who": e.get("who", ""),
                         "msisdn": e.get("msisdn") or subs.get(e.get("who", ""), ""),
                         "status": str(e.get("status", ""))})
        self.timeline = rows
        self.outcomes = [{"text": o["text_en" if lang == "en" else "text_ru"], "met": "1" if o["met"] else "0",
                          "detail": "" if o["met"] else f"{o.get('expected', '')} ≠ {o.get('actual', '')}"}
                         for o in view.get("outcomes", [])]


def _scenarios():
    from simulator.scenario import all_scenarios

    return all_scenarios()


def _run_view(run_id: int) -> dict | None:
    from mts_portal.core.models import ScenarioRun
    from simulator.scenario import run_view

    row = read(runtime.engine(), lambda s: s.get(ScenarioRun, run_id))
    return run_view(row, datetime.now(UTC)) if row else None


def _last_run_id() -> int:
    from sqlalchemy import select

    from mts_portal.core.models import ScenarioRun

    return read(runtime.engine(), lambda s: s.exec(select(ScenarioRun.id).order_by(ScenarioRun.id.desc())
                                                   .limit(1)).scalars().first()) or 0
