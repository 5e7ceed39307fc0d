"""Page objects of the cabinet's part 2 (detail, services, roaming, bonus, notifications, SMS,
support, the demo mailbox) and of /tariffs, with what every page shares: toasts, the language
switch, the width check and the "nothing reads 'undefined'" check."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from mts_portal.core.auth import format_msisdn


class CabinetPage:
    route = "/"
    ready = "#page-title"

    def __init__(self, page: Page, base: str):
        self.page = page
        self.base = base

    def open(self):
        self.page.goto(self.base + self.route)
        expect(self.page.locator("#page-loading")).to_have_count(0)
        expect(self.page.locator(self.ready).first).to_be_visible()
        return self

    def switch_line(self, msisdn: str) -> None:
        """Pick another number of the account in the header and wait for the page's own reload that
        follows (`SessionState.switch_line` ends with window.location.reload()): a navigation started
        before it lands is aborted by it (a CI run: "Page.goto: net::ERR_ABORTED")."""
        self.page.locator("#line-switcher").click()
        with self.page.expect_navigation(wait_until="load", timeout=15_000):
            self.page.locator(f"#line-{msisdn}").click()
        expect(self.page.locator("#line-switcher")).to_contain_text(format_msisdn(msisdn))

    # ---- what every page is checked for
    def toasts(self, kind: str | None = None) -> Locator:
        """Sonner's toasts; kind: success | error."""
        return self.page.locator("[data-sonner-toast]" + (f"[data-type='{kind}']" if kind else ""))

    def clear_toasts(self) -> None:
        """Close the toasts on screen (so the next action's answer can be counted)."""
        for button in self.page.locator("[data-sonner-toast] [data-close-button]").all():
            try:
                button.click(timeout=2000)
            except Exception:  # noqa: BLE001 - it went away by itself meanwhile
                pass
        expect(self.toasts()).to_have_count(0, timeout=10_000)

    def expect_one_success(self, text: str) -> None:
        """A double click's answer: one success toast, no error toast (give a second toast time to come)."""
        expect(self.toasts("success").filter(has_text=text)).to_have_count(1)
        self.page.wait_for_timeout(1200)
        expect(self.toasts("success")).to_have_count(1)
        expect(self.toasts("error")).to_have_count(0)

    def to_english(self) -> None:
        toggle = self.page.locator("#lang-toggle")
        if toggle.inner_text().strip() not in ("RU", "Русский"):
            toggle.click()
        expect(toggle).to_contain_text(re.compile("RU|Русский"))

    def to_russian(self) -> None:
        toggle = self.page.locator("#lang-toggle")
        if toggle.inner_text().strip() in ("RU", "Русский"):
            toggle.click()
        expect(toggle).to_contain_text(re.compile("EN|English"))

    def widths(self) -> tuple[int, int]:
        return tuple(self.page.evaluate("[document.documentElement.clientWidth, "
                                        "document.documentElement.scrollWidth]"))

    def assert_fits(self) -> None:
        client, scroll = self.widths()
        assert scroll <= client, f"{self.route} is {scroll} px wide on a {client} px screen"

    def assert_no_undefined(self) -> None:
        assert "undefined" not in self.page.evaluate("document.body.innerText"), self.route

    def confirm(self, double_click: bool = False) -> None:
        ok = self.page.locator("#confirm-ok")
        expect(ok).to_be_visible()
        ok.dblclick() if double_click else ok.click()

    def cancel(self) -> None:
        self.page.locator("#confirm-cancel").click()


class DetailPage(CabinetPage):
    route = "/detail"
    ready = "#detail-totals"

    def open(self):
        super().open()
        expect(self.total_count()).to_be_visible()
        return self

    def total_count(self) -> Locator:
        return self.page.locator("#detail-total-count")

    def export(self, fmt: str, double_click: bool = False):
        """Download an export; returns the Playwright download."""
        with self.page.expect_download() as dl:
            button = self.page.locator(f"#export-{fmt}")
            button.dblclick() if double_click else button.click()
        return dl.value

    def order_by_email(self, email: str, double_click: bool = False) -> None:
        self.page.locator("#detail-email").fill(email)
        button = self.page.locator("#detail-send-email")
        button.dblclick() if double_click else button.click()

    def reports(self) -> Locator:
        return self.page.locator(".report")


class ServicesPage(CabinetPage):
    route = "/services"
    ready = "#services-catalogue"

    def connect(self, code: str, double_click: bool = False) -> None:
        self.page.locator(f"#connect-{code}").click()
        expect(self.page.get_by_role("alertdialog")).to_contain_text("Спишется сейчас")
        self.confirm(double_click)

    def block(self, double_click: bool = False) -> None:
        self.page.locator("#block-number").click()
        self.confirm(double_click)

    def unblock(self) -> None:
        self.page.locator("#unblock-number").click()
        self.confirm()


class RoamingPage(CabinetPage):
    route = "/roaming"
    ready = "#roaming-zabugorishche"

    def flip(self, code: str) -> Locator:
        """Flip an option's switch: a confirmation with its terms opens (nothing changes yet)."""
        self.page.locator(f"#toggle-{code}").click()
        dialog = self.page.locator("#roaming-dialog")
        expect(dialog).to_be_visible()
        return dialog

    def switch(self, code: str) -> Locator:
        return self.page.locator(f"#toggle-{code}")


class BonusPage(CabinetPage):
    route = "/bonus"
    ready = "#bonus-balance"

    def exchange(self, code: str, double_click: bool = False) -> None:
        self.page.locator(f"#exchange-{code}").click()
        self.confirm(double_click)


class SmsPage(CabinetPage):
    route = "/sms"
    ready = "#sms-text"

    def write(self, to: str, text: str) -> None:
        self.page.locator("#sms-to").fill(to)
        self.page.locator("#sms-text").fill(text)

    def send(self, double_click: bool = False) -> None:
        self.page.locator("#sms-send").click()
        self.confirm(double_click)


class TariffsPage(CabinetPage):
    route = "/tariffs"
    ready = "#current-tariff-card"

    def open_switch(self, code: str) -> None:
        self.page.locator(f"#switch-{code}").click()
        expect(self.page.locator("#preview-fee")).to_be_visible()

    def switch_buttons(self) -> Locator:
        return self.page.locator("[id^='switch-']:not(#switch-confirm):not(#switch-blocked)")


class MailboxPage:
    def __init__(self, page: Page, base: str):
        self.page = page
        self.base = base

    def open(self, address: str) -> MailboxPage:
        self.page.goto(f"{self.base}/mailbox?a={address}")
        expect(self.page.locator("#mail-address")).to_have_value(address)
        return self

    def mails(self) -> Locator:
        return self.page.locator(".mail")
