"""Page objects of the «Интернет и ТВ» login (on /login) and of /internet-tv."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.pages.login import LoginPage


def inbox_code(page: Page, number: str, words: str) -> str:
    """The newest code that `words` introduce, from the demo phone of `number` (another tab)."""
    phone = page.context.new_page()
    base = "/".join(page.url.split("/")[:3])
    phone.goto(f"{base}/phone?n={number}")
    text = phone.locator("#phone-inbox .sms-text").first
    expect(text).to_contain_text(words)
    code = re.search(r"\b(\d{6})\b", text.inner_text()).group(1)
    phone.close()
    return code


class HomeLogin:
    def __init__(self, page: Page, base: str):
        self.page, self.base = page, base

    def login_with_code(self, contract: str, contact: str) -> None:
        LoginPage(self.page, self.base).open()
        self.page.get_by_role("radio", name="Интернет и ТВ", exact=True).click()
        self.page.locator("#home-contract").fill(contract)
        self.page.locator("#home-get-code").click()
        expect(self.page.locator("#home-login-code")).to_be_visible()
        code = inbox_code(self.page, contact, "Интернет и ТВ")
        self.page.locator("#home-login-code").fill(code)
        self.page.locator("#home-submit-code").click()
        self.page.wait_for_url(re.compile(r"/internet-tv"))
        expect(self.page.locator("#home-balance")).to_contain_text("₽", timeout=15_000)  # establish, then a page load


class HomeTvPage:
    def __init__(self, page: Page, base: str):
        self.page, self.base = page, base

    def pay(self, rub: str, card: str = "4111 1111 1111 1111") -> None:
        self.page.locator("#home-pay-amount").fill(rub)
        self.page.locator("#home-pay-card").fill(card)
        self.page.locator("#home-pay-expiry").fill("12/30")
        self.page.locator("#home-pay-cvc").fill("123")
        self.page.locator("#home-pay-submit").click()

    def connect(self, code: str) -> str:
        """Ask to connect: the cost shows first; confirm; returns the quote shown."""
        self.page.locator(f"#home-on-{code}").click()
        expect(self.page.locator("#home-pending-text")).to_contain_text("₽")
        text = self.page.locator("#home-pending-text").inner_text()
        self.page.locator("#home-confirm").click()
        expect(self.page.locator(f"#home-off-{code}")).to_be_visible()
        return text
