"""/money — «Счёт»."""

from __future__ import annotations

import reflex as rx

from mts_portal.components.layout import RED, card, page_frame, section_title
from mts_portal.components.widgets import confirm_button, empty_note
from mts_portal.state.base import UiState
from mts_portal.state.money import MoneyState

T = UiState.t


def summary_card() -> rx.Component:
    return card(rx.flex(
        rx.vstack(rx.text(T["home.balance"], size="2", color="var(--gray-11)"),
                  rx.heading(MoneyState.balance_text, size="7", id="money-balance"), spacing="1"),
        rx.vstack(rx.text(T["money.available"], size="2", color="var(--gray-11)"),
                  rx.text(MoneyState.available_text, size="5", weight="medium", id="money-available"), spacing="1"),
        rx.vstack(rx.text(T["money.credit"], size="2", color="var(--gray-11)"),
                  rx.text(MoneyState.credit_text, size="5", weight="medium", id="money-credit"), spacing="1"),
        gap="24px", wrap="wrap", align="end",
    ))


def topup_tab() -> rx.Component:
    return rx.vstack(
        card(rx.form(rx.vstack(
            rx.text(T["money.amount"], size="2", weight="medium"),
            rx.input(name="amount", placeholder="500", input_mode="decimal", id="topup-amount", size="3",
                     width="100%", max_width="240px", required=True),
            rx.text(T["money.card"], size="2", weight="medium"),
            rx.select.root(
                rx.select.trigger(id="topup-card", width="100%", max_width="320px"),
                rx.select.content(
                    rx.foreach(MoneyState.cards, lambda c: rx.select.item(c["label"] + " · " + c["exp"],
                                                                          value=c["id"])),
                    rx.select.item(T["money.new_card"], value="new"),
                ),
                value=MoneyState.card_choice, on_change=MoneyState.set_card_choice,
            ),
            rx.cond(MoneyState.card_choice == "new", rx.vstack(
                rx.input(name="number", placeholder=T["money.card_number"], input_mode="numeric",
                         auto_complete="cc-number", id="card-number", width="100%", max_width="320px"),
                rx.hstack(
                    rx.input(name="expiry", placeholder=T["money.expiry"], auto_complete="cc-exp", id="card-expiry",
                             width="110px"),
                    rx.input(name="cvc", placeholder=T["money.cvc"], type="password", input_mode="numeric",
                             max_length=3, auto_complete="cc-csc", id="card-cvc", width="90px"),
                ),
                rx.checkbox(T["money.save_card"], name="save_card", checked=MoneyState.save_card,
                            on_change=MoneyState.set_save_card,
                            id="save-card"),
                rx.text(T["money.test_cards"], size="1", color="var(--gray-11)", max_width="520px"),
                spacing="2", width="100%",
            )),
            rx.cond(MoneyState.pay_error != "", rx.callout(MoneyState.pay_error, color_scheme="red",
                                                           icon="circle-x", id="pay-error", width="100%")),
            rx.cond(MoneyState.pay_result != "", rx.callout(MoneyState.pay_result, color_scheme="green",
                                                            icon="circle-check", id="pay-result", width="100%")),
            rx.alert_dialog.root(
                rx.alert_dialog.trigger(rx.button(T["money.pay"], type="button", size="3", id="pay-open",
                                                  on_click=MoneyState.new_payment)),
                rx.alert_dialog.content(
                    rx.alert_dialog.title(T["money.pay_q"]),
                    rx.alert_dialog.description(T["money.test_cards"], size="1"),
                    rx.flex(
                        rx.alert_dialog.cancel(rx.button(T["cancel"], variant="soft", color_scheme="gray",
                                                         type="button")),
                        rx.alert_dialog.action(rx.button(T["confirm"], type="submit", form="topup-form",
                                                         id="pay-confirm")),
                        gap="12px", justify="end", margin_top="16px"),
                ),
            ),
            spacing="3", width="100%",
        ), on_submit=MoneyState.top_up, id="topup-form", width="100%")),
        card(rx.vstack(
            section_title("money.saved_cards"),
            rx.cond(MoneyState.cards.length() > 0,
                    rx.vstack(rx.foreach(MoneyState.cards, lambda c: rx.hstack(
                        rx.icon("credit-card", size=18), rx.text(c["label"]), rx.text(c["exp"], color="var(--gray-11)"),
                        rx.spacer(),
                        confirm_button(T["money.remove_card"], T["money.remove_card"] + "?", c["label"],
                                       MoneyState.remove_card(c["id"]), "remove-card-" + c["id"], color="gray",
                                       variant="soft", size="1"),
                        width="100%", align="center", class_name="saved-card")), width="100%"),
                    empty_note(T["money.no_cards"])),
            spacing="3", width="100%",
        )),
        width="100%", spacing="4",
    )


def promise_tab() -> rx.Component:
    return rx.vstack(
        card(rx.vstack(
            section_title("money.tab.promise"),
            rx.text(T["promise.hint"], size="2"),
            rx.text(T["promise.fees"], size="2", color="var(--gray-11)"),
            rx.cond(MoneyState.promise_active_text != "",
                    rx.callout(T["promise.active"] + ": " + MoneyState.promise_active_text, color_scheme="blue",
                               icon="clock", id="promise-active", width="100%")),
            rx.cond(MoneyState.promise_available,
                    rx.vstack(
                        rx.text(T["promise.max"] + ": " + MoneyState.promise_max_text, weight="medium",
                                id="promise-max"),
                        rx.hstack(
                            rx.input(placeholder="200", value=MoneyState.promise_amount,
                                     on_change=MoneyState.set_promise_amount, id="promise-amount", width="140px",
                                     input_mode="decimal"),
                            rx.cond(MoneyState.promise_fee_text != "",
                                    rx.text(T["promise.fee"] + ": " + MoneyState.promise_fee_text, size="2",
                                            id="promise-fee")),
                            align="center", spacing="3"),
                        confirm_button(T["promise.take"], T["promise.take_q"],
                                       T["promise.fee"] + ": " + MoneyState.promise_fee_text + ". " + T["promise.hint"],
                                       MoneyState.take_promise, "promise-take", color="red"),
                        spacing="3"),
                    rx.cond(MoneyState.promise_active_text == "",
                            rx.text(MoneyState.promise_reason, size="2", color="var(--gray-11)",
                                    id="promise-unavailable"))),
            rx.cond(MoneyState.promise_error != "", rx.text(MoneyState.promise_error, color="red", size="2",
                                                            id="promise-error")),
            spacing="3", width="100%",
        )),
        card(rx.flex(
            rx.vstack(section_title("money.full_trust"),
                      rx.text(T["money.full_trust_hint"], size="2", color="var(--gray-11)"), spacing="1"),
            rx.spacer(),
            rx.switch(checked=MoneyState.full_trust, on_change=MoneyState.toggle_full_trust, size="3",
                      id="full-trust-switch"),
            gap="12px", align="center", width="100%",
        )),
        width="100%", spacing="4",
    )


def autopay_tab() -> rx.Component:
    return rx.vstack(
        card(rx.vstack(
            section_title("autopay.active"),
            rx.cond(MoneyState.autopay_rules.length() > 0,
                    rx.vstack(rx.foreach(MoneyState.autopay_rules, lambda r: rx.flex(
                        rx.vstack(rx.text(r["what"], weight="medium"),
                                  rx.text(r["amount"] + " · " + r["card"], size="2", color="var(--gray-11)"),
                                  spacing="0"),
                        rx.spacer(),
                        rx.button(T["autopay.cancel"], variant="soft", color_scheme="gray", size="1",
                                  on_click=MoneyState.cancel_autopay(r["id"]), id="autopay-cancel-" + r["kind"]),
                        width="100%", align="center", class_name="autopay-rule")), width="100%"),
                    empty_note(T["autopay.none"])),
            spacing="3", width="100%")),
        card(rx.cond(MoneyState.cards.length() > 0, rx.form(rx.vstack(
            rx.text(T["autopay.hint"], size="2"),
            rx.segmented_control.root(
                rx.segmented_control.item(T["autopay.threshold"], value="threshold"),
                rx.segmented_control.item(T["autopay.monthly"], value="monthly"),
                value=MoneyState.autopay_kind, on_change=MoneyState.set_autopay_kind, id="autopay-kind"),
            rx.flex(
                rx.cond(MoneyState.autopay_kind == "threshold",
                        rx.input(name="threshold", placeholder=T["autopay.threshold_value"], id="autopay-threshold",
                                 width="160px"),
                        rx.input(name="day", placeholder=T["autopay.day"], id="autopay-day", width="160px",
                                 input_mode="numeric")),
                rx.input(name="amount", placeholder=T["money.amount"], id="autopay-amount", width="160px"),
                rx.select.root(rx.select.trigger(id="autopay-card"), rx.select.content(
                    rx.foreach(MoneyState.cards, lambda c: rx.select.item(c["label"], value=c["id"]))),
                    value=MoneyState.autopay_card, on_change=MoneyState.set_autopay_card),
                gap="8px", wrap="wrap"),
            rx.cond(MoneyState.autopay_error != "", rx.text(MoneyState.autopay_error, color="red", size="2",
                                                            id="autopay-error")),
            rx.button(T["autopay.save"], type="submit", id="autopay-save"),
            spacing="3", width="100%"), on_submit=MoneyState.save_autopay, width="100%"),
            empty_note(T["autopay.need_card"]))),
        card(rx.vstack(
            section_title("autopay.history"),
            rx.cond(MoneyState.autopay_runs.length() > 0,
                    rx.vstack(rx.foreach(MoneyState.autopay_runs, lambda r: rx.hstack(
                        rx.text(r["when"], size="2", color="var(--gray-11)"), rx.text(r["amount"], size="2"),
                        rx.badge(r["status"], color_scheme=rx.cond(r["status"] == "succeeded", "green", "red")),
                        rx.text(r["reason"], size="1", color="var(--gray-11)"), wrap="wrap", class_name="autopay-run")),
                        width="100%"),
                    empty_note(T["autopay.no_history"])),
            spacing="3", width="100%")),
        width="100%", spacing="4",
    )


def transfer_tab() -> rx.Component:
    return card(rx.vstack(
        rx.text(T["transfer.hint"], size="2"),
        rx.cond(
            MoneyState.transfer_step == "form",
            rx.form(rx.flex(
                rx.input(name="to", placeholder=T["transfer.to"], type="tel", id="transfer-to", min_width="200px",
                         flex="1", required=True),
                rx.input(name="amount", placeholder=T["money.amount"], id="transfer-amount", width="140px",
                         required=True),
                rx.button(T["transfer.send"], type="submit", id="transfer-send"),
                gap="8px", wrap="wrap", width="100%"), on_submit=MoneyState.request_transfer, width="100%"),
            rx.form(rx.vstack(
                rx.text(MoneyState.transfer_summary, weight="bold", id="transfer-summary"),
                rx.text(T["transfer.code_sent"], size="2"),
                rx.hstack(
                    rx.input(name="code", placeholder="••••••", input_mode="numeric", max_length=6,
                             id="transfer-code", width="140px", required=True),
                    rx.button(T["transfer.confirm"], type="submit", id="transfer-confirm"),
                    rx.button(T["cancel"], type="button", variant="soft", on_click=MoneyState.cancel_transfer)),
                spacing="2"), on_submit=MoneyState.confirm_transfer, reset_on_submit=True),
        ),
        rx.cond(MoneyState.transfer_error != "", rx.text(MoneyState.transfer_error, color="red", size="2",
                                                         id="transfer-error")),
        spacing="3", width="100%",
    ))


def history_tab() -> rx.Component:
    return card(rx.vstack(
        rx.cond(MoneyState.operations.length() > 0,
                rx.vstack(rx.foreach(MoneyState.operations, lambda o: rx.flex(
                    rx.vstack(rx.text(o["what"], size="2"),
                              rx.text(o["when"], size="1", color="var(--gray-11)"), spacing="0", min_width="0"),
                    rx.spacer(),
                    rx.vstack(
                        rx.text(o["amount"], size="2", weight="medium", white_space="nowrap",
                                color=rx.cond(o["credit"] == "1", "var(--green-11)",
                                              rx.cond(o["status"] == "declined", "var(--gray-9)", "var(--gray-12)")),
                                text_decoration=rx.cond(o["status"] == "declined", "line-through", "none")),
                        rx.cond(o["status"] == "declined",
                                rx.badge(T["history.declined"], color_scheme="red", size="1"),
                                rx.text(o["after"], size="1", color="var(--gray-11)")),
                        align="end", spacing="0"),
                    width="100%", align="center", gap="12px", padding_y="6px", class_name="operation",
                    border_bottom="1px solid var(--gray-3)")), width="100%", spacing="0", id="operations"),
                empty_note(T["history.empty"])),
        rx.cond(MoneyState.more_operations,
                rx.button(T["history.more"], variant="soft", on_click=MoneyState.more_history, id="history-more")),
        spacing="3", width="100%",
    ))


def spending_tab() -> rx.Component:
    return rx.vstack(
        card(rx.vstack(
            rx.hstack(section_title("spending.by_category"), rx.spacer(),
                      rx.text(T["spending.total"] + ": " + MoneyState.spending_total, weight="bold",
                              id="spending-total"), width="100%", wrap="wrap"),
            rx.recharts.bar_chart(
                rx.recharts.bar(data_key="rub", fill=RED, radius=[6, 6, 0, 0], name="₽"),
                rx.recharts.x_axis(data_key="name", tick={"fontSize": 11}),
                rx.recharts.y_axis(width=48, tick={"fontSize": 11}),
                rx.recharts.graphing_tooltip(),
                data=MoneyState.by_category, width="100%", height=240,
            ),
            spacing="3", width="100%", id="chart-category")),
        card(rx.vstack(
            section_title("spending.by_day"),
            rx.recharts.area_chart(
                rx.recharts.area(data_key="rub", stroke=RED, fill="#fbd5d7", name="₽"),
                rx.recharts.x_axis(data_key="day", tick={"fontSize": 11}, interval="preserveStartEnd"),
                rx.recharts.y_axis(width=48, tick={"fontSize": 11}),
                rx.recharts.graphing_tooltip(),
                data=MoneyState.by_day, width="100%", height=220,
            ),
            spacing="3", width="100%", id="chart-day")),
        width="100%", spacing="4",
    )


def money_page() -> rx.Component:
    tabs = [("topup", "money.tab.topup", topup_tab), ("promise", "money.tab.promise", promise_tab),
            ("autopay", "money.tab.autopay", autopay_tab), ("transfer", "money.tab.transfer", transfer_tab),
            ("history", "money.tab.history", history_tab), ("spending", "money.tab.spending", spending_tab)]
    return page_frame(
        "/money",
        summary_card(),
        rx.tabs.root(
            rx.scroll_area(rx.tabs.list(*[rx.tabs.trigger(T[key], value=v, id=f"tab-{v}") for v, key, _ in tabs],
                                        size="2"), type="hover", scrollbars="horizontal", width="100%"),
            *[rx.tabs.content(fn(), value=v, padding_top="16px") for v, _, fn in tabs],
            value=MoneyState.tab, on_change=MoneyState.set_tab, width="100%",
        ),
        title_key="money.title",
    )
