"""/services, /internet, /roaming, /bonus."""

from __future__ import annotations

import reflex as rx

from mts_portal.components.layout import RED, card, page_frame, section_title
from mts_portal.components.widgets import bundle_meter, confirm_button, empty_note
from mts_portal.state.base import UiState
from mts_portal.state.services import BonusState, InternetState, RoamingState, ServicesState

T = UiState.t


def ask(label, question, details, on_open, on_confirm, id_, color="red", variant="solid", size="2", disabled=False):
    """A confirmed paid action: opening it starts one request (double clicks inside do it once)."""
    return confirm_button(label, question, details, on_confirm, id_, color=color, variant=variant, size=size,
                          disabled=disabled, on_open=on_open)


def product_row(state, p, with_toggle: bool = False) -> rx.Component:
    connect = ask(T["services.connect"], T["services.connect_q"],
                  p["name"] + " — " + p["price"] + ". " + T["services.cost_now"] + ": " + p["cost_now"],
                  state.prepare(p["code"]), state.connect(p["code"]), "connect-" + p["code"], size="1")
    disconnect = ask(T["services.disconnect"], T["services.disconnect_q"], p["name"], state.prepare(p["code"]),
                     state.disconnect(p["code"]), "disconnect-" + p["code"], color="gray", variant="soft", size="1")
    return rx.flex(
        rx.vstack(
            rx.hstack(rx.text(p["name"], weight="bold"),
                      rx.cond(p["connected"] == "1", rx.badge(T["roaming.on"], color_scheme="green")),
                      wrap="wrap", align="center"),
            rx.text(p["description"], size="2", color="var(--gray-11)"),
            rx.hstack(rx.text(p["price"], size="2", weight="medium"),
                      rx.cond(p["since"] != "", rx.text(p["since"], size="1", color="var(--gray-11)")),
                      rx.cond(p["paid_points"] != "", rx.badge(p["paid_points"], color_scheme="amber")),
                      wrap="wrap", align="center"),
            # what is behind the service: the melody chosen, the last backup, the children's numbers
            rx.cond(p["detail"] != "", rx.text(p["detail"], size="2", id="detail-" + p["code"])),
            spacing="1", min_width="0", flex="1 1 220px",  # narrower than that (a phone), the buttons go under the text
        ),
        rx.flex(  # the page behind the service, and connect / disconnect: one group (under the text on a phone)
            rx.cond(p["manage"] != "", rx.link(rx.cond(p["connected"] == "1", T["services.manage"], T["services.more"]),
                                               href=p["manage"], size="2", id="manage-" + p["code"],
                                               white_space="nowrap",
                                               aria_label=rx.cond(p["connected"] == "1", T["services.manage"],
                                                                  T["services.more"]) + ": " + p["name"])),
            rx.cond(p["connected"] == "1", disconnect, connect),
            gap="12px", align="center"),
        width="100%", gap="12px", align="center", padding_y="10px", border_bottom="1px solid var(--gray-3)",
        id="product-" + p["code"], class_name="product", wrap="wrap",
    )


def content_row(c) -> rx.Component:
    """A connected content subscription: provider, fee, start, last and next charge, the charges so far;
    cancelling says beforehand when the last charge was and that no next one follows."""
    s = ServicesState
    cancel = ask(T["content.cancel"], T["content.cancel_q"], c["name"] + ". " + c["cancel_terms"], s.prepare(c["code"]),
                 s.cancel_content(c["code"]), "disconnect-" + c["code"], color="gray", variant="soft", size="1")
    return rx.flex(
        rx.vstack(
            rx.hstack(rx.text(c["name"], weight="bold"), rx.badge(T["roaming.on"], color_scheme="green"),
                      wrap="wrap", align="center"),
            rx.text(c["provider"], size="1", color="var(--gray-11)"),
            rx.hstack(rx.text(c["fee"], size="2", weight="medium"), rx.text(c["since"], size="1", color="var(--gray-11)"),
                      wrap="wrap", align="center"),
            rx.text(c["last"], size="2", id="last-charge-" + c["code"]),
            rx.text(c["next"], size="2", color="var(--gray-11)", id="next-charge-" + c["code"]),
            rx.el.details(rx.el.summary(c["history_title"], style={"cursor": "pointer"}),
                          rx.text(c["history"], size="1", white_space="pre-line", color="var(--gray-11)",
                                  margin_top="4px"), id="history-" + c["code"]),
            spacing="1", min_width="0", flex="1"),
        cancel,
        width="100%", gap="12px", align="center", padding_y="10px", border_bottom="1px solid var(--gray-3)",
        id="product-" + c["code"], class_name="product subscription",
    )


def services_page() -> rx.Component:
    s = ServicesState
    return page_frame(
        "/services",
        card(rx.vstack(section_title("services.connected"),
                       rx.cond(s.connected_services > 0,
                               rx.vstack(rx.foreach(s.products, lambda p: rx.cond(
                                   (p["connected"] == "1") & (p["category"] == "service"), product_row(s, p))),
                                   width="100%", spacing="0", id="connected-services"),
                               empty_note(T["services.none"])),
                       width="100%")),
        card(rx.vstack(section_title("services.subscriptions"),
                       rx.cond(s.connected_content == 0, rx.text(T["services.no_subscriptions"], size="1",
                                                                 color="var(--gray-11)", id="no-subscriptions")),
                       rx.vstack(rx.foreach(s.content_subs, content_row),
                                 rx.foreach(s.products, lambda p: rx.cond(
                                     (p["category"] == "content") & (p["connected"] == "0"), product_row(s, p))),
                                 width="100%", spacing="0", id="subscriptions"),
                       rx.cond(s.ended_content.length() > 0, rx.vstack(
                           rx.text(T["content.ended"], weight="bold", size="2", margin_top="8px"),
                           rx.foreach(s.ended_content, lambda c: rx.vstack(
                               rx.text(c["name"] + " · " + c["provider"], size="2"),
                               rx.text(c["ended"], size="1", color="var(--gray-11)"),
                               rx.text(c["last"], size="1", color="var(--gray-11)"),
                               spacing="0", width="100%", class_name="ended-subscription")),
                           spacing="2", width="100%", id="ended-subscriptions")),
                       width="100%")),
        card(rx.vstack(section_title("services.catalogue"),
                       rx.vstack(rx.foreach(s.products, lambda p: rx.cond(
                           (p["connected"] == "0") & (p["category"] == "service"), product_row(s, p))),
                           width="100%", spacing="0", id="services-catalogue"), width="100%")),
        card(rx.flex(
            rx.vstack(section_title("services.block"), rx.text(T["services.block_hint"], size="2",
                                                               color="var(--gray-11)"),
                      rx.cond(s.status == "blocked", rx.badge(rx.icon("lock", size=12), T["services.is_blocked"],
                                                              color_scheme="red", variant="soft", id="block-status")),
                      spacing="1", flex="1", min_width="0"),
            rx.cond(s.status == "blocked",
                    ask(T["numbers.unblock"], T["services.unblock_q"], T["services.unblock_hint"], s.prepare("block"),
                        s.set_block(False), "unblock-number", color="green"),
                    ask(T["services.block"], T["services.block_q"], T["services.block_hint"], s.prepare("block"),
                        s.set_block(True), "block-number", color="gray", variant="outline")),
            # on a phone the button goes under the text (beside it, the text was squeezed to a narrow column)
            gap="12px", align=rx.breakpoints(initial="start", sm="center"), width="100%",
            direction=rx.breakpoints(initial="column", sm="row"), id="block-card")),
        title_key="services.title",
    )


def internet_page() -> rx.Component:
    s = InternetState
    return page_frame(
        "/internet",
        card(rx.vstack(
            section_title("internet.remaining"),
            rx.cond(s.buckets.length() > 0,
                    rx.grid(rx.foreach(s.buckets, bundle_meter), columns=rx.breakpoints(initial="1", md="2"),
                            spacing="5", width="100%"),
                    empty_note(T["internet.none"])),
            spacing="4", width="100%"), id="data-buckets"),
        section_title("internet.packages"),
        rx.grid(rx.foreach(s.products, lambda p: card(rx.vstack(
            rx.hstack(rx.icon("wifi", color=RED), rx.heading(p["name"], size="4"), align="center"),
            rx.text(p["description"], size="2", color="var(--gray-11)"),
            rx.text(p["price"], size="5", weight="bold"),
            ask(T["internet.buy"], T["internet.buy_q"], p["name"] + " — " + p["price"], s.prepare(p["code"]),
                s.connect(p["code"]), "buy-" + p["code"]),
            spacing="3"), id="package-" + p["code"])),
            columns=rx.breakpoints(initial="1", sm="3"), spacing="4", width="100%"),
        title_key="internet.title",
    )


def roaming_page() -> rx.Component:
    s = RoamingState
    return page_frame(
        "/roaming",
        rx.text(T["roaming.hint"], color="var(--gray-11)"),
        rx.foreach(s.products, lambda p: card(rx.flex(
            rx.vstack(
                rx.hstack(rx.icon("plane", color=RED), rx.heading(p["name"], size="4"),
                          rx.cond(p["connected"] == "1", rx.badge(T["roaming.on"], color_scheme="green")),
                          align="center", wrap="wrap"),
                rx.text(p["description"], size="2"),
                rx.text(p["price"], size="2", weight="medium"),
                rx.cond(p["code"] == "zabugorishche",
                        rx.text(T["roaming.popular"] + ": " + s.popular, size="1", color="var(--gray-11)")),
                rx.cond(p["paid_points"] != "", rx.badge(p["paid_points"], color_scheme="amber")),
                spacing="2", flex="1", min_width="0"),
            rx.switch(checked=p["connected"] == "1", on_change=lambda on: s.ask_toggle(p["code"], on), size="3",
                      id="toggle-" + p["code"], aria_label=p["name"]),
            gap="12px", align="center", width="100%"), id="roaming-" + p["code"])),
        card(rx.text(T["roaming.rates"], size="2", color="var(--gray-11)")),
        roaming_dialog(),
        title_key="roaming.title",
    )


def roaming_dialog() -> rx.Component:
    """Asked whenever a roaming switch is flipped: the price and when it is charged, before anything changes."""
    s = RoamingState
    return rx.alert_dialog.root(rx.alert_dialog.content(
        rx.alert_dialog.title(rx.cond(s.ask_on, T["roaming.on_q"], T["roaming.off_q"]) + " «" + s.ask_name + "»?"),
        rx.alert_dialog.description(s.ask_terms, size="2", id="roaming-terms"),
        rx.cond(s.ask_on, rx.text(T["services.cost_now"] + ": ", rx.text.strong(s.ask_cost), size="2",
                                  margin_top="8px", id="roaming-cost")),
        rx.flex(
            rx.alert_dialog.cancel(rx.button(T["cancel"], variant="soft", color_scheme="gray", id="confirm-cancel")),
            rx.alert_dialog.action(rx.button(rx.cond(s.ask_on, T["roaming.confirm_on"], T["roaming.confirm_off"]),
                                             color_scheme=rx.cond(s.ask_on, "red", "gray"),
                                             on_click=s.confirm_toggle, id="confirm-ok")),
            gap="12px", justify="end", margin_top="16px"),
        max_width="460px", id="roaming-dialog",
    ), open=s.ask_open, on_open_change=s.set_ask_open)


def bonus_page() -> rx.Component:
    s = BonusState
    return page_frame(
        "/bonus",
        card(rx.vstack(
            rx.hstack(rx.icon("gift", color=RED, size=28),
                      rx.heading(rx.cond(s.loaded, s.points.to_string(), "…"), size="8", id="bonus-balance"),
                      rx.text(s.points_word, size="4", id="bonus-word"), align="baseline", spacing="2"),
            rx.text(T["bonus.hint"], size="2", color="var(--gray-11)"),
            spacing="2")),
        section_title("bonus.catalogue"),
        rx.grid(rx.foreach(s.offers, lambda o: card(rx.vstack(
            rx.heading(o["name"], size="4"),
            rx.text(o["what"], size="2", color="var(--gray-11)"),
            rx.text(o["points"], size="5", weight="bold", class_name="offer-points"),
            ask(T["bonus.exchange"], T["bonus.exchange_q"], o["name"] + " — " + o["points"],
                s.prepare(o["code"]), s.exchange(o["code"]), "exchange-" + o["code"],
                disabled=o["affordable"] == "0"),
            rx.cond(o["missing"] != "", rx.text(o["missing"], size="1", color="var(--gray-11)",
                                                id="missing-" + o["code"])),
            spacing="2"), id="offer-" + o["code"])),
            columns=rx.breakpoints(initial="1", sm="2", lg="4"), spacing="4", width="100%"),
        card(rx.vstack(
            section_title("bonus.history"),
            rx.cond(s.history.length() > 0,
                    rx.vstack(rx.foreach(s.history, lambda h: rx.flex(
                        rx.vstack(rx.text(h["what"], size="2"), rx.text(h["when"], size="1", color="var(--gray-11)"),
                                  spacing="0", min_width="0", flex="1"),
                        rx.text(h["points"], weight="bold", white_space="nowrap",
                                color=rx.cond(h["earned"] == "1", "var(--green-11)", RED)),
                        width="100%", align="center", gap="8px", class_name="bonus-row")), width="100%",
                        id="bonus-history"),
                    empty_note(T["bonus.no_history"])),
            spacing="3", width="100%")),
        title_key="bonus.title",
    )
