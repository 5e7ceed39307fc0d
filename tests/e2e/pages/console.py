"""Page object of /console, the product team's control room."""

from __future__ import annotations

from playwright.sync_api import Page, expect


class ConsolePage:
    def __init__(self, page: Page, base: str):
        self.page = page
        self.base = base

    def enter_with_link(self, link: str) -> ConsolePage:
        """The one-time link `run.sh` prints (demo mode)."""
        self.page.goto(link)
        expect(self.page.locator("#console-title")).to_be_visible(timeout=20_000)
        return self

    def login_with_token(self, token: str) -> ConsolePage:
        self.page.goto(self.base + "/console")
        self.page.locator("#console-token").fill(token)
        self.page.locator("#console-login").click()
        expect(self.page.locator("#console-title")).to_be_visible(timeout=20_000)
        return self

    def start(self, scenario: str, speed: str = "5") -> None:
        self.page.locator("#run-speed").click()
        self.page.get_by_role("option", name="×" + speed if speed != "0" else "мгновенно").click()
        self.page.locator(f"#start-{scenario}").click()
        expect(self.page.locator("#run-status")).to_be_visible()

    def open_subscriber_from_timeline(self):
        """The first subscriber link of the running scenario's timeline, opened in a new tab (a popup)."""
        button = self.page.locator(".timeline-open").last  # the oldest entry: the subscriber was created
        expect(button).to_be_visible(timeout=20_000)
        with self.page.expect_popup() as popup:
            button.click()
        return popup.value

    def wait_until_done(self, timeout_ms: int = 120_000) -> str:
        status = self.page.locator("#run-status")
        expect(status).not_to_have_attribute("data-status", "running", timeout=timeout_ms)
        return status.get_attribute("data-status")
