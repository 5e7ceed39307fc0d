"""Page object of / (home)."""

from __future__ import annotations

from playwright.sync_api import Page, expect


class HomePage:
    def __init__(self, page: Page, base: str):
        self.page = page
        self.base = base

    def balance(self) -> str:
        return self.page.locator("#balance").inner_text()

    def bucket_remaining(self, kind: str) -> str:
        return self.page.locator(f".bucket[data-kind='{kind}'] [id^='bucket-remaining-']").first.inner_text()

    def expect_balance(self, text: str, timeout: float = 5000) -> None:
        expect(self.page.locator("#balance")).to_have_text(text, timeout=timeout)
