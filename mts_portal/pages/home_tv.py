"""/internet-tv — «Интернет и ТВ»: the home contract's balance and payment, tariff, packages and options
(the cost first), equipment, traffic and TV viewing, history, «20 % возврата», requests; for a mobile
login without a contract, linking one by a code (multi-account)."""

from __future__ import annotations

import reflex as rx

from mts_portal.components.layout import RED, card, page_frame
from mts_portal.state.base import UiState
from mts_portal.state.home_tv import HomeTvState as S

T = UiState.t


def _err(var, id_: str) -> rx.Component:
    return rx.cond(var != "", rx.text(var, color="var(--red-11)", size="2", id=id_))


def _summary() -> rx.Component:
    return card(
        rx.flex(
            rx.vstack(
                rx.text(T["htv.contract"] + " " + S.contract_label, size="2", color="var(--gray-11)",
                        id="home-contract"),
                rx.text(S.address, size="2", id="home-address"),
                rx.text(T["htv.balance"], size="2", color="var(--gray-11)"),
                rx.heading(S.balance, size="8", id="home-balance", color=rx.cond(S.negative, "var(--red-11)", "inherit")),
                rx.badge(S.status_label, color_scheme=rx.cond(S.status == "active", "green", "red"), id="home-status"),
                spacing="1", align="start",
            ),
            rx.spacer(),
            rx.vstack(
                rx.text(T["htv.tariff"], size="2", color="var(--gray-11)"),
                rx.text(S.tariff, weight="bold", id="home-tariff"),
                rx.text(S.tariff_speed, size="2"),
                rx.text(T["htv.monthly"] + ": " + S.monthly, size="2", id="home-monthly"),
                rx.text(S.used, size="2", id="home-used"),
                spacing="1", align=rx.breakpoints(initial="start", sm="end"),
            ),
            direction=rx.breakpoints(initial="column", sm="row"), gap="12px", width="100%",
        ),
        rx.cond(S.status == "suspended", rx.callout(T["htv.suspended"], icon="triangle-alert", color_scheme="red",
                                                    margin_top="12px", id="home-suspended")),
        rx.cond(S.capped, rx.callout(T["htv.capped"], icon="gauge", color_scheme="orange", margin_top="12px",
                                     id="home-capped")),
    )


def _pay() -> rx.Component:
    return card(
        rx.heading(T["htv.pay"], size="4"),
        rx.form(
            rx.flex(
                rx.input(name="amount", placeholder=T["htv.amount"], id="home-pay-amount", input_mode="decimal",
                         width=rx.breakpoints(initial="100%", sm="120px")),
                rx.input(name="card", placeholder=T["htv.card"], id="home-pay-card", input_mode="numeric",
                         auto_complete="cc-number", width=rx.breakpoints(initial="100%", sm="220px")),
                rx.input(name="expiry", placeholder=T["htv.expiry"], id="home-pay-expiry", width="90px"),
                rx.input(name="cvc", placeholder="CVC", id="home-pay-cvc", type="password", width="80px"),
                rx.button(T["htv.pay"], type="submit", id="home-pay-submit", color_scheme="red"),
                gap="8px", wrap="wrap", align="center", margin_top="8px",
            ),
            _err(S.pay_error, "home-pay-error"),
            on_submit=S.pay, reset_on_submit=False,
        ),
    )


def _pending() -> rx.Component:
    return rx.cond(
        S.pending_code != "",
        rx.callout(
            rx.vstack(
                rx.text(S.pending_text, id="home-pending-text"),
                rx.hstack(
                    rx.button(T["confirm"], on_click=S.confirm_pending, id="home-confirm", color_scheme="red",
                              size="2"),
                    rx.button(T["cancel"], on_click=S.cancel_pending, id="home-cancel", variant="soft", size="2"),
                ),
                spacing="2",
            ),
            icon="info", color_scheme="blue", width="100%", id="home-pending",
        ),
    )


def _product_row(p) -> rx.Component:
    return rx.flex(
        rx.vstack(rx.text(p["name"], weight="medium"), rx.text(p["desc"], size="1", color="var(--gray-11)"),
                  spacing="0", flex="1", min_width="0"),
        rx.text(p["fee"], size="2", white_space="nowrap"),
        rx.cond(
            p["included"] == "1",
            rx.badge("✓", color_scheme="green"),
            rx.cond(p["on"] == "1",
                    rx.button(T["htv.disconnect"], on_click=S.disconnect(p["code"]), variant="soft", size="1",
                              id="home-off-" + p["code"]),
                    rx.button(T["htv.connect"], on_click=S.ask_connect(p["code"]), size="1",
                              id="home-on-" + p["code"])),
        ),
        gap="12px", align="center", width="100%", padding_y="6px", border_bottom="1px solid var(--gray-3)",
        id="home-product-" + p["code"],
    )


def _tariffs() -> rx.Component:
    return card(
        rx.heading(T["htv.tariff"], size="4"),
        rx.foreach(S.tariffs, lambda t: rx.flex(
            rx.vstack(rx.text(t["name"], weight="medium"), rx.text(t["desc"], size="1", color="var(--gray-11)"),
                      spacing="0", flex="1", min_width="0"),
            rx.text(t["fee"], size="2", white_space="nowrap"),
            rx.cond(t["current"] == "1", rx.badge("✓", color_scheme="green"),
                    rx.button(T["htv.switch"], on_click=S.ask_switch(t["code"]), size="1", variant="soft",
                              id="home-switch-" + t["code"])),
            gap="12px", align="center", width="100%", padding_y="6px", border_bottom="1px solid var(--gray-3)",
        )),
    )


def _usage() -> rx.Component:
    return card(
        rx.heading(T["htv.traffic"], size="4"),
        rx.vstack(
            rx.foreach(S.usage, lambda d: rx.hstack(
                rx.text(d["day"], size="1", width="42px"),
                rx.box(rx.box(width=d["pct"] + "%", height="10px", background=RED, border_radius="4px"),
                       flex="1", background="var(--gray-3)", border_radius="4px"),
                rx.text(d["data"], size="1", width="72px", text_align="right"),
                rx.box(rx.box(width=d["tv_pct"] + "%", height="10px", background="var(--blue-9)", border_radius="4px"),
                       width=rx.breakpoints(initial="50px", sm="120px"), background="var(--gray-3)",
                       border_radius="4px"),
                rx.text(d["tv"], size="1", width="36px"),
                align="center", width="100%", spacing="2", class_name="home-usage-day",
            )),
            spacing="1", width="100%", id="home-usage", margin_top="8px",
        ),
        rx.cond(S.usage.length() == 0, rx.text(T["htv.no_usage"], size="2", color="var(--gray-11)")),
    )


def _equipment_history_promo() -> rx.Component:
    return rx.grid(
        card(
            rx.heading(T["htv.equipment"], size="4"),
            rx.foreach(S.equipment, lambda e: rx.text(e["label"], size="2", class_name="home-equipment")),
            rx.cond(S.equipment.length() == 0, rx.text(T["htv.no_equipment"], size="2", color="var(--gray-11)")),
            id="home-equipment",
        ),
        card(
            rx.heading(T["htv.promo"], size="4"),
            rx.text(T["htv.promo_text"], size="2", color="var(--gray-11)"),
            rx.cond(S.promo_in, rx.text(S.promo_text, size="2", id="home-promo-in"),
                    rx.button(T["htv.promo_join"], on_click=S.join_promo, id="home-promo-join", size="2",
                              margin_top="8px")),
            rx.foreach(S.returns, lambda r: rx.text(r["when"] + " · " + r["what"] + " · " + r["amount"], size="2",
                                                    class_name="home-return")),
            id="home-promo",
        ),
        columns=rx.breakpoints(initial="1", md="2"), gap="16px", width="100%",
    )


def _history() -> rx.Component:
    return card(
        rx.heading(T["htv.history"], size="4"),
        rx.vstack(
            rx.foreach(S.history, lambda h: rx.flex(
                rx.text(h["when"], size="1", color="var(--gray-11)", width="120px", flex_shrink="0"),
                rx.text(h["what"], size="2", flex="1", min_width="0"),
                rx.text(h["amount"], size="2", white_space="nowrap",
                        color=rx.cond(h["amount"].contains("+"), "var(--green-11)", "inherit")),
                gap="8px", width="100%", wrap="wrap", class_name="home-history-row",
            )),
            spacing="1", width="100%", id="home-history", max_height="320px", overflow_y="auto",
        ),
    )


def _requests() -> rx.Component:
    svc = lambda k: rx.checkbox(T["htv.svc." + k], name="svc_" + k, id="home-req-" + k)  # noqa: E731
    return card(
        rx.heading(T["htv.requests"], size="4"),
        rx.grid(
            rx.form(
                rx.vstack(
                    rx.text(T["htv.connect_request"], weight="bold"),
                    rx.input(name="address", placeholder=T["htv.address"], id="home-req-address", width="100%"),
                    rx.flex(svc("internet"), svc("tv"), svc("static_ip"), svc("antivirus"), gap="12px", wrap="wrap"),
                    rx.input(name="contact", placeholder=T["htv.contact"], id="home-req-contact", width="100%",
                             type="tel"),
                    rx.select(["9:00–12:00", "12:00–15:00", "15:00–18:00", "18:00–21:00"], name="call_time",
                              placeholder=T["htv.call_time"], id="home-req-time"),
                    rx.button(T["htv.send"], type="submit", id="home-req-send"),
                    _err(S.request_error, "home-req-error"),
                    spacing="2", width="100%",
                ),
                on_submit=S.file_request, reset_on_submit=False,
            ),
            rx.form(
                rx.vstack(
                    rx.text(T["htv.problem"], weight="bold"),
                    rx.select.root(
                        rx.select.trigger(placeholder=T["htv.svc.internet"] + " / " + T["htv.svc.tv"],
                                          id="home-problem-service"),
                        rx.select.content(*[rx.select.item(T["htv.svc." + k], value=k, id="home-problem-svc-" + k)
                                            for k in ("internet", "tv", "equipment", "payment")]),
                        name="service",
                    ),
                    rx.text_area(name="text", placeholder=T["htv.problem_text"], id="home-problem-text",
                                 width="100%"),
                    rx.button(T["htv.send"], type="submit", id="home-problem-send"),
                    _err(S.problem_error, "home-problem-error"),
                    spacing="2", width="100%",
                ),
                on_submit=S.report_problem, reset_on_submit=False,
            ),
            columns=rx.breakpoints(initial="1", md="2"), gap="16px", width="100%", margin_top="8px",
        ),
        rx.vstack(
            rx.foreach(S.requests, lambda r: rx.hstack(
                rx.text(r["number"], size="2", weight="medium"), rx.text(r["kind"], size="2"),
                rx.badge(r["status_label"], color_scheme=rx.match(r["status"], ("done", "green"), ("in_work", "blue"),
                                                                  "gray")),
                rx.text(r["when"], size="1", color="var(--gray-11)"),
                spacing="2", align="center", wrap="wrap", class_name="home-request", id="home-request-" + r["number"],
            )),
            spacing="1", width="100%", margin_top="12px", id="home-requests",
        ),
        rx.button(T["htv.status_sms"], on_click=S.status_sms, id="home-status-sms", variant="soft",
                  margin_top="12px"),
    )


def _link() -> rx.Component:
    return card(
        rx.heading(T["htv.link_title"], size="4"),
        rx.text(T["htv.link_hint"], size="2", color="var(--gray-11)"),
        rx.cond(
            S.link_step == "contract",
            rx.form(rx.hstack(rx.input(name="contract", placeholder="7700 0000 0000", id="home-link-contract"),
                              rx.button(T["login.get_code"], type="submit", id="home-link-send"), margin_top="8px"),
                    on_submit=S.link_request),
            rx.form(rx.hstack(rx.input(name="code", placeholder="••••••", id="home-link-code", max_length=6),
                              rx.button(T["confirm"], type="submit", id="home-link-confirm"), margin_top="8px"),
                    on_submit=S.link_confirm, reset_on_submit=True),
        ),
        _err(S.link_error, "home-link-error"),
        id="home-link",
    )


def home_tv_page() -> rx.Component:
    return page_frame(
        "/internet-tv",
        rx.cond(S.message != "", rx.callout(S.message, icon="check", color_scheme="green", id="home-message",
                                            width="100%")),
        _err(S.error, "home-error"),
        rx.cond(
            S.has_home,
            rx.vstack(
                _summary(), _pay(), _pending(),
                card(rx.heading(T["htv.packages"], size="4"), rx.foreach(S.packages, _product_row),
                     id="home-packages"),
                card(rx.heading(T["htv.options"], size="4"), rx.foreach(S.options, _product_row),
                     id="home-options"),
                _tariffs(), _usage(), _equipment_history_promo(), _history(), _requests(),
                spacing="4", width="100%",
            ),
        ),
        rx.cond(S.loaded & ~S.is_home, _link()),
        title_key="htv.title",
    )
