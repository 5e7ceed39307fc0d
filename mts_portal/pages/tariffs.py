"""/tariffs — current tariff, catalogue, compare, switch, advisor."""

from __future__ import annotations

import reflex as rx

from mts_portal.components.layout import RED, card, page_frame, section_title
from mts_portal.state.base import UiState
from mts_portal.state.tariffs import TariffsState

T = UiState.t


def current_card() -> rx.Component:
    c = TariffsState.current
    return card(rx.vstack(
        rx.text(T["tariffs.current"], size="2", color="var(--gray-11)"),
        rx.heading(c["name"], size="6", id="current-tariff"),
        rx.text(c["description"], size="2"),
        rx.grid(
            *[rx.vstack(rx.text(T[label], size="1", color="var(--gray-11)"),
                        rx.text(c[key], weight="medium", id="current-" + key), spacing="0") for label, key in (
                ("tariffs.fee", "fee"), ("tariffs.minutes", "minutes"), ("tariffs.sms", "sms"),
                ("tariffs.data", "data"), ("tariffs.rate_min", "rate_min"), ("tariffs.rate_sms", "rate_sms"),
                ("tariffs.rate_mb", "rate_mb"))],
            columns=rx.breakpoints(initial="2", sm="4"), spacing="4", width="100%",
        ),
        spacing="3", width="100%",
    ), id="current-tariff-card")


def tariff_card(t) -> rx.Component:
    return card(rx.vstack(
        rx.hstack(rx.heading(t["name"], size="5"), rx.spacer(),
                  rx.cond(t["current"] == "1", rx.badge(T["tariffs.is_current"], color_scheme="green")),
                  width="100%", align="center"),
        rx.hstack(rx.text(t["fee"], size="6", weight="bold"), rx.text(T["home.per_month"], size="2",
                                                                      color="var(--gray-11)"), align="baseline"),
        rx.text(t["description"], size="2", color="var(--gray-11)"),
        rx.hstack(*[rx.cond(t[k] != "—", rx.badge(rx.icon(icon, size=12), t[k], variant="soft"))
                    for k, icon in (("minutes", "phone"), ("sms", "message-square"), ("data", "wifi"))], wrap="wrap"),
        rx.spacer(),
        rx.cond(t["current"] == "1", rx.box(),
                rx.button(T["tariffs.switch"], on_click=TariffsState.open_preview(t["code"]),
                          id="switch-" + t["code"], width="100%", disabled=TariffsState.switch_block != "",
                          title=TariffsState.switch_block)),
        spacing="3", height="100%",
    ), id="tariff-" + t["code"])


def _cell(key: str):
    """One compare-table cell per tariff (foreach would take a second lambda parameter as the index)."""
    return lambda t: rx.table.cell(t[key], white_space="nowrap", font_weight=rx.cond(t["current"] == "1", "bold",
                                                                                      "normal"))


def compare_table() -> rx.Component:
    rows = [("tariffs.fee", "fee"), ("tariffs.minutes", "minutes"), ("tariffs.sms", "sms"), ("tariffs.data", "data"),
            ("tariffs.rate_min", "rate_min"), ("tariffs.rate_sms", "rate_sms"), ("tariffs.rate_mb", "rate_mb")]
    return card(rx.vstack(
        section_title("tariffs.compare"),
        # a plain scrolling region a keyboard can reach (tab stop, named), not Radix's ScrollArea viewport
        rx.box(rx.table.root(
            rx.table.header(rx.table.row(
                rx.table.column_header_cell(rx.el.span(T["tariffs.compare"], class_name="visually-hidden")),
                rx.foreach(TariffsState.catalogue, lambda t: rx.table.column_header_cell(
                    t["name"], color=rx.cond(t["current"] == "1", RED, "inherit"))),
            )),
            rx.table.body(*[rx.table.row(
                rx.table.row_header_cell(T[label], white_space="nowrap"),
                rx.foreach(TariffsState.catalogue, _cell(key)),
            ) for label, key in rows]),
            size="1", variant="surface", id="compare-table",
        ), overflow_x="auto", width="100%", tab_index=0, role="region", aria_label=T["tariffs.compare"],
            id="compare-scroll"),
        spacing="3", width="100%",
    ))


def switch_block_note() -> rx.Component:
    """Why the «Перейти» buttons are disabled (a family member; an owner whose group has members)."""
    return rx.cond(TariffsState.switch_block != "", rx.callout(
        TariffsState.switch_block, icon="info", color_scheme="gray", id="switch-blocked", width="100%"))


def preview_dialog() -> rx.Component:
    p = TariffsState.preview
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(p["title"]),
            rx.vstack(
                rx.text(T["tariffs.preview_fee"] + ": ", rx.text.strong(p["fee"], id="preview-fee"),
                        " — " + p["charge_for"], size="2", id="preview-charge"),
                rx.text(p["refund"], size="2", id="preview-refund"),
                rx.cond(p["next"] != "", rx.text(p["next"], size="2", color="var(--gray-11)", id="preview-next")),
                rx.cond(p["invites"] != "", rx.text(p["invites"], size="2", color="var(--orange-11)",
                                                    id="preview-invites")),
                rx.text(T["tariffs.preview_bundles"] + ": ", rx.text.strong(p["bundles"], id="preview-bundles"),
                        size="2"),
                rx.text(T["tariffs.preview_balance"] + ": ", rx.text.strong(p["balance_after"],
                                                                           id="preview-balance"), size="2"),
                rx.text(T["tariffs.preview_ends"], size="1", color="var(--gray-11)"),
                rx.cond(~TariffsState.preview_affordable,
                        rx.callout(T["tariffs.not_affordable"], color_scheme="orange", icon="triangle-alert",
                                   id="preview-unaffordable")),
                rx.cond(TariffsState.preview_error != "", rx.text(TariffsState.preview_error, color="red",
                                                                  size="2", id="preview-error")),
                spacing="2", margin_top="8px",
            ),
            rx.flex(
                rx.alert_dialog.cancel(rx.button(T["cancel"], variant="soft", color_scheme="gray",
                                                 on_click=TariffsState.close_preview)),
                rx.button(T["tariffs.confirm"], on_click=TariffsState.confirm_switch, id="switch-confirm",
                          disabled=~TariffsState.preview_affordable),
                gap="12px", justify="end", margin_top="16px"),
            max_width="480px",
        ),
        open=TariffsState.preview_open, on_open_change=TariffsState.set_preview_open,
    )


def advisor_card() -> rx.Component:
    return card(rx.vstack(
        rx.hstack(rx.icon("sparkles", color=RED), section_title("advisor.title"), align="center"),
        rx.text(T["advisor.hint"], size="2", color="var(--gray-11)"),
        rx.button(T["advisor.run"], on_click=TariffsState.run_advisor, loading=TariffsState.advising,
                  id="advisor-run"),
        rx.cond(TariffsState.advice_summary != "", rx.vstack(
            rx.callout(TariffsState.advice_summary, color_scheme="green", icon="piggy-bank", id="advisor-summary",
                       width="100%"),
            rx.text(TariffsState.advice_records, size="1", color="var(--gray-11)", id="advisor-records"),
            rx.vstack(rx.foreach(TariffsState.advice, lambda e: rx.flex(
                rx.hstack(rx.text(e["name"], weight="bold"),
                          rx.cond(e["best"] == "1", rx.badge(T["advisor.best"], color_scheme="green")),
                          rx.cond(e["current"] == "1", rx.badge(T["tariffs.is_current"], variant="outline")),
                          wrap="wrap", align="center"),
                rx.spacer(),
                rx.vstack(rx.text(e["total"], weight="bold", class_name="advice-total"),
                          rx.text(e["fee"] + " + " + e["usage"] + " " + T["advisor.usage"], size="1",
                                  color="var(--gray-11)"), align="end", spacing="0"),
                width="100%", align="center", gap="8px", padding_y="6px", border_bottom="1px solid var(--gray-3)",
                id="advice-" + e["code"])), width="100%", spacing="0"),
            spacing="3", width="100%")),
        spacing="3", width="100%",
    ), id="advisor")


def history_card() -> rx.Component:
    """Every change of the number's tariff: when, from what to what, why, and what the change charged."""
    return card(rx.vstack(
        section_title("history.title"),
        rx.cond(TariffsState.history.length() > 0,
                rx.vstack(rx.foreach(TariffsState.history, lambda h: rx.flex(
                    rx.vstack(rx.text(h["what"], weight="bold", size="2"),
                              rx.text(h["why"], size="1", color="var(--gray-11)"), spacing="0", min_width="0", flex="1"),
                    rx.vstack(rx.text(h["when"], size="1", color="var(--gray-11)", white_space="nowrap"),
                              rx.cond(h["fee"] != "", rx.text(h["fee"], size="1")), align="end", spacing="0"),
                    width="100%", gap="8px", align="center", padding_y="6px", border_bottom="1px solid var(--gray-3)",
                    class_name="tariff-change")), spacing="0", width="100%"),
                rx.text(T["history.none"], size="2", color="var(--gray-11)")),
        spacing="3", width="100%"), id="tariff-history")


def tariffs_page() -> rx.Component:
    return page_frame(
        "/tariffs",
        current_card(),
        history_card(),
        advisor_card(),
        section_title("tariffs.catalogue"),
        switch_block_note(),
        rx.grid(rx.foreach(TariffsState.catalogue, tariff_card), columns=rx.breakpoints(initial="1", sm="2", lg="4"),
                spacing="4", width="100%"),
        compare_table(),
        preview_dialog(),
        title_key="tariffs.title",
    )
