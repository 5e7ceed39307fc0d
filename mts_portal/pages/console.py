"""/console — the control room of the product team: engine, traffic, clock, subscribers, scenarios."""

from __future__ import annotations

import reflex as rx

from mts_portal.components.layout import RED, card, public_header
from mts_portal.state.base import UiState
from mts_portal.state.console import SPEEDS, ConsoleState

T = UiState.t
MUTED = "var(--gray-11)"


def stat(label_key: str, value, id_: str, hint=None) -> rx.Component:
    return rx.vstack(
        rx.text(T[label_key], size="1", color=MUTED),
        rx.text(value, size="5", weight="bold", id=id_),
        rx.cond(hint is not None, rx.text(hint if hint is not None else "", size="1", color=MUTED)),
        spacing="0", min_width="120px", flex="1",
    )


def error_line(text, id_: str) -> rx.Component:
    return rx.cond(text != "", rx.callout(text, color_scheme="red", icon="triangle-alert", size="1", id=id_,
                                          role="alert", width="100%"))


def login_card() -> rx.Component:
    return card(rx.form(
        rx.vstack(
            rx.heading(T["console.login"], size="5", as_="h1"),
            rx.cond(ConsoleState.notice != "", rx.callout(ConsoleState.notice, icon="info", size="1",
                                                          id="console-notice", width="100%")),
            rx.el.label(T["console.token"], html_for="console-token", style={"fontWeight": 500}),
            rx.input(name="token", id="console-token", type="password", auto_complete="off", width="100%",
                     aria_describedby="console-token-hint"),
            rx.text(T["console.token_hint"], size="1", color=MUTED, id="console-token-hint"),
            error_line(ConsoleState.error, "console-login-error"),
            rx.button(T["console.enter"], type="submit", id="console-login", color_scheme="red", width="100%"),
            rx.cond(ConsoleState.demo, rx.text(T["console.demo_hint"], size="1", color=MUTED)),
            spacing="3", width="100%",
        ),
        on_submit=ConsoleState.login, reset_on_submit=False,
    ), max_width="420px")


def engine_card() -> rx.Component:
    colors = {"rated": "#2e7d32", "duplicate": "#1565c0", "rejected": "#ef6c00", "blocked": RED}
    return card(rx.vstack(
        rx.hstack(rx.heading(T["console.engine"], size="4", as_="h2"), rx.spacer(),
                  rx.badge(ConsoleState.refreshed_at, variant="soft", color_scheme="gray", id="console-refreshed"),
                  width="100%", align="center"),
        rx.flex(
            stat("console.eps", ConsoleState.eps_text, "engine-eps"),
            stat("console.latency", ConsoleState.latency_text, "engine-latency"),
            stat("console.per_minute", ConsoleState.charged_minute, "engine-charged"),
            stat("console.sessions", ConsoleState.sessions_text, "engine-sessions"),
            stat("console.population", ConsoleState.population_text, "engine-population"),
            gap="12px", wrap="wrap", width="100%",
        ),
        rx.box(
            rx.recharts.area_chart(
                *[rx.recharts.area(data_key=k, stack_id="a", stroke=c, fill=c, fill_opacity=0.35,
                                   name=T[f"console.{k}"], is_animation_active=False) for k, c in colors.items()],
                rx.recharts.x_axis(data_key="t", tick={"fontSize": 10}, interval="preserveStartEnd", min_tick_gap=40),
                rx.recharts.y_axis(width=44, tick={"fontSize": 10}),
                rx.recharts.graphing_tooltip(),
                rx.recharts.legend(),
                data=ConsoleState.series, width="100%", height=220,
            ),
            width="100%", id="engine-chart", role="img", aria_label=T["console.engine"],
        ),
        rx.text(T["console.last_minute"] + ": " + T["console.rated"] + " " + ConsoleState.minute_rated + " · "
                + T["console.duplicate"] + " " + ConsoleState.minute_dup + " · " + T["console.rejected"] + " "
                + ConsoleState.minute_rej + " · " + T["console.blocked"] + " " + ConsoleState.minute_blocked,
                size="2", color=MUTED, id="engine-last-minute"),
        rx.box(
            rx.recharts.bar_chart(
                rx.recharts.bar(data_key="rub", fill=RED, name="₽", is_animation_active=False),
                rx.recharts.x_axis(data_key="m", tick={"fontSize": 10}),
                rx.recharts.y_axis(width=44, tick={"fontSize": 10}),
                rx.recharts.graphing_tooltip(),
                data=ConsoleState.per_minute, width="100%", height=140,
            ),
            width="100%", id="engine-per-minute", role="img", aria_label=T["console.per_minute"],
        ),
        rx.text(T["console.store"] + ": " + ConsoleState.store_text, size="1", color=MUTED, id="engine-store",
                word_break="break-all"),
        spacing="3", width="100%",
    ), id="console-engine")


def pct_input(name: str, key: str, value) -> rx.Component:
    return rx.vstack(
        rx.el.label(T[key], html_for=f"traffic-{name}", style={"fontSize": "12px"}),
        rx.input(name=name, id=f"traffic-{name}", default_value=value, key=value, input_mode="decimal",
                 width="100%"),
        spacing="1", flex="1", min_width="110px",
    )


def traffic_card() -> rx.Component:
    return card(rx.form(
        rx.vstack(
            rx.heading(T["console.traffic"], size="4", as_="h2"),
            rx.el.label(T["console.rate"], html_for="traffic-rate", style={"fontSize": "12px"}),
            rx.input(name="rate", id="traffic-rate", default_value=ConsoleState.rate, key=ConsoleState.rate,
                     input_mode="decimal", width="100%"),
            rx.flex(pct_input("duplicates", "console.duplicates", ConsoleState.duplicates),
                    pct_input("reorder", "console.reorder", ConsoleState.reorder),
                    pct_input("malformed", "console.malformed", ConsoleState.malformed),
                    pct_input("late", "console.late", ConsoleState.late), gap="8px", wrap="wrap", width="100%"),
            rx.el.label(rx.hstack(rx.checkbox(name="focus", id="traffic-focus", default_checked=ConsoleState.focus,
                                              key=ConsoleState.focus.to_string()),
                                  rx.text(T["console.focus"], size="2"), align="center", spacing="2")),
            error_line(ConsoleState.traffic_error, "traffic-error"),
            rx.button(T["console.apply"], type="submit", id="traffic-apply", variant="soft"),
            spacing="2", width="100%",
        ),
        on_submit=ConsoleState.save_traffic, reset_on_submit=False,
    ), id="console-traffic")


def speed_button(key: str, label) -> rx.Component:
    return rx.button(label, variant=rx.cond(ConsoleState.speed_key == key, "solid", "soft"),
                     color_scheme=rx.cond(ConsoleState.speed_key == key, "red", "gray"),
                     on_click=ConsoleState.set_speed(key), id=f"clock-{key}", size="2",
                     aria_pressed=rx.cond(ConsoleState.speed_key == key, "true", "false"))


def clock_card() -> rx.Component:
    return card(rx.vstack(
        rx.hstack(rx.heading(T["console.clock"], size="4", as_="h2"), rx.spacer(),
                  rx.text(ConsoleState.clock_text, weight="bold", id="clock-now"), width="100%", align="center",
                  wrap="wrap"),
        rx.cond(
            ConsoleState.simulated,
            rx.vstack(
                rx.flex(speed_button("pause", T["console.pause"]), speed_button("x1", "×1"),
                        speed_button("x60", "×60"), speed_button("x3600", "×3600"), gap="8px", wrap="wrap",
                        role="group", aria_label=T["console.speed"]),
                rx.flex(rx.button(rx.icon("sunrise", size=16), T["console.next_day"], on_click=ConsoleState.jump("day"),
                                  id="clock-next-day", variant="outline"),
                        rx.button(rx.icon("calendar-check", size=16), T["console.period_end"],
                                  on_click=ConsoleState.jump("period"), id="clock-period-end", variant="outline"),
                        gap="8px", wrap="wrap"),
                rx.cond(ConsoleState.clock_report != "",
                        rx.text(T["console.fell_due"] + ": " + ConsoleState.clock_report, size="2", id="clock-report")),
                spacing="3", width="100%",
            ),
            rx.text(T["console.clock_real"], size="2", color=MUTED),
        ),
        error_line(ConsoleState.clock_error, "clock-error"),
        spacing="3", width="100%",
    ), id="console-clock")


def hit_row(h) -> rx.Component:
    return rx.flex(
        rx.vstack(rx.link(h["label"], on_click=ConsoleState.select_line(h["msisdn"]), weight="bold",
                          id="hit-" + h["msisdn"], cursor="pointer", href="#"),
                  rx.text(h["holder"] + " · " + h["tariff"] + " · " + h["balance"], size="1", color=MUTED),
                  spacing="0", min_width="0"),
        rx.spacer(),
        rx.cond(ConsoleState.demo,
                rx.button(rx.icon("external-link", size=14), T["console.open_cabinet"], size="1", variant="soft",
                          on_click=ConsoleState.open_cabinet(h["msisdn"]), id="open-" + h["msisdn"])),
        width="100%", align="center", gap="8px", wrap="wrap", padding_y="6px",
        border_bottom="1px solid var(--gray-4)", class_name="hit-row",
    )


def subscribers_card() -> rx.Component:
    sel = ConsoleState.selected
    return card(rx.vstack(
        rx.heading(T["console.subscribers"], size="4", as_="h2"),
        rx.form(rx.hstack(
            rx.input(name="q", id="subscriber-query", placeholder=T["console.find"], flex="1",
                     aria_label=T["console.find"], default_value=ConsoleState.query_text),
            rx.button(rx.icon("search", size=16), T["console.search"], type="submit", id="subscriber-search"),
            width="100%"), on_submit=ConsoleState.search, reset_on_submit=False, width="100%"),
        rx.cond(ConsoleState.searched & (ConsoleState.hits.length() == 0),
                rx.text(T["console.nothing_found"], size="2", color=MUTED, id="no-hits")),
        rx.vstack(rx.foreach(ConsoleState.hits, hit_row), spacing="0", width="100%", id="hits"),
        rx.cond(sel.contains("msisdn"), rx.box(
            rx.text(sel["label"] + " — " + sel["holder"], weight="bold"),
            rx.text(sel["tariff"] + " · " + sel["balance"] + " · " + sel["status"], size="2"),
            rx.text(sel["buckets"], size="1", color=MUTED),
            padding="10px", background="var(--gray-2)", border_radius="10px", width="100%", id="subscriber-summary",
        )),
        error_line(ConsoleState.subscriber_error, "subscriber-error"),
        spacing="3", width="100%",
    ), id="console-subscribers")


def scenario_row(s) -> rx.Component:
    return rx.flex(
        rx.vstack(rx.text(s["title"], weight="bold"), rx.text(s["story"], size="1", color=MUTED),
                  spacing="1", flex="1", min_width="200px"),
        rx.button(rx.icon("play", size=14), T["console.start"], size="2", on_click=ConsoleState.start_scenario(s["name"]),
                  id="start-" + s["name"], color_scheme="red",
                  aria_label=T["console.start"] + " — " + s["title"]),
        width="100%", gap="10px", align="center", padding_y="8px", border_bottom="1px solid var(--gray-4)",
        class_name="scenario-row", id="scenario-" + s["name"],
    )


def timeline_row(e) -> rx.Component:
    return rx.flex(
        rx.text(e["t"], size="1", color=MUTED, min_width="48px"),
        rx.text(e["text"], size="2", flex="1", min_width="0"),
        rx.cond((e["msisdn"] != "") & ConsoleState.demo,
                rx.button(rx.icon("external-link", size=12), size="1", variant="ghost",
                          on_click=ConsoleState.open_cabinet(e["msisdn"]), aria_label=T["console.open_cabinet"],
                          title=T["console.open_cabinet"], class_name="timeline-open")),
        gap="8px", width="100%", align="start", padding_y="4px", class_name="timeline-row",
    )


def run_card() -> rx.Component:
    run = ConsoleState.run
    return card(rx.vstack(
        rx.hstack(rx.heading(T["console.scenarios"], size="4", as_="h2"), rx.spacer(),
                  rx.el.label(T["console.speed"], html_for="run-speed", style={"fontSize": "12px"}),
                  rx.select.root(
                      rx.select.trigger(id="run-speed", aria_label=T["console.speed"]),
                      rx.select.content(*[rx.select.item(("×" + v) if v != "0" else T["console.fast"], value=v)
                                          for v in SPEEDS]),
                      value=ConsoleState.run_speed, on_change=ConsoleState.set_run_speed, size="1"),
                  width="100%", align="center", wrap="wrap"),
        rx.vstack(rx.foreach(ConsoleState.scenarios, scenario_row), spacing="0", width="100%", id="scenario-list"),
        error_line(ConsoleState.run_error, "run-error"),
        rx.cond(
            run.contains("id"),
            rx.vstack(
                rx.hstack(rx.text(run["title"], weight="bold", size="3"),
                          rx.badge(run["status_text"], id="run-status", data_status=run["status"],
                                   color_scheme=rx.match(run["status"], ("passed", "green"), ("running", "blue"),
                                                         ("failed", "red"), ("error", "red"), "gray")),
                          rx.spacer(),
                          rx.cond(run["status"] == "running",
                                  rx.button(rx.icon("square", size=14), T["console.stop"], size="1", variant="soft",
                                            color_scheme="gray", on_click=ConsoleState.stop_scenario, id="run-stop")),
                          width="100%", align="center", wrap="wrap"),
                rx.progress(value=run["progress"].to(int), max=100, id="run-progress",
                            aria_label=T["console.run_status"]),
                rx.text(run["steps"], size="1", color=MUTED),
                rx.cond(run["error"] != "", rx.text(run["error"], color="red", size="2", id="run-error-text")),
                rx.cond(ConsoleState.outcomes.length() > 0, rx.vstack(
                    rx.heading(T["console.outcomes"], size="3", as_="h3"),
                    rx.foreach(ConsoleState.outcomes, lambda o: rx.hstack(
                        rx.icon(rx.cond(o["met"] == "1", "circle-check", "circle-x"), size=16,
                                color=rx.cond(o["met"] == "1", "#2e7d32", RED), flex_shrink="0"),
                        rx.text(o["text"], size="2"),
                        rx.text(rx.cond(o["met"] == "1", T["console.met"], T["console.not_met"]),
                                class_name="visually-hidden"),
                        align="start", spacing="2", class_name="outcome", data_met=o["met"])),
                    spacing="2", width="100%", id="run-outcomes")),
                rx.heading(T["console.timeline"], size="3", as_="h3"),
                rx.box(rx.foreach(ConsoleState.timeline, timeline_row), max_height="360px", overflow_y="auto",
                       width="100%", id="run-timeline", tab_index=0, aria_label=T["console.timeline"]),
                spacing="2", width="100%", id="run-panel",
            ),
            rx.text(T["console.no_run"], size="2", color=MUTED),
        ),
        spacing="3", width="100%",
    ), id="console-scenarios")


def audit_card() -> rx.Component:
    return card(rx.vstack(
        rx.heading(T["console.audit"], size="4", as_="h2"),
        rx.foreach(ConsoleState.audit, lambda a: rx.text(a["at"] + " · " + a["action"] + " " + a["target"] + " "
                                                         + a["detail"], size="1", color=MUTED)),
        spacing="1", width="100%",
    ), id="console-audit")


def home_requests_card() -> rx.Component:
    """«Интернет и ТВ»: requests not done yet, moved on by a click (each SMS'd to the contact number)."""
    return card(rx.vstack(
        rx.heading(T["console.home_requests"], size="4", as_="h2"),
        rx.foreach(ConsoleState.home_requests, lambda r: rx.hstack(
            rx.text(r["number"], size="2", weight="medium"), rx.badge(r["status_label"]),
            rx.text(r["when"], size="1", color=MUTED), rx.spacer(),
            rx.button(rx.cond(r["next"] == "done", T["console.home_done"], T["console.home_in_work"]), size="1",
                      variant="soft", on_click=ConsoleState.advance_home_request(r["number"], r["next"]),
                      id="console-home-" + r["number"]),
            width="100%", align="center", wrap="wrap",
        )),
        rx.cond(ConsoleState.home_requests.length() == 0, rx.text(T["console.home_none"], size="2", color=MUTED)),
        error_line(ConsoleState.home_error, "console-home-error"),
        spacing="2", width="100%",
    ), id="console-home-requests")


def console_page() -> rx.Component:
    leave = rx.cond(ConsoleState.authed,
                    rx.button(rx.icon("log-out", size=16), rx.text(T["console.logout"], display=["none", "inline"]),
                              variant="ghost", size="2", on_click=ConsoleState.logout, id="console-logout",
                              aria_label=T["console.logout"]))
    body = rx.cond(
        ConsoleState.authed,
        rx.vstack(
            rx.vstack(rx.heading(T["console.title"], size="6", as_="h1", id="console-title"),
                      rx.text(T["console.subtitle"], size="2", color=MUTED), spacing="1"),
            rx.grid(
                rx.vstack(engine_card(), run_card(), spacing="4", width="100%", min_width="0"),
                rx.vstack(clock_card(), traffic_card(), subscribers_card(), home_requests_card(), audit_card(),
                          spacing="4", width="100%",
                          min_width="0"),
                columns=rx.breakpoints(initial="1", lg="2"), gap="16px", width="100%",
                style={"gridTemplateColumns": rx.breakpoints(initial="minmax(0, 1fr)",
                                                             lg="minmax(0, 3fr) minmax(0, 2fr)")},
            ),
            spacing="4", width="100%",
        ),
        rx.cond(ConsoleState.checked, rx.center(login_card(), width="100%", padding_top="32px"),
                rx.center(rx.spinner(size="3"), padding="64px", id="console-loading")),
    )
    return rx.box(
        public_header(leave),
        rx.el.main(body, style={"maxWidth": "1280px", "margin": "0 auto", "padding": "16px", "width": "100%"},
                   id="main"),
        min_height="100vh", background="var(--gray-2)",
    )
