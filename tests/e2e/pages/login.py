"""Page object of /login (and the demo phone panel)."""

from __future__ import annotations

import contextlib
import re

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect


class LoginPage:
    def __init__(self, page: Page, base: str):
        self.page = page
        self.base = base

    def open(self) -> LoginPage:
        """Open /login; a browser without its pre-login nonce goes through /api/v1/session/prelogin once
        (a full page load), and the forms appear when the page's websocket carries the nonce."""
        for attempt in range(6):
            try:
                self.page.goto(self.base + "/login")
                break
            except PlaywrightError as exc:
                # a navigation the page started itself replaced ours: a logout just clicked leaves for
                # /api/v1/session/logout, then /login, then (no nonce yet) /api/v1/session/prelogin and
                # /login again — each of those can abort the one before, a wait for one of them included
                # (a CI run: "wait_for_url: net::ERR_ABORTED; maybe frame was detached?"). Let the chain
                # land and load /login again.
                if "ERR_ABORTED" not in str(exc) or attempt == 5:
                    raise
                with contextlib.suppress(PlaywrightError):
                    self.page.wait_for_load_state("load", timeout=5_000)
        expect(self.page.locator("#login-title")).to_be_visible()
        expect(self.page.locator("#login-forms")).to_be_visible(timeout=15_000)
        return self

    def tab_token(self) -> str | None:
        """This tab's Reflex state token (sessionStorage): a new one means a fresh, empty state."""
        return self.page.evaluate("() => window.sessionStorage.getItem('token')")

    def request_code(self, msisdn: str) -> None:
        self.page.locator("#login-phone").fill(msisdn)
        self.page.locator("#get-code").click()
        expect(self.page.locator("#login-code")).to_be_visible()

    def code_from_phone_panel(self, previous: str | None = None) -> str:
        """Read the newest login code from the demo phone panel's inbox."""
        inbox = self.page.locator("#phone-inbox .sms-text").first
        expect(inbox).to_contain_text("Код для входа")
        if previous:
            expect(inbox).not_to_contain_text(previous)
        return re.search(r"\b(\d{6})\b", inbox.inner_text()).group(1)

    def enter_code(self, code: str) -> None:
        self.page.locator("#login-code").fill(code)
        self.page.locator("#submit-code").click()

    def login_with_code(self, msisdn: str) -> None:
        self.open()
        self.request_code(msisdn)
        self.enter_code(self.code_from_phone_panel())
        self.page.wait_for_url(self.base + "/")
        expect(self.page.locator("#balance")).to_contain_text("₽")

    def login_with_password(self, msisdn: str, password: str) -> None:
        self.open()
        self.page.get_by_role("radio", name="По паролю").click()
        self.page.locator("#login-phone-pwd").fill(msisdn)
        self.page.locator("#login-password").fill(password)
        self.page.locator("#submit-password").click()

    def error(self):
        return self.page.locator("#login-error, #login-locked")
