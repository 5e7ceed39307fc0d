"""Page object of /money."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


class MoneyPage:
    def __init__(self, page: Page, base: str):
        self.page = page
        self.base = base

    def open(self, tab: str = "topup") -> MoneyPage:
        self.page.goto(f"{self.base}/money?tab={tab}")
        expect(self.page.locator("#money-balance")).to_contain_text("₽")
        return self

    def tab(self, name: str) -> None:
        self.page.locator(f"#tab-{name}").click()

    def top_up_with_new_card(self, amount: str, pan: str, expiry: str = "12/30", cvc: str = "123",
                             save: bool = True, double_click: bool = False) -> None:
        self.page.locator("#topup-amount").fill(amount)
        self.page.locator("#card-number").fill(pan)
        self.page.locator("#card-expiry").fill(expiry)
        self.page.locator("#card-cvc").fill(cvc)
        if not save:
            self.page.locator("#save-card").click()
        self.page.locator("#pay-open").click()
        if double_click:
            self.page.locator("#pay-confirm").dblclick()
        else:
            self.page.locator("#pay-confirm").click()

    def top_up_with_saved_card(self, amount: str) -> None:
        self.page.locator("#topup-amount").fill(amount)
        self.page.locator("#pay-open").click()
        self.page.locator("#pay-confirm").click()

    def balance(self) -> str:
        return self.page.locator("#money-balance").inner_text()

    def code_from_phone(self, msisdn: str, starts: str) -> str:
        inbox = self.page.context.new_page()
        inbox.goto(f"{self.base}/phone?n={msisdn}")
        text = inbox.locator("#phone-inbox .sms-text").first
        expect(text).to_contain_text(starts)
        code = re.search(r"\b(\d{6})\b", text.inner_text()).group(1)
        inbox.close()
        return code
