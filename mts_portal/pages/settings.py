"""/settings — password, SMS notices of debits, call forwarding, language."""

from __future__ import annotations

import reflex as rx

from mts_portal.components.layout import card, page_frame, section_title
from mts_portal.state.base import UiState
from mts_portal.state.settings import SettingsState


def _field_error(field: str) -> rx.Component:
    """The password form's error, shown under the field it is about (one at a time)."""
    return rx.cond(
        (SettingsState.pwd_error != "") & (SettingsState.pwd_field == field),
        rx.text(SettingsState.pwd_error, color="red", size="2", id="settings-password-error",
                data_field=field, role="alert"),
    )


def _pwd_input(name: str, field: str, **props) -> rx.Component:
    bad = (SettingsState.pwd_error != "") & (SettingsState.pwd_field == field)
    return rx.input(name=name, width="100%", color_scheme=rx.cond(bad, "red", "gray"),
                    aria_invalid=rx.cond(bad, "true", "false"), **props)


def password_card() -> rx.Component:
    return card(rx.vstack(
        section_title("settings.password"),
        rx.text(rx.cond(SettingsState.has_password, UiState.t["settings.password_set"],
                        UiState.t["settings.password_none"]), size="2", color="var(--gray-11)"),
        # the fields keep what was typed when something is wrong (no reset on submit); a success empties them
        rx.form(rx.vstack(
            rx.cond(SettingsState.has_password,
                    rx.vstack(_pwd_input("current_password", "current", type="password",
                                         placeholder=UiState.t["pwd.current"], id="current-password",
                                         auto_complete="current-password"),
                              _field_error("current"), spacing="1", width="100%")),
            rx.flex(
                rx.button(UiState.t["settings.get_code"], type="button", variant="soft", on_click=SettingsState.send_code,
                          id="password-code-send"),
                rx.cond(SettingsState.code_sent_to != "",
                        rx.text(UiState.t["settings.code_sent"] + " " + SettingsState.code_sent_to, size="2",
                                id="password-code-sent")),
                gap="8px", align="center", wrap="wrap",
            ),
            rx.cond(SettingsState.code_sent_to != "",
                    _pwd_input("code", "code", placeholder=UiState.t["settings.code"], input_mode="numeric",
                               max_length=6, id="password-code", auto_complete="one-time-code")),
            _field_error("code"),
            rx.vstack(_pwd_input("new_password", "new", type="password", placeholder=UiState.t["pwd.new"],
                                 id="settings-new-password", auto_complete="new-password"),
                      _field_error("new"), spacing="1", width="100%"),
            rx.vstack(_pwd_input("repeat_password", "repeat", type="password", placeholder=UiState.t["pwd.repeat"],
                                 id="settings-repeat-password", auto_complete="new-password"),
                      _field_error("repeat"), spacing="1", width="100%"),
            rx.button(UiState.t["save"], type="submit", id="settings-save-password"),
            spacing="3", width="100%", max_width="420px",
        ), on_submit=SettingsState.change_password, reset_on_submit=False, width="100%", id="password-form"),
        spacing="3", width="100%",
    ), id="password-settings")


def notify_card() -> rx.Component:
    return card(rx.flex(
        rx.vstack(section_title("settings.notify"),
                  rx.text(UiState.t["settings.notify_hint"], size="2", color="var(--gray-11)"), spacing="1"),
        rx.spacer(),
        rx.switch(checked=SettingsState.sms_notify, on_change=SettingsState.toggle_notify, size="3",
                  id="sms-notify-switch", aria_label=UiState.t["settings.notify"]),
        align="center", gap="12px", width="100%",
    ))


MODES = ["always", "busy", "no_answer", "unreachable"]


def _mode_text(mode) -> rx.Var:
    return rx.match(mode, *[(m, UiState.t[f"forward.{m}"]) for m in MODES], "")


def forwarding_card() -> rx.Component:
    return card(rx.vstack(
        section_title("settings.forward"),
        # what is saved: the number and when («Переадресация на +7 903 555-44-33 · Если занято»)
        rx.cond(
            SettingsState.forward_label != "",
            rx.flex(
                rx.icon("phone-forwarded", size=16, color="var(--green-11)"),
                rx.text(UiState.t["settings.forward_on"] + " ",
                        rx.text.strong(SettingsState.forward_label, white_space="nowrap", id="forward-number"),
                        " · ",
                        rx.text.span(_mode_text(SettingsState.forward_saved_mode), id="forward-saved-mode"),
                        size="2"),
                gap="8px", align="center", id="forward-state",
            ),
            rx.text(UiState.t["settings.forward_none"], size="2", color="var(--gray-11)", id="forward-state"),
        ),
        rx.form(rx.flex(
            rx.input(name="forward_to", placeholder="+7 9XX XXX-XX-XX", type="tel", id="forward-to", flex="1",
                     min_width="200px", value=SettingsState.forward_input,
                     on_change=SettingsState.set_forward_input,
                     color_scheme=rx.cond(SettingsState.forward_error != "", "red", "gray")),
            rx.select.root(
                rx.select.trigger(id="forward-mode", aria_label=UiState.t["settings.forward_mode"]),
                rx.select.content(*[rx.select.item(UiState.t[f"forward.{m}"], value=m, id=f"forward-mode-{m}")
                                    for m in MODES]),
                value=SettingsState.forward_mode, on_change=SettingsState.set_forward_mode,
            ),
            rx.button(UiState.t["save"], type="submit", id="forward-save"),
            rx.cond(SettingsState.forward_label != "",
                    rx.button(UiState.t["settings.forward_off"], type="button", variant="soft", color_scheme="gray",
                              on_click=SettingsState.forwarding_off, id="forward-off")),
            gap="8px", wrap="wrap", width="100%",
        ), on_submit=SettingsState.save_forwarding, width="100%"),
        rx.cond(SettingsState.forward_error != "", rx.text(SettingsState.forward_error, color="red", size="2",
                                                           id="forward-error", role="alert")),
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
