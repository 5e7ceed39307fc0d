"""/numbers — «Мои номера»."""

from __future__ import annotations

import reflex as rx

from mts_portal.components.layout import card, page_frame
from mts_portal.components.widgets import confirm_button
from mts_portal.state.base import UiState
from mts_portal.state.numbers import NumbersState


def number_row(r) -> rx.Component:
    return rx.flex(
        rx.vstack(
            rx.hstack(rx.text(r["label"], weight="bold", size="3"),
                      rx.cond(r["selected"] == "1", rx.badge(UiState.t["numbers.current"], color_scheme="green")),
                      align="center", spacing="2", wrap="wrap"),
            rx.hstack(
                rx.text(rx.cond(r["own"] == "1", UiState.t["numbers.own"], UiState.t["numbers.added"]),
                        "\u00a0", rx.el.span(r["contract"], class_name="contract-number"), size="1",
                        color="var(--gray-11)"),
                rx.badge(r["status_text"], color_scheme=rx.match(r["status"], ("active", "green"),
                                                                 ("suspended", "orange"), "red"), variant="soft"),
                spacing="2", wrap="wrap",
            ),
            spacing="1", min_width="0",
        ),
        rx.spacer(),
        rx.flex(
            rx.cond(r["selected"] == "0",
                    rx.button(UiState.t["numbers.select"], size="2", variant="soft",
                              on_click=NumbersState.switch_line(r["msisdn"]), id="select-" + r["msisdn"])),
            rx.cond(
                r["status"] == "lost",
                rx.cond(r["login"] == "0",
                        rx.button(UiState.t["numbers.unblock"], size="2", color_scheme="green",
                                  on_click=NumbersState.unblock(r["msisdn"]), id="unblock-" + r["msisdn"])),
                confirm_button(UiState.t["numbers.lost"], UiState.t["numbers.lost_q"], UiState.t["numbers.lost_d"],
                               NumbersState.mark_lost(r["msisdn"]), "lost-" + r["msisdn"], color="red",
                               variant="outline"),
            ),
            rx.cond(r["own"] == "0",
                    confirm_button(UiState.t["numbers.remove"], UiState.t["numbers.remove_q"],
                                   UiState.t["numbers.remove_d"], NumbersState.remove(r["msisdn"]),
                                   "remove-" + r["msisdn"], color="gray", variant="outline")),
            gap="8px", wrap="wrap", justify="end",
        ),
        width="100%", align="center", gap="12px", wrap="wrap", padding_y="10px",
        border_bottom="1px solid var(--gray-4)", class_name="number-row", id="number-" + r["msisdn"],
    )


def add_number() -> rx.Component:
    return card(
        rx.vstack(
            rx.heading(UiState.t["numbers.add"], size="4"),
            rx.text(UiState.t["numbers.add_hint"], size="2", color="var(--gray-11)"),
            rx.cond(NumbersState.add_error != "",
                    rx.callout(NumbersState.add_error, color_scheme="red", icon="triangle-alert", id="add-error",
                               width="100%")),
            rx.cond(
                NumbersState.add_step == "phone",
                rx.form(rx.flex(
                    rx.input(name="msisdn", placeholder="+7 9XX XXX-XX-XX", type="tel", id="add-msisdn", size="3",
                             flex="1", min_width="200px"),
                    rx.button(UiState.t["numbers.send_code"], type="submit", size="3", id="add-send-code"),
                    gap="8px", wrap="wrap", width="100%"), on_submit=NumbersState.request_add, width="100%",
                    reset_on_submit=False),
                rx.form(rx.flex(
                    rx.text(NumbersState.add_label, weight="medium", width="100%"),
                    rx.input(name="code", placeholder="••••••", input_mode="numeric", max_length=6, id="add-code",
                             size="3", flex="1", min_width="140px"),
                    rx.button(UiState.t["numbers.confirm"], type="submit", size="3", id="add-confirm"),
                    rx.button(UiState.t["cancel"], type="button", size="3", variant="soft",
                              on_click=NumbersState.cancel_add),
                    gap="8px", wrap="wrap", width="100%"), on_submit=NumbersState.confirm_add, width="100%",
                    reset_on_submit=True),
            ),
            spacing="3", width="100%",
        ),
    )


def numbers_page() -> rx.Component:
    return page_frame(
        "/numbers",
        rx.text(UiState.t["numbers.hint"], color="var(--gray-11)"),
        card(rx.vstack(rx.foreach(NumbersState.rows, number_row), spacing="0", width="100%", id="numbers-list")),
        add_number(),
        title_key="numbers.title",
    )
