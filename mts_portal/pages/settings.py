"""/settings — password, SMS notices of debits, call forwarding, language."""

from __future__ import annotations

import reflex as rx

from mts_portal.components.layout import card, page_frame, section_title
from mts_portal.state.base import UiState
from mts_portal.state.settings import SettingsState


def password_card() -> rx.Component:
    return card(rx.vstack(
        section_title("settings.password"),
        rx.text(rx.cond(SettingsState.has_password, UiState.t["settings.password_set"],
                        UiState.t["settings.password_none"]), size="2", color="var(--gray-11)"),
        rx.form(rx.vstack(
            rx.cond(SettingsState.has_password,
                    rx.input(name="current_password", type="password", placeholder=UiState.t["pwd.current"],
                             id="current-password", width="100%", auto_complete="current-password")),
            rx.flex(
                rx.button(UiState.t["settings.get_code"], type="button", variant="soft", on_click=SettingsState.send_code,
                          id="password-code-send"),
                rx.cond(SettingsState.code_sent_to != "",
                        rx.text(UiState.t["settings.code_sent"] + " " + SettingsState.code_sent_to, size="2",
                                id="password-code-sent")),
                gap="8px", align="center", wrap="wrap",
            ),
            rx.cond(SettingsState.code_sent_to != "",
                    rx.input(name="code", placeholder=UiState.t["settings.code"], input_mode="numeric", max_length=6,
                             id="password-code", width="100%")),
            rx.input(name="new_password", type="password", placeholder=UiState.t["pwd.new"], id="settings-new-password",
                     width="100%", auto_complete="new-password", required=True),
            rx.input(name="repeat_password", type="password", placeholder=UiState.t["pwd.repeat"],
                     id="settings-repeat-password", width="100%", auto_complete="new-password", required=True),
            rx.cond(SettingsState.pwd_error != "",
                    rx.text(SettingsState.pwd_error, color="red", size="2", id="settings-password-error")),
            rx.button(UiState.t["save"], type="submit", id="settings-save-password"),
            spacing="3", width="100%", max_width="420px",
        ), on_submit=SettingsState.change_password, reset_on_submit=True, width="100%"),
        spacing="3", width="100%",
    ), id="password-settings")


def notify_card() -> rx.Component:
    return card(rx.flex(
        rx.vstack(section_title("settings.notify"),
                  rx.text(UiState.t["settings.notify_hint"], size="2", color="var(--gray-11)"), spacing="1"),
        rx.spacer(),
        rx.switch(checked=SettingsState.sms_notify, on_change=SettingsState.toggle_notify, size="3",
                  id="sms-notify-switch"),
        align="center", gap="12px", width="100%",
    ))


def forwarding_card() -> rx.Component:
    modes = ["always", "busy", "no_answer", "unreachable"]
    return card(rx.vstack(
        section_title("settings.forward"),
        rx.text(rx.cond(SettingsState.forward_label != "",
                        UiState.t["settings.forward_on"] + " " + SettingsState.forward_label,
                        UiState.t["settings.forward_none"]), size="2", id="forward-state"),
        rx.form(rx.flex(
            rx.input(name="forward_to", placeholder="+7 9XX XXX-XX-XX", type="tel", id="forward-to", flex="1",
                     min_width="200px"),
            rx.select.root(
                rx.select.trigger(id="forward-mode"),
                rx.select.content(*[rx.select.item(UiState.t[f"forward.{m}"], value=m) for m in modes]),
                value=SettingsState.forward_mode, on_change=SettingsState.set_forward_mode,
            ),
            rx.button(UiState.t["save"], type="submit", id="forward-save"),
            rx.cond(SettingsState.forward_label != "",
                    rx.button(UiState.t["settings.forward_off"], type="button", variant="soft", color_scheme="gray",
                              on_click=SettingsState.forwarding_off, id="forward-off")),
            gap="8px", wrap="wrap", width="100%",
        ), on_submit=SettingsState.save_forwarding, width="100%"),
        rx.cond(SettingsState.forward_error != "", rx.text(SettingsState.forward_error, color="red", size="2",
                                                           id="forward-error")),
        spacing="3", width="100%",
    ))


def language_card() -> rx.Component:
    return card(rx.flex(
        section_title("settings.language"),
        rx.spacer(),
        rx.segmented_control.root(
            rx.segmented_control.item("Русский", value="ru"),
            rx.segmented_control.item("English", value="en"),
            value=UiState.lang, on_change=SettingsState.set_language, id="language-control",
        ),
        align="center", gap="12px", width="100%", wrap="wrap",
    ))


def settings_page() -> rx.Component:
    return page_frame("/settings", password_card(), notify_card(), forwarding_card(), language_card(),
                      title_key="settings.title")
