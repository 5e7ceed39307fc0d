"""/ — «Мой МТС»: the selected number at a glance, live."""

from __future__ import annotations

import reflex as rx

from mts_portal.components.layout import RED, card, page_frame, section_title
from mts_portal.components.widgets import bundle_meter, empty_note, status_badge
from mts_portal.state.base import UiState
from mts_portal.state.home import HomeState, PasswordState


def balance_card() -> rx.Component:
    return card(
        rx.vstack(
            rx.hstack(rx.text(UiState.t["home.balance"], color="var(--gray-11)", size="2"), rx.spacer(),
                      status_badge(HomeState.status, HomeState.status_text), width="100%", align="center"),
            rx.heading(HomeState.balance_text, size="8", id="balance",
                       color=rx.cond(HomeState.balance_negative, RED, "var(--gray-12)")),
            rx.cond(HomeState.credit_text != "",
                    rx.text(UiState.t["home.credit"] + ": " + HomeState.credit_text, size="2", id="credit-limit")),
            rx.cond(HomeState.owed_text != "",
                    rx.callout(UiState.t["home.owed"] + ": " + HomeState.owed_text, color_scheme="orange",
                               icon="triangle-alert", size="1", id="fees-owed")),
            rx.hstack(
                rx.link(rx.button(rx.icon("plus"), UiState.t["home.topup"], size="3", color_scheme="red",
                                  id="topup-button"), href="/money"),
                rx.link(rx.hstack(rx.icon("gift", size=16), rx.text(HomeState.bonus_text, weight="bold",
                                                                   id="bonus-points"),
                                  rx.text(HomeState.points_word, size="2", id="bonus-word"), align="center",
                                  spacing="1"),
                        href="/bonus", underline="none", color="var(--gray-12)"),
                align="center", spacing="4", wrap="wrap",
            ),
            spacing="3", width="100%",
        ),
        id="balance-card",
    )


def tariff_card() -> rx.Component:
    return card(
        rx.vstack(
            rx.text(UiState.t["home.tariff"], color="var(--gray-11)", size="2"),
            rx.link(rx.heading(HomeState.tariff_name, size="5", id="tariff-name"), href="/tariffs",
                    underline="none", color="var(--gray-12)"),
            rx.text(HomeState.fee_text + " " + UiState.t["home.per_month"], size="2", id="tariff-fee"),
            rx.text(UiState.t["home.next_fee"] + ": " + HomeState.next_fee_text, size="1", color="var(--gray-11)"),
            spacing="2",
        ),
        id="tariff-card",
    )


def bundles_card() -> rx.Component:
    return card(
        rx.vstack(
            rx.hstack(section_title("home.remaining"), rx.spacer(),
                      rx.badge(rx.icon("radio", size=12), rx.text(UiState.t["home.live"],
                                                                  display=["none", "inline", "inline"]),
                               variant="surface", color_scheme="green", title=UiState.t["home.live"]),
                      width="100%", align="center"),
            rx.cond(
                HomeState.buckets.length() > 0,
                rx.grid(rx.foreach(HomeState.buckets, bundle_meter), columns=rx.breakpoints(initial="1", md="2"),
                        spacing="5", width="100%"),
                empty_note(UiState.t["home.no_bundles"]),
            ),
            spacing="4", width="100%",
        ),
        id="bundles",
    )


def charges_card() -> rx.Component:
    return card(
        rx.vstack(
            rx.hstack(section_title("home.latest"), rx.spacer(),
                      rx.link(UiState.t["home.all_detail"], href="/detail", size="2"), width="100%"),
            rx.cond(
                HomeState.charges.length() > 0,
                rx.vstack(rx.foreach(HomeState.charges, lambda c: rx.hstack(
                    rx.vstack(rx.text(c["what"], size="2"), rx.text(c["when"], size="1", color="var(--gray-11)"),
                              spacing="0", min_width="0"),
                    rx.spacer(),
                    rx.text(c["amount"], size="2", weight="medium", white_space="nowrap"),
                    width="100%", align="center", class_name="charge-row",
                )), spacing="3", width="100%", id="latest-charges"),
                empty_note(UiState.t["home.no_charges"]),
            ),
            spacing="3", width="100%",
        ),
    )


def spending_card() -> rx.Component:
    """This billing period's charges by category, with bars: what a subscriber looks at after the balance."""
    return card(
        rx.vstack(
            rx.hstack(rx.vstack(section_title("home.spending"),
                                rx.text(HomeState.period_label, size="1", color="var(--gray-11)", id="spending-period"),
                                spacing="0"),
                      rx.spacer(),
                      rx.link(UiState.t["home.all_spending"], href="/money?tab=spending", size="2"),
                      width="100%", align="start"),
            rx.cond(
                HomeState.spending.length() > 0,
                rx.vstack(
                    rx.foreach(HomeState.spending, lambda c: rx.vstack(
                        rx.hstack(rx.text(c["name"], size="2"), rx.spacer(),
                                  rx.text(c["amount"], size="2", weight="medium", white_space="nowrap"), width="100%"),
                        rx.box(rx.box(width=c["pct"] + "%", height="6px", background=RED, border_radius="3px"),
                               width="100%", height="6px", background="var(--gray-3)", border_radius="3px",
                               aria_hidden="true"),
                        spacing="1", width="100%", class_name="spending-row",
                    )),
                    rx.hstack(rx.text(UiState.t["home.spending_total"], size="2", weight="bold"), rx.spacer(),
                              rx.text(HomeState.spending_total, size="2", weight="bold", id="spending-total"),
                              width="100%", padding_top="4px", border_top="1px solid var(--gray-4)"),
                    spacing="3", width="100%", id="period-spending"),
                empty_note(UiState.t["home.no_spending"]),
            ),
            spacing="3", width="100%",
        ),
        id="spending-card",
    )


def notes_card() -> rx.Component:
    """The three latest notifications (kept 3 days), newest first."""
    return card(
        rx.vstack(
            rx.hstack(section_title("home.notes"), rx.spacer(),
                      rx.link(UiState.t["home.all_notes"], href="/notifications", size="2"), width="100%"),
            rx.cond(
                HomeState.notes.length() > 0,
                rx.vstack(rx.foreach(HomeState.notes, lambda n: rx.hstack(
                    rx.box(width="8px", height="8px", min_width="8px", border_radius="50%", margin_top="6px",
                           background=rx.cond(n["unread"] == "1", RED, "var(--gray-6)"), aria_hidden="true"),
                    rx.vstack(rx.text(n["text"], size="2"), rx.text(n["when"], size="1", color="var(--gray-11)"),
                              spacing="0", min_width="0"),
                    align="start", spacing="2", width="100%", class_name="home-note",
                )), spacing="3", width="100%", id="latest-notes"),
                empty_note(UiState.t["home.no_notes"]),
            ),
            spacing="3", width="100%",
        ),
        id="notes-card",
    )


def password_offer() -> rx.Component:
    return rx.cond(
        HomeState.show_password_offer,
        rx.callout.root(
            rx.callout.icon(rx.icon("key-round")),
            rx.callout.text(
                rx.hstack(
                    rx.text(UiState.t["home.set_password"]),
                    password_dialog(),
                    rx.button(UiState.t["pwd.later"], variant="ghost", size="1",
                              on_click=HomeState.dismiss_password_offer),
                    align="center", wrap="wrap", spacing="3",
                ),
            ),
            color_scheme="blue", width="100%", id="password-offer",
        ),
    )


def password_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(UiState.t["home.set_password_btn"], size="1", id="set-password")),
        rx.dialog.content(
            rx.dialog.title(UiState.t["pwd.title"]),
            rx.form(
                rx.vstack(
                    rx.input(name="new_password", type="password", placeholder=UiState.t["pwd.new"],
                             id="new-password", width="100%", auto_complete="new-password"),
                    rx.input(name="repeat_password", type="password", placeholder=UiState.t["pwd.repeat"],
                             id="repeat-password", width="100%", auto_complete="new-password"),
                    rx.cond(PasswordState.error != "", rx.text(PasswordState.error, color="red", size="2",
                                                                id="password-error")),
                    rx.hstack(
                        rx.dialog.close(rx.button(UiState.t["cancel"], variant="soft", type="button")),
                        rx.button(UiState.t["save"], type="submit", id="save-password",
                                  loading=PasswordState.saving),
                        justify="end", width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=PasswordState.save,
            ),
        ),
    )


def home_page() -> rx.Component:
    return page_frame(
        "/",
        password_offer(),
        rx.grid(balance_card(), tariff_card(), columns=rx.breakpoints(initial="1", md="2"), spacing="4",
                width="100%"),
        bundles_card(),
        rx.grid(spending_card(), notes_card(), columns=rx.breakpoints(initial="1", md="2"), spacing="4",
                width="100%"),
        charges_card(),
    )
