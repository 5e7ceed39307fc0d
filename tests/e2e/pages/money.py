"""Page object of /money («Счёт»).

Every money action there is: fill the form, send it (its button or Enter) -> a confirmation that says
what will happen (`#<kind>-question`) -> its one button (`#<kind>-confirm`). Field errors are shown
under the field as `#<field id>-error`."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

TABS = ("topup", "promise", "autopay", "transfer", "history", "spending")


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
        expect(self.page.locator(f"#tab-{name}")).to_have_attribute("data-state", "active")

    def field_error(self, field_id: str) -> Locator:
        return self.page.locator(f"#{field_id}-error")

    def question(self, kind: str) -> Locator:
        return self.page.locator(f"#{kind}-question")

    def confirm(self, kind: str, double_click: bool = False) -> None:
        button = self.page.locator(f"#{kind}-confirm")
        expect(button).to_be_visible()
        if double_click:
            button.dblclick()
        else:
            button.click()
        expect(self.page.locator(f"#{kind}-dialog")).to_be_hidden()

    def cancel(self, kind: str) -> None:
        self.page.locator(f"#{kind}-cancel").click()
        expect(self.page.locator(f"#{kind}-dialog")).to_be_hidden()

    def toasts(self) -> Locator:
        return self.page.locator("[data-sonner-toast]")

    # ---------------------------------------------------------------- top up

    def choose_card(self, name: str) -> None:
        self.page.locator("#topup-card").click()
        self.page.get_by_role("option", name=name).click()

    def fill_new_card(self, pan: str, expiry: str = "12/30", cvc: str = "123", save: bool = True) -> None:
        self.page.locator("#card-number").fill(pan)
        self.page.locator("#card-expiry").fill(expiry)
        self.page.locator("#card-cvc").fill(cvc)
        if not save:
            self.page.locator("#save-card").click()

    def ask_top_up(self, amount: str, pan: str | None = None, press_enter: bool = False, **card) -> None:
        """Fill the form and send it: the confirmation opens (nothing is paid yet)."""
        self.page.locator("#topup-amount").fill(amount)
        if pan is not None:
            self.fill_new_card(pan, **card)
        if press_enter:
            self.page.locator("#topup-amount").press("Enter")
        else:
            self.page.locator("#pay-open").click()

    def top_up_with_new_card(self, amount: str, pan: str, expiry: str = "12/30", cvc: str = "123",
                             save: bool = True, double_click: bool = False) -> None:
        self.ask_top_up(amount, pan, expiry=expiry, cvc=cvc, save=save)
        self.confirm("pay", double_click=double_click)

    def top_up_with_saved_card(self, amount: str, double_click: bool = False) -> None:
        self.ask_top_up(amount)
        self.confirm("pay", double_click=double_click)

    def balance(self) -> str:
        return self.page.locator("#money-balance").inner_text()

    # ---------------------------------------------------------------- transfer

    def ask_transfer(self, to: str, amount: str, double_click: bool = False) -> None:
        self.page.locator("#transfer-to").fill(to)
        self.page.locator("#transfer-amount").fill(amount)
        if double_click:
            self.page.locator("#transfer-send").dblclick()
        else:
            self.page.locator("#transfer-send").click()

    def sms_texts(self, msisdn: str, starts: str) -> list[str]:
        inbox = self.page.context.new_page()
        inbox.goto(f"{self.base}/phone?n={msisdn}")
        texts = inbox.locator("#phone-inbox .sms-text")
        expect(texts.first).to_contain_text(starts)
        out = [t for t in texts.all_inner_texts() if t.startswith(starts)]
        inbox.close()
        return out

    def code_from_phone(self, msisdn: str, starts: str) -> str:
        return re.search(r"\b(\d{6})\b", self.sms_texts(msisdn, starts)[0]).group(1)
