"""/login: phone + SMS code or phone + password; the demo phone panel."""

from __future__ import annotations

import reflex as rx

from mts_portal.components.layout import RED, card, public_header
from mts_portal.state.base import UiState
from mts_portal.state.home_tv import HomeLoginState as H
from mts_portal.state.login import LoginState, PhoneState


def _error() -> rx.Component:
    return rx.cond(
        LoginState.error != "",
        rx.callout(LoginState.error, icon="triangle-alert", color_scheme=rx.cond(LoginState.locked, "orange", "red"),
                   id=rx.cond(LoginState.locked, "login-locked", "login-error"), width="100%"),
    )


def _phone_input(**props) -> rx.Component:
    return rx.input(name="phone", placeholder="+7 9XX XXX-XX-XX", type="tel", input_mode="tel",
                    auto_complete="tel", size="3", width="100%", value=LoginState.phone_input,
                    on_change=LoginState.set_phone_input, **props)


def code_form() -> rx.Component:
    return rx.cond(
        LoginState.step == "phone",
        rx.form(
            rx.vstack(
                rx.text(UiState.t["login.phone"], size="2", weight="medium"),
                _phone_input(id="login-phone"),
                rx.button(UiState.t["login.get_code"], type="submit", size="3", width="100%", id="get-code",
                          loading=LoginState.busy),
                spacing="3", width="100%",
            ),
            on_submit=LoginState.request_code, width="100%",
        ),
        rx.form(
            rx.vstack(
                rx.text(UiState.t["login.code_sent"] + " " + LoginState.phone_label, size="2", id="code-sent"),
                rx.input(name="code", placeholder="••••••", type="text", input_mode="numeric", max_length=6,
                         auto_complete="one-time-code", size="3", width="100%", id="login-code",
                         auto_focus=True),
                rx.button(UiState.t["login.submit"], type="submit", size="3", width="100%", id="submit-code",
                          loading=LoginState.busy),
                rx.flex(
                    # prevent_default: the link's "#" would be a navigation, which loads (and wipes) the page
                    rx.link(UiState.t["login.change_number"], on_click=[rx.prevent_default, LoginState.change_number],
                            size="2", id="change-number", cursor="pointer"),
                    rx.spacer(),
                    # a new code once the wait is over: a minute after the last one, later at the hourly limit
                    rx.cond(
                        LoginState.resend_wait > 0,
                        rx.text(UiState.t["login.resend_in"] + " " + LoginState.resend_text, size="2",
                                color="var(--gray-11)", id="resend-wait"),
                        rx.link(UiState.t["login.resend"], on_click=[rx.prevent_default, LoginState.resend],
                                size="2", id="resend-code", cursor="pointer"),
                    ),
                    gap="8px", wrap="wrap", width="100%", align="center",
                ),
                spacing="3", width="100%",
            ),
            on_submit=LoginState.submit_code, width="100%", reset_on_submit=True,
        ),
    )


def password_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text(UiState.t["login.phone"], size="2", weight="medium"),
            _phone_input(id="login-phone-pwd"),
            rx.text(UiState.t["login.password"], size="2", weight="medium"),
            rx.input(name="password", type="password", size="3", width="100%", id="login-password",
                     auto_complete="current-password"),
            rx.button(UiState.t["login.submit"], type="submit", size="3", width="100%", id="submit-password",
                      loading=LoginState.busy),
            spacing="3", width="100%",
        ),
        on_submit=LoginState.submit_password, width="100%",
    )


def home_forms() -> rx.Component:
    """«Интернет и ТВ»: contract + code to the contact mobile, or contract + password; recovery by a code."""
    contract = lambda id_: rx.input(name="contract", placeholder="7700 0000 0000", input_mode="numeric",  # noqa: E731
                                    size="3", width="100%", id=id_, value=H.contract_input,
                                    on_change=H.set_contract_input, required=True)
    error = rx.cond(H.error != "", rx.callout(H.error, icon="triangle-alert", color_scheme="red", width="100%",
                                              id="home-login-error"))
    notice = rx.cond(H.notice != "", rx.text(H.notice, size="2", color="var(--gray-11)", id="home-login-notice"))
    return rx.vstack(
        error, notice,
        rx.match(
            H.step,
            ("code", rx.form(rx.vstack(
                rx.input(name="code", placeholder="••••••", input_mode="numeric", max_length=6, size="3",
                         width="100%", id="home-login-code", auto_complete="one-time-code", required=True),
                rx.button(UiState.t["login.submit"], type="submit", size="3", width="100%", id="home-submit-code"),
                rx.link(UiState.t["back"], on_click=[rx.prevent_default, H.to_start], size="2", cursor="pointer"),
                spacing="3", width="100%"), on_submit=H.submit_code, width="100%", reset_on_submit=True)),
            ("recover", rx.form(rx.vstack(
                rx.text(UiState.t["hlogin.contract"], size="2", weight="medium"), contract("home-recover-contract"),
                rx.text(UiState.t["hlogin.recover_hint"], size="1", color="var(--gray-11)"),
                rx.button(UiState.t["hlogin.recover_send"], type="submit", size="3", width="100%",
                          id="home-recover-send"),
                spacing="3", width="100%"), on_submit=H.request_recovery, width="100%")),
            ("recover_code", rx.form(rx.vstack(
                rx.input(name="code", placeholder="••••••", input_mode="numeric", max_length=6, size="3",
                         width="100%", id="home-recover-code", required=True),
                rx.text(UiState.t["hlogin.new_password"], size="2", weight="medium"),
                rx.input(name="password", type="password", size="3", width="100%", id="home-recover-password",
                         auto_complete="new-password", required=True),
                rx.button(UiState.t["save"], type="submit", size="3", width="100%", id="home-recover-submit"),
                spacing="3", width="100%"), on_submit=H.submit_recovery, width="100%")),
            rx.vstack(
                rx.form(rx.vstack(
                    rx.text(UiState.t["hlogin.contract"], size="2", weight="medium"), contract("home-contract"),
                    rx.button(UiState.t["hlogin.get_code"], type="submit", size="3", width="100%",
                              id="home-get-code"),
                    spacing="3", width="100%"), on_submit=H.request_code, width="100%"),
                rx.form(rx.vstack(
                    rx.text(UiState.t["login.password"], size="2", weight="medium"),
                    rx.input(name="contract", type="hidden", value=H.contract_input),
                    rx.input(name="password", type="password", size="3", width="100%", id="home-password",
                             auto_complete="current-password"),
                    rx.button(UiState.t["login.submit"], type="submit", size="3", width="100%", variant="soft",
                              id="home-submit-password"),
                    rx.link(UiState.t["hlogin.recover"], on_click=[rx.prevent_default, H.to_recover], size="2",
                            cursor="pointer", id="home-forgot"),
                    spacing="3", width="100%"), on_submit=H.submit_password, width="100%"),
                spacing="4", width="100%",
            ),
        ),
        spacing="3", width="100%", id="home-login",
    )


def phone_panel() -> rx.Component:
    """Demo only: a number's SMS inbox (the handlers also refuse outside demo mode)."""
    return card(
        rx.vstack(
            rx.hstack(rx.icon("smartphone", color=RED), rx.heading(UiState.t["phone.title"], size="4"),
                      align="center"),
            rx.text(UiState.t["phone.hint"], size="1", color="var(--gray-11)"),
            rx.form(
                rx.hstack(
                    rx.input(name="number", placeholder="+7 9XX XXX-XX-XX", value=PhoneState.number,
                             on_change=PhoneState.set_number, id="phone-number", width="100%"),
                    rx.button(rx.icon("refresh-cw", size=16), type="submit", variant="soft", id="phone-show",
                              aria_label=UiState.t["phone.show"]),
                    width="100%",
                ),
                on_submit=PhoneState.show, width="100%",
            ),
            rx.cond(PhoneState.error != "", rx.text(PhoneState.error, color="red", size="1")),
            rx.cond(
                PhoneState.messages.length() > 0,
                rx.vstack(
                    rx.foreach(PhoneState.messages, lambda m: rx.box(
                        rx.hstack(rx.text(m["from"], weight="bold", size="1"), rx.spacer(),
                                  rx.text(m["when"], size="1", color="var(--gray-11)"), width="100%"),
                        rx.text(m["text"], size="2", class_name="sms-text"),
                        background="var(--gray-3)", border_radius="12px", padding="8px 12px", width="100%",
                    )),
                    spacing="2", width="100%", id="phone-inbox",
                ),
                rx.text(UiState.t["phone.empty"], size="2", color="var(--gray-11)"),
            ),
            rx.form(rx.hstack(
                rx.input(name="text", placeholder=UiState.t["phone.reply"] + " (MTS)…", id="phone-reply-text",
                         width="100%"),
                rx.button(rx.icon("send", size=16), type="submit", variant="soft", id="phone-reply-send",
                          aria_label=UiState.t["phone.reply"]), width="100%"),
                on_submit=PhoneState.reply, reset_on_submit=True, width="100%"),
            spacing="3", width="100%",
        ),
        id="phone-panel", max_width="420px",
    )


def demo_logins() -> rx.Component:
    return rx.cond(
        LoginState.demo_logins.length() > 0,
        card(
            rx.text(UiState.t["login.demo_logins"], weight="bold", size="2"),
            rx.foreach(LoginState.demo_logins, lambda d: rx.link(
                d["label"] + " · " + d["tariff"] + " · " + d["holder"], size="1", class_name="demo-login",
                on_click=[rx.prevent_default, LoginState.pick_demo(d["label"])], cursor="pointer", display="block",
                id="demo-login-" + d["msisdn"])),
            max_width="420px",
        ),
    )


def login_page() -> rx.Component:
    return rx.box(
        public_header(),
        rx.flex(
            card(
                rx.vstack(
                    rx.heading(UiState.t["login.title"], size="6", id="login-title"),
                    rx.text(UiState.t["login.subtitle"], color="var(--gray-11)", size="2"),
                    rx.cond(LoginState.notice != "",
                            rx.callout(LoginState.notice, icon="info", color_scheme="blue", id="login-notice",
                                       width="100%")),
                    _error(),
                    # the forms appear once this page's websocket carries the pre-login nonce (login CSRF)
                    rx.cond(
                        LoginState.ready,
                        rx.vstack(
                            # mobile client or «Интернет и ТВ» client (issue 17): the home forms are pages/login's
                            # `home_forms`, the mobile ones below are unchanged
                            rx.segmented_control.root(
                                rx.segmented_control.item(UiState.t["login.kind_mobile"], value="mobile"),
                                rx.segmented_control.item(UiState.t["login.kind_home"], value="home"),
                                value=H.kind, on_change=H.set_kind, width="100%", id="login-kind",
                            ),
                            rx.cond(H.kind == "home", home_forms(), rx.vstack(
                            rx.segmented_control.root(
                                rx.segmented_control.item(UiState.t["login.by_code"], value="code"),
                                rx.segmented_control.item(UiState.t["login.by_password"], value="password"),
                                value=LoginState.mode, on_change=LoginState.set_mode, width="100%",
                                id="login-mode",
                            ),
                            rx.cond(LoginState.mode == "code", code_form(), password_form()),
                            spacing="4", width="100%")),
                            spacing="4", width="100%", id="login-forms",
                        ),
                        rx.cond(LoginState.error == "", rx.center(rx.spinner(size="3"), width="100%",
                                                                  padding="24px", id="login-wait")),
                    ),
                    rx.text(UiState.t["login.hint"], size="1", color="var(--gray-11)"),
                    spacing="4", width="100%",
                ),
                max_width="420px",
            ),
            rx.cond(UiState.is_demo, rx.vstack(phone_panel(), demo_logins(), width="100%", max_width="420px")),
            direction=rx.breakpoints(initial="column", md="row"), gap="16px", justify="center",
            align=rx.breakpoints(initial="center", md="start"),
            padding="16px", width="100%", max_width="960px", margin="0 auto",
        ),
        min_height="100vh", background="var(--gray-2)",
    )
