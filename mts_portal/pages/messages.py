"""/notifications, /sms, /support and the demo /mailbox."""

from __future__ import annotations

import reflex as rx

from mts_portal.components.layout import RED, card, page_frame, public_header, section_title
from mts_portal.components.widgets import empty_note
from mts_portal.core.support import SHOPS, city_name
from mts_portal.state.base import UiState
from mts_portal.state.messages import MailboxState, NotificationsState, SmsState, SupportState

T = UiState.t


def notifications_page() -> rx.Component:
    s = NotificationsState
    return page_frame(
        "/notifications",
        rx.flex(rx.text(T["notes.hint"], size="2", color="var(--gray-11)"), rx.spacer(),
                rx.button(T["notes.read_all"], variant="soft", on_click=s.read_all, id="read-all",
                          disabled=s.unread == 0), width="100%", align="center", wrap="wrap", gap="8px"),
        card(rx.cond(
            s.items.length() > 0,
            rx.vstack(rx.foreach(s.items, lambda n: rx.flex(
                rx.box(width="8px", height="8px", border_radius="4px", flex_shrink="0", margin_top="6px",
                       background=rx.cond(n["unread"] == "1", RED, "transparent")),
                rx.vstack(rx.text(n["text"], size="2", weight=rx.cond(n["unread"] == "1", "medium", "regular")),
                          rx.text(n["when"], size="1", color="var(--gray-11)"), spacing="0", flex="1"),
                rx.cond(n["unread"] == "1", rx.icon_button(rx.icon("check", size=14), size="1", variant="ghost",
                                                           on_click=s.read_one(n["id"]), aria_label="read")),
                gap="10px", width="100%", padding_y="8px", border_bottom="1px solid var(--gray-3)",
                class_name=rx.cond(n["unread"] == "1", "notification unread", "notification"))),
                width="100%", spacing="0", id="notifications"),
            empty_note(T["notes.empty"]))),
        title_key="notes.title",
    )


def recipient_field(value, i) -> rx.Component:
    """One recipient: its number field (the first keeps id sms-to), its message beside it, and removing it."""
    s = SmsState
    n = (i + 1).to_string()
    field_id = rx.cond(i == 0, "sms-to", "sms-to-" + n)
    return rx.vstack(
        rx.flex(
            rx.input(placeholder="+7 9XX XXX-XX-XX", value=value, on_change=lambda v: s.set_recipient(i, v),
                     type="tel", id=field_id, flex="1", min_width="0", max_width="320px",
                     aria_label=T["sms.recipient"].replace("{n}", n), class_name="sms-recipient"),
            rx.cond(i > 0, rx.icon_button(rx.icon("x", size=14), size="2", variant="soft", color_scheme="gray",
                                          on_click=s.remove_recipient(i), id="sms-remove-" + n,
                                          aria_label=T["sms.remove"].replace("{n}", n),
                                          title=T["sms.remove"].replace("{n}", n))),
            gap="8px", align="center", width="100%"),
        rx.cond(s.to_errors[i] != "", rx.text(s.to_errors[i], color="var(--red-11)", size="1", role="alert",
                                              id=rx.cond(i == 0, "sms-to-error", "sms-to-" + n + "-error"))),
        spacing="1", width="100%")


def sms_page() -> rx.Component:
    s = SmsState
    return page_frame(
        "/sms",
        card(rx.vstack(
            rx.text(T["sms.hint"], size="2", color="var(--gray-11)"),
            rx.el.label(rx.text(T["sms.to"], size="2", weight="medium"), html_for="sms-to"),
            rx.text(T["sms.up_to"], size="1", color="var(--gray-11)"),
            rx.vstack(rx.foreach(s.recipients, recipient_field), spacing="2", width="100%", id="sms-recipients"),
            rx.button(rx.icon("plus", size=14), T["sms.add"], size="1", variant="ghost", on_click=s.add_recipient,
                      disabled=~s.can_add, id="sms-add"),
            rx.el.label(rx.text(T["sms.text"], size="2", weight="medium"), html_for="sms-text"),
            # the field stops at one SMS: 70 characters with Cyrillic, 160 in Latin letters (GSM-7)
            rx.text_area(placeholder=T["sms.text"], value=s.text, on_change=s.set_text, id="sms-text", width="100%",
                         rows="4", max_length=s.limit),
            rx.flex(
                rx.text(s.text.length().to_string() + " / " + s.limit.to_string() + " " + T["sms.chars"], size="1",
                        weight=rx.cond(s.text.length() >= s.limit, "bold", "regular"),
                        color=rx.cond(s.over > 0, "red", rx.cond(s.text.length() == s.limit, "var(--orange-11)",
                                                                 "var(--gray-11)")),
                        id="sms-counter", white_space="nowrap"),
                rx.text(rx.cond(s.length_note != "", s.length_note, T["sms.limit_hint"]), size="1",
                        color=rx.cond(s.over > 0, "red", "var(--gray-11)"), id="sms-length-note"),
                gap="8px", wrap="wrap", width="100%"),
            rx.cond(s.text_error != "", rx.text(s.text_error, color="var(--red-11)", size="1", role="alert",
                                                id="sms-text-error")),
            rx.cond(s.error != "", rx.callout(s.error, color_scheme="red", icon="circle-x", id="sms-error",
                                              width="100%")),
            rx.cond(s.result != "", rx.callout(s.result, color_scheme="green", icon="circle-check", id="sms-result",
                                               width="100%")),
            rx.cond(s.outcomes.length() > 1, rx.vstack(rx.foreach(s.outcomes, lambda o: rx.text(
                o["to"] + ": " + o["text"], size="2", color=rx.cond(o["ok"] == "1", "var(--green-11)", "var(--red-11)"),
                class_name="sms-outcome")), spacing="1", id="sms-outcomes")),
            rx.button(T["sms.send"], on_click=s.ask, id="sms-send", disabled=(s.over > 0) | (s.text.strip() == "")),
            spacing="3", width="100%",
        )),
        rx.alert_dialog.root(rx.alert_dialog.content(
            rx.alert_dialog.title(T["sms.send_q"]),
            rx.alert_dialog.description(s.cost_detail, size="2", id="sms-cost-detail"),
            rx.text(T["sms.cost_now"] + ": ", rx.text.strong(s.cost_text, id="sms-cost"), size="2", margin_top="8px"),
            rx.text(T["sms.hint"], size="1", color="var(--gray-11)", margin_top="4px"),
            rx.flex(
                rx.alert_dialog.cancel(rx.button(T["cancel"], variant="soft", color_scheme="gray", id="confirm-cancel")),
                rx.button(T["sms.send"], on_click=s.send, id="confirm-ok"),
                gap="12px", justify="end", margin_top="16px"),
            max_width="440px", id="sms-dialog",
        ), open=s.ask_open, on_open_change=s.set_ask_open),
        title_key="sms.title",
    )


def support_page() -> rx.Component:
    s = SupportState
    return page_frame(
        "/support",
        rx.grid(
            card(rx.vstack(
                section_title("support.faq"),
                rx.input(placeholder=T["support.search"], value=s.query_text, on_change=s.search, id="faq-search",
                         width="100%"),
                rx.cond(s.faq.length() > 0,
                        rx.accordion.root(rx.foreach(s.faq, lambda f: rx.accordion.item(
                            header=f["q"], content=f["a"], value=f["id"], class_name="faq-item")),
                            collapsible=True, width="100%", variant="ghost", id="faq"),
                        empty_note(T["support.nothing"])),
                spacing="3", width="100%")),
            rx.vstack(
                card(rx.vstack(
                    section_title("support.chat"),
                    rx.vstack(rx.foreach(s.chat, lambda m: rx.box(
                        rx.text(m["text"], size="2"),
                        align_self=rx.cond(m["who"] == "me", "flex-end", "flex-start"),
                        background=rx.cond(m["who"] == "me", "var(--red-3)", "var(--gray-3)"),
                        padding="8px 12px", border_radius="12px", max_width="85%",
                        class_name=rx.cond(m["who"] == "me", "chat-me", "chat-bot"))),
                        width="100%", spacing="2", id="chat", max_height="320px", overflow_y="auto"),
                    rx.form(rx.hstack(rx.input(name="message", placeholder=T["support.ask"] + "…", id="chat-input",
                                               flex="1"),
                                      rx.button(rx.icon("send", size=16), type="submit", id="chat-send",
                                                aria_label=T["support.ask"]), width="100%"),
                            on_submit=s.ask, reset_on_submit=True, width="100%"),
                    rx.cond(s.handover, rx.form(rx.vstack(
                        rx.text(T["support.callback"], weight="bold"),
                        rx.input(name="phone", placeholder="+7 9XX XXX-XX-XX", id="callback-phone", width="100%"),
                        rx.input(name="topic", placeholder=T["support.callback_topic"], id="callback-topic",
                                 width="100%"),
                        rx.input(name="when", placeholder=T["support.callback_time"], id="callback-time",
                                 width="100%"),
                        rx.cond(s.callback_error != "", rx.text(s.callback_error, color="red", size="2",
                                                                id="callback-error")),
                        rx.button(T["support.callback_send"], type="submit", id="callback-send"),
                        spacing="2", width="100%"), on_submit=s.callback, width="100%", id="callback-form")),
                    spacing="3", width="100%")),
                card(rx.vstack(
                    section_title("support.shops"),
                    rx.select.root(rx.select.trigger(id="shop-city", aria_label=T["support.city"]), rx.select.content(
                        *[rx.select.item(rx.cond(UiState.lang == "en", city_name(c, "en"), c), value=c)
                          for c in SHOPS]), value=s.city, on_change=s.set_city),
                    rx.cond(s.shop_rows.length() > 0,
                            rx.vstack(rx.foreach(s.shop_rows, lambda sh: rx.hstack(
                                rx.icon("map-pin", size=16, color=RED),
                                rx.vstack(rx.text(sh["address"], size="2", weight="medium"),
                                          rx.text(sh["hours"] + rx.cond(sh["metro"] != "",
                                                                        " · " + T["support.metro"] + " " + sh["metro"],
                                                                        ""),
                                                  size="1", color="var(--gray-11)"), spacing="0"),
                                class_name="shop")), width="100%", id="shops"),
                            empty_note(T["support.no_shops"])),
                    spacing="3", width="100%")),
                spacing="4", width="100%"),
            columns=rx.breakpoints(initial="1", md="2"), spacing="4", width="100%",
        ),
        title_key="support.title",
    )


def mailbox_page() -> rx.Component:
    """Demo: the simulated mailbox, with the public header (language switch) and a link back."""
    s = MailboxState
    back = rx.link(rx.hstack(rx.icon("arrow-left", size=16), rx.text(T["mail.back"], display=["none", "inline"]),
                             align="center", spacing="1"),
                   href="/", size="2", id="mail-back", aria_label=T["mail.back"], title=T["mail.back"],
                   white_space="nowrap")
    return rx.box(
        public_header(back),
        rx.center(rx.cond(UiState.is_demo, card(rx.vstack(
            rx.hstack(rx.icon("mail", color=RED), rx.heading(T["mail.title"], size="4"), align="center"),
            rx.text(T["mail.hint"], size="1", color="var(--gray-11)"),
            rx.hstack(rx.input(value=s.address, on_change=s.set_address, placeholder="name@example.com",
                               id="mail-address", flex="1", min_width="0"),
                      rx.button(T["mail.show"], on_click=s.show, id="mail-show"), width="100%"),
            rx.cond(s.mails.length() > 0,
                    rx.vstack(rx.foreach(s.mails, lambda m: rx.box(
                        rx.text(m["subject"], weight="bold"), rx.text(m["when"], size="1", color="var(--gray-11)"),
                        rx.text(m["body"], size="2", overflow_wrap="anywhere"),
                        rx.cond(m["attachment"] != "", rx.button(
                            rx.icon("paperclip", size=14), m["attachment"], variant="ghost", size="1",
                            on_click=rx.download(url="/api/v1/demo/mail/" + m["id"] + "/attachment",
                                                 filename=m["attachment"]), class_name="mail-attachment",
                            max_width="100%", white_space="normal", overflow_wrap="anywhere", height="auto")),
                        padding="10px", border="1px solid var(--gray-4)", border_radius="12px", width="100%",
                        min_width="0", class_name="mail")), width="100%", id="mails"),
                    rx.text(T["mail.empty"], size="2", color="var(--gray-11)")),
            spacing="3", width="100%", min_width="0"), max_width="560px"), rx.text("404")),
            padding="16px", align_items="start"),
        min_height="100vh", background="var(--gray-2)",
    )
