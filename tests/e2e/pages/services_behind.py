"""Page objects of the pages behind the services: /services/goodok, /services/memory, /services/parental."""

from __future__ import annotations

from playwright.sync_api import Locator, expect

from tests.e2e.pages.cabinet import CabinetPage


class ServicePage(CabinetPage):
    ready = "#service-heading"

    def connect_service(self, code: str) -> Locator:
        """Connect the page's service from its «not connected» note: the question says what is charged now."""
        self.page.locator(f"#connect-{code}").click()
        dialog = self.page.get_by_role("alertdialog")
        expect(dialog).to_contain_text("Спишется сейчас")
        self.confirm()
        expect(self.page.locator("#service-off")).to_have_count(0)
        return dialog


class GoodokPage(ServicePage):
    route = "/services/goodok"

    def choose(self, code: str) -> Locator:
        """Open the question for a melody (nothing changes yet); returns the dialog."""
        self.page.locator(f"#choose-{code}").click()
        dialog = self.page.locator("#melody-dialog")
        expect(dialog).to_be_visible()
        return dialog

    def current(self) -> Locator:
        return self.page.locator("#goodok-current")


class MemoryPage(ServicePage):
    route = "/services/memory"

    def backup_now(self, double_click: bool = False) -> None:
        self.page.locator("#backup-now").click()
        self.confirm(double_click)

    def backups(self) -> Locator:
        return self.page.locator("#backups .backup")

    def contacts(self) -> Locator:
        return self.page.locator("#phone-contacts .contact")

    def restore(self, backup_row: Locator) -> Locator:
        backup_row.get_by_role("button").click()
        dialog = self.page.locator("#restore-dialog")
        expect(dialog).to_be_visible()
        return dialog


class ParentalPage(ServicePage):
    route = "/services/parental"

    def attach_own(self) -> None:
        self.page.locator("#attach-own").click()
        self.confirm()

    def child(self, msisdn: str) -> Locator:
        return self.page.locator(f"#child-{msisdn}")

    def open_limits(self, msisdn: str) -> Locator:
        self.page.locator(f"#limits-{msisdn}").click()
        dialog = self.page.locator("#limits-dialog")
        expect(dialog).to_be_visible()
        return dialog
