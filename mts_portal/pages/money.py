"""/money — «Счёт».

Every money action goes form -> confirmation -> one action (see state/money.py): a form's button (or
Enter in its fields) only checks the fields and opens the confirmation; the confirmation's button is the
only thing that pays, and spins while it does. Errors are shown under the field they are about.
"""

from __future__ import annotations

import reflex as rx

from mts_portal.components.layout import RED, card, page_frame, section_title
from mts_portal.components.widgets import confirm_button, empty_note
from mts_portal.state.base import UiState
from mts_portal.state.money import TABS, MoneyState

T = UiState.t
M = MoneyState.msg  # the page's messages in the current language, by element id
BUSY = MoneyState.busy != ""


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


def field_error(field_id: str) -> rx.Component:
    """The message about one field, right under it (id: "<field id>-error")."""
    return rx.cond(M[field_id], rx.text(M[field_id], color="var(--red-11)", size="1", id=f"{field_id}-error",
                                        role="alert", max_width="100%"))


def field(label, control: rx.Component, field_id: str, **props) -> rx.Component:
    """A labelled input with its message below."""
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=field_id) if label is not None else rx.fragment(),
        control, field_error(field_id),
        spacing="1", min_width="0", **props)


def confirm_dialog(kind: str, title_key: str, on_confirm, confirm_label=None) -> rx.Component:
    """The question before a money action: what it will do (`<kind>-question`), Cancel, and the one
    button that acts (`<kind>-confirm`: spins while the action runs; a second click does nothing)."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(T[title_key]),
            rx.alert_dialog.description(M[f"{kind}-question"], size="2", id=f"{kind}-question"),
            rx.flex(
                rx.alert_dialog.cancel(rx.button(T["cancel"], variant="soft", color_scheme="gray", type="button",
                                                 id=f"{kind}-cancel", disabled=BUSY)),
                rx.button(confirm_label if confirm_label is not None else T["confirm"], type="button",
                          on_click=on_confirm, id=f"{kind}-confirm", loading=MoneyState.busy == kind,
                          disabled=BUSY),
                gap="12px", justify="end", margin_top="16px", wrap="wrap"),
            max_width="440px", id=f"{kind}-dialog"),
        open=MoneyState.confirm == kind, on_open_change=MoneyState.close_confirm,
    )


def topup_tab() -> rx.Component:
    return rx.vstack(
        card(rx.form(rx.vstack(
            field(T["money.amount"], rx.input(name="amount", placeholder="500", input_mode="decimal",
                                              id="topup-amount", size="3", width="100%", auto_complete="off"),
                  "topup-amount", width="100%", max_width="240px"),
            field(T["money.card"], rx.select.root(
                rx.select.trigger(id="topup-card", width="100%"),
                rx.select.content(
                    rx.foreach(MoneyState.pay_cards, lambda c: rx.select.item(c["label"] + " · " + c["exp"],
                                                                              value=c["id"])),
                    rx.select.item(T["money.new_card"], value="new"),
                ),
                value=MoneyState.card_choice, on_change=MoneyState.set_card_choice,
            ), "topup-card", width="100%", max_width="320px"),
            rx.cond(MoneyState.card_choice == "new", rx.vstack(
                field(None, rx.input(name="number", placeholder=T["money.card_number"], input_mode="numeric",
                                     auto_complete="cc-number", id="card-number", width="100%"),
                      "card-number", width="100%", max_width="320px"),
                rx.vstack(
                    rx.hstack(
                        rx.input(name="expiry", placeholder=T["money.expiry"], auto_complete="cc-exp",
                                 id="card-expiry", width="110px"),
                        rx.input(name="cvc", placeholder=T["money.cvc"], type="password", input_mode="numeric",
                                 max_length=3, auto_complete="cc-csc", id="card-cvc", width="90px"),
                    ),
                    field_error("card-expiry"), field_error("card-cvc"),  # under the row of both fields
                    spacing="1",
                ),
                rx.checkbox(T["money.save_card"], name="save_card", checked=MoneyState.save_card,
                            on_change=MoneyState.set_save_card, id="save-card"),
                rx.text(T["money.test_cards"], size="1", color="var(--gray-11)", max_width="520px"),
                spacing="2", width="100%",
            )),
            rx.cond(M["pay-error"], rx.callout(M["pay-error"], color_scheme="red", icon="circle-x", id="pay-error",
                                               width="100%")),
            rx.cond(M["pay-result"], rx.callout(M["pay-result"], color_scheme="green", icon="circle-check",
                                                id="pay-result", width="100%")),
            rx.button(T["money.pay"], type="submit", size="3", id="pay-open", disabled=BUSY,
                      loading=MoneyState.busy == "pay"),
            spacing="3", width="100%",
        ), on_submit=MoneyState.review_top_up, id="topup-form", width="100%")),
        confirm_dialog("pay", "money.pay_q", MoneyState.confirm_top_up, M["pay-label"]),
        card(rx.vstack(
            section_title("money.saved_cards"),
            rx.cond(MoneyState.cards.length() > 0,
                    rx.vstack(rx.foreach(MoneyState.cards, lambda c: rx.hstack(
                        rx.icon("credit-card", size=18), rx.text(c["label"], white_space="nowrap"),
                        rx.text(c["exp"], color="var(--gray-11)"),
                        rx.cond(c["note"] != "", rx.badge(c["note"], color_scheme="orange", size="1")),
                        rx.spacer(),
                        confirm_button(T["money.remove_card"], T["money.remove_card_q"], c["label"],
                                       MoneyState.remove_card(c["id"]), "remove-card-" + c["id"], color="gray",
                                       variant="soft", size="1"),
                        width="100%", align="center", class_name="saved-card", wrap="wrap")), width="100%"),
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
                    rx.form(rx.vstack(
                        rx.text(T["promise.max"] + ": " + MoneyState.promise_max_text, weight="medium",
                                id="promise-max"),
                        rx.hstack(
                            rx.input(name="amount", placeholder="200", value=MoneyState.promise_amount,
                                     on_change=MoneyState.set_promise_amount, id="promise-amount", width="140px",
                                     input_mode="decimal", auto_complete="off"),
                            rx.cond(MoneyState.promise_fee_text != "",
                                    rx.text(T["promise.fee"] + ": " + MoneyState.promise_fee_text, size="2",
                                            id="promise-fee")),
                            align="center", spacing="3"),
                        field_error("promise-amount"),
                        rx.button(T["promise.take"], type="submit", color_scheme="red", id="promise-take",
                                  disabled=BUSY, loading=MoneyState.busy == "promise"),
                        spacing="3"), on_submit=MoneyState.review_promise, width="100%"),
                    rx.cond(MoneyState.promise_active_text == "",
                            rx.text(MoneyState.promise_reason, size="2", color="var(--gray-11)",
                                    id="promise-unavailable"))),
            rx.cond(M["promise-error"], rx.text(M["promise-error"], color="var(--red-11)", size="2",
                                                id="promise-error")),
            spacing="3", width="100%",
        )),
        confirm_dialog("promise", "promise.take_q", MoneyState.confirm_promise, T["promise.take"]),
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
                                  spacing="0", min_width="0"),
                        rx.spacer(),
                        rx.button(T["autopay.cancel"], variant="soft", color_scheme="gray", size="1",
                                  on_click=MoneyState.cancel_autopay(r["id"]), id="autopay-cancel-" + r["kind"],
                                  disabled=BUSY),
                        width="100%", align="center", gap="8px", class_name="autopay-rule")), width="100%"),
                    empty_note(T["autopay.none"])),
            spacing="3", width="100%")),
        card(rx.cond(MoneyState.pay_cards.length() > 0, rx.form(rx.vstack(
            rx.text(T["autopay.hint"], size="2"),
            rx.segmented_control.root(
                rx.segmented_control.item(T["autopay.kind_threshold"], value="threshold"),
                rx.segmented_control.item(T["autopay.monthly"], value="monthly"),
                value=MoneyState.autopay_kind, on_change=MoneyState.set_autopay_kind, id="autopay-kind",
                width="100%", max_width="420px"),
            rx.flex(
                rx.cond(MoneyState.autopay_kind == "threshold",
                        field(T["autopay.threshold_value"],
                              rx.input(name="threshold", placeholder="100", id="autopay-threshold", width="100%",
                                       input_mode="decimal", auto_complete="off"),
                              "autopay-threshold", width=["100%", "180px"]),
                        field(T["autopay.day"],
                              rx.input(name="day", placeholder="15", id="autopay-day", width="100%",
                                       input_mode="numeric", auto_complete="off"),
                              "autopay-day", width=["100%", "180px"])),
                field(T["money.amount"], rx.input(name="amount", placeholder="300", id="autopay-amount", width="100%",
                                                  input_mode="decimal", auto_complete="off"),
                      "autopay-amount", width=["100%", "180px"]),
                field(T["money.card"], rx.select.root(rx.select.trigger(id="autopay-card", width="100%"),
                                                      rx.select.content(rx.foreach(
                                                          MoneyState.pay_cards,
                                                          lambda c: rx.select.item(c["label"], value=c["id"]))),
                                                      value=MoneyState.autopay_card,
                                                      on_change=MoneyState.set_autopay_card),
                      "autopay-card", width=["100%", "200px"]),
                gap="12px", wrap="wrap", width="100%"),
            rx.cond(M["autopay-error"], rx.text(M["autopay-error"], color="var(--red-11)", size="2",
                                                id="autopay-error")),
            rx.button(T["autopay.save"], type="submit", id="autopay-save", disabled=BUSY,
                      loading=MoneyState.busy == "autopay"),
            spacing="3", width="100%"), on_submit=MoneyState.review_autopay, width="100%"),
            rx.text(T["autopay.need_card"], color="var(--gray-11)", size="2", padding_y="8px",
                    id="autopay-need-card"))),
        confirm_dialog("autopay", "autopay.save_q", MoneyState.confirm_autopay, T["autopay.save"]),
        card(rx.vstack(
            section_title("autopay.history"),
            rx.cond(MoneyState.autopay_runs.length() > 0,
                    rx.vstack(rx.foreach(MoneyState.autopay_runs, lambda r: rx.hstack(
                        rx.text(r["when"], size="2", color="var(--gray-11)", white_space="nowrap"),
                        rx.text(r["amount"], size="2", white_space="nowrap"),
                        rx.badge(r["status_text"], color_scheme=rx.cond(r["status"] == "succeeded", "green", "red"),
                                 data_status=r["status"]),
                        rx.text(r["reason"], size="1", color="var(--gray-11)"), wrap="wrap", align="center",
                        class_name="autopay-run")),
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
                field(None, rx.input(name="to", placeholder=T["transfer.to"], type="tel", id="transfer-to",
                                     width="100%", auto_complete="off"),
                      "transfer-to", flex="1 1 200px"),
                field(None, rx.input(name="amount", placeholder=T["money.amount"], id="transfer-amount",
                                     width="100%", input_mode="decimal", auto_complete="off"),
                      "transfer-amount", flex="0 1 160px"),
                rx.button(T["transfer.send"], type="submit", id="transfer-send", disabled=BUSY,
                          loading=MoneyState.busy == "transfer"),
                gap="8px", wrap="wrap", width="100%", align="start"), on_submit=MoneyState.request_transfer,
                width="100%"),
            rx.form(rx.vstack(
                rx.text(M["transfer-summary"], weight="bold", id="transfer-summary"),
                rx.text(T["transfer.code_sent"], size="2"),
                rx.hstack(
                    rx.input(name="code", placeholder="••••••", input_mode="numeric", max_length=6,
                             id="transfer-code", width="140px", auto_complete="one-time-code"),
                    rx.button(T["transfer.confirm"], type="submit", id="transfer-confirm", disabled=BUSY,
                              loading=MoneyState.busy == "code"),
                    rx.button(T["cancel"], type="button", variant="soft", color_scheme="gray",
                              on_click=MoneyState.cancel_transfer,
                              id="transfer-cancel", disabled=BUSY),
                    wrap="wrap"),
                field_error("transfer-code"),
                spacing="2"), on_submit=MoneyState.confirm_transfer, reset_on_submit=True),
        ),
        rx.cond(M["transfer-error"], rx.text(M["transfer-error"], color="var(--red-11)", size="2",
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
    fns = {"topup": topup_tab, "promise": promise_tab, "autopay": autopay_tab, "transfer": transfer_tab,
           "history": history_tab, "spending": spending_tab}
    # below the desktop width the six tabs are a grid of two rows of three, all visible (none scrolled
    # away): tighter padding, and each cell keeps its own underline so every row has one
    line = "inset 0 -1px 0 0 var(--gray-a5)"
    return page_frame(
        "/money",
        summary_card(),
        rx.tabs.root(
            rx.tabs.list(
                *[rx.tabs.trigger(T[f"money.tab.{v}"], value=v, id=f"tab-{v}",
                                  box_shadow=rx.breakpoints(initial=line, lg="none")) for v in TABS],
                size="2", id="money-tabs",
                display=rx.breakpoints(initial="grid", lg="flex"), grid_template_columns="repeat(3, minmax(0, 1fr))",
                justify_content=rx.breakpoints(initial="stretch", lg="flex-start"),
                box_shadow=rx.breakpoints(initial="none", lg=line),
                style={"--tab-padding-x": rx.breakpoints(initial="2px", lg="var(--space-2)"),
                       "--tab-inner-padding-x": rx.breakpoints(initial="6px", lg="var(--space-2)")},
            ),
            *[rx.tabs.content(fns[v](), value=v, padding_top="16px") for v in TABS],
            value=MoneyState.tab, on_change=MoneyState.set_tab, width="100%",
        ),
        title_key="money.title",
    )
