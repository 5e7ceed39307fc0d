"""Page object of /family («МЫ МТС»): the owner's and the member's views."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect


class FamilyPage:
    def __init__(self, page: Page, base: str):
        self.page = page
        self.base = base

    def open(self) -> FamilyPage:
        self.page.goto(self.base + "/family")
        expect(self.page.locator("#invitations, #pool, #member-of, #family-none").first).to_be_visible()
        return self

    # ---- owner
    def ask_invite(self, msisdn: str) -> None:
        """Fill the number and send the form: a bad number is answered at once (`invite_error`), a good
        one opens the confirmation that states the member fee (`invite_dialog`)."""
        self.page.locator("#invite-msisdn").fill(msisdn)
        self.page.locator("#invite-send").click()

    def invite_dialog(self) -> Locator:
        return self.page.locator("#invite-dialog")

    def invite(self, msisdn: str, double_click: bool = False) -> None:
        """Invite and confirm the fee."""
        self.ask_invite(msisdn)
        expect(self.invite_dialog()).to_be_visible()
        ok = self.page.locator("#confirm-ok")
        ok.dblclick() if double_click else ok.click()
        expect(self.invite_dialog()).to_be_hidden()

    def cancel_invitation(self, msisdn: str) -> None:
        self.page.locator(f"#cancel-{msisdn}").click()

    def toasts(self, kind: str = "success") -> Locator:
        return self.page.locator(f"[data-sonner-toast][data-type='{kind}']")

    def invite_error(self) -> Locator:
        return self.page.locator("#invite-error")

    def member(self, msisdn: str) -> Locator:
        return self.page.locator(f"#member-{msisdn}")

    def member_share_used(self, msisdn: str, kind: str) -> Locator:
        return self.page.locator(f"#member-{msisdn} .share-{kind} .share-used")

    def open_quota(self, msisdn: str) -> None:
        self.page.locator(f"#quota-{msisdn}").click()
        expect(self.page.locator("#quota-save")).to_be_visible()

    def set_quota(self, msisdn: str, *, minutes: str | None = None, sms: str | None = None,
                  gb: str | None = None, already_open: bool = False) -> None:
        if not already_open:
            self.open_quota(msisdn)
        for field, value in (("minutes", minutes), ("sms", sms), ("gb", gb)):
            if value is not None:
                self.page.locator(f"#quota-{field}").fill(value)
        self.page.locator("#quota-save").click()

    def quota_error(self) -> Locator:
        return self.page.locator("#quota-error")

    def remove(self, msisdn: str) -> None:
        self.page.locator(f"#remove-{msisdn}").click()
        self.page.locator("#confirm-ok").click()

    def invite_again(self, msisdn: str) -> None:
        self.page.locator(f"#reinvite-{msisdn}").click()

    # ---- invitee / member
    def accept_first_invitation(self) -> None:
        self.page.locator(".invitation button").first.click()  # «Принять»

    def member_of(self) -> Locator:
        return self.page.locator("#member-of")

    def my_share_used(self, kind: str) -> Locator:
        return self.page.locator(f".share-{kind} .share-used")
