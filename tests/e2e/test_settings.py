"""Settings: SMS notices of debits, call forwarding, language, changing the password."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.pages.login import LoginPage

pytestmark = pytest.mark.e2e


def test_debit_sms_forwarding_and_language(portal, any_context):
    msisdn = portal.line("minimum", balance_kopecks=10_000)
    page = any_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    page.goto(portal.url + "/settings")
    page.locator("#sms-notify-switch").click()
    expect(page.locator("#sms-notify-switch")).to_be_checked()
    assert "sms_notify" in portal.summary(msisdn)["options"]
    portal.events([{"event_id": f"s-{msisdn}", "msisdn": msisdn, "kind": "voice", "direction": "out",
                    "peer": "79031112233", "started_at": portal.now().isoformat(), "duration_s": 60, "zone": "home"}])
    inbox = any_context.new_page()
    inbox.goto(f"{portal.url}/phone?n={msisdn}")
    expect(inbox.locator("#phone-inbox .sms-text").first).to_contain_text("Списание 2,50")
    inbox.close()

    page.locator("#forward-to").fill(msisdn)
    page.locator("#forward-save").click()
    expect(page.locator("#forward-error")).to_contain_text("этот же номер")
    expect(page.locator("#forward-to")).to_have_value(msisdn)  # the number typed stays for correcting
    page.locator("#forward-to").fill("+7 903 555-44-33")
    page.locator("#forward-mode").click()
    page.locator("#forward-mode-busy").click()
    page.locator("#forward-save").click()
    expect(page.locator("#forward-state")).to_contain_text("+7 903 555-44-33")
    expect(page.locator("#forward-saved-mode")).to_have_text("Если занято")
    page.reload()  # what is saved is shown, and the form is filled with it
    expect(page.locator("#forward-state")).to_contain_text("+7 903 555-44-33")
    expect(page.locator("#forward-state")).to_contain_text("Если занято")
    expect(page.locator("#forward-to")).to_have_value("+7 903 555-44-33")
    expect(page.locator("#forward-mode")).to_have_text("Если занято")
    page.locator("#forward-off").click()
    expect(page.locator("#forward-state")).to_contain_text("выключена")
    expect(page.locator("#forward-to")).to_have_value("")

    page.get_by_role("radio", name="English").click()
    expect(page.locator("#page-title")).to_have_text("Settings")
    page.reload()
    expect(page.locator("#page-title")).to_have_text("Settings")  # kept in the browser
    page.get_by_role("radio", name="Русский").click()
    expect(page.locator("#page-title")).to_have_text("Настройки")


def test_change_password_needs_current_or_code(portal, desktop_context):
    msisdn = portal.line("smart")
    page = desktop_context.new_page()
    login = LoginPage(page, portal.url)
    login.login_with_code(msisdn)
    page.locator("#set-password").click()
    page.locator("#new-password").fill("First-Pass-99")
    page.locator("#repeat-password").fill("First-Pass-99")
    page.locator("#save-password").click()
    expect(page.get_by_text("Пароль сохранён")).to_be_visible()
    page.goto(portal.url + "/settings")
    page.locator("#current-password").fill("Wrong-Pass-00")
    page.locator("#settings-new-password").fill("Second-Pass-77")
    page.locator("#settings-repeat-password").fill("Second-Pass-77")
    page.locator("#settings-save-password").click()
    expect(page.locator("#settings-password-error")).to_contain_text("неверно")
    # the error stands at the field it is about, and nothing typed is lost
    expect(page.locator("#settings-password-error")).to_have_attribute("data-field", "current")
    expect(page.locator("#current-password")).to_have_value("Wrong-Pass-00")
    expect(page.locator("#settings-new-password")).to_have_value("Second-Pass-77")
    expect(page.locator("#settings-repeat-password")).to_have_value("Second-Pass-77")
    page.locator("#current-password").fill("")
    page.locator("#password-code-send").click()
    expect(page.locator("#password-code-sent")).to_be_visible()
    inbox = desktop_context.new_page()
    inbox.goto(f"{portal.url}/phone?n={msisdn}")
    import re

    text = inbox.locator("#phone-inbox .sms-text").first
    expect(text).to_contain_text("Код для смены пароля")
    code = re.search(r"\b(\d{6})\b", text.inner_text()).group(1)
    inbox.close()
    page.locator("#password-code").fill("12ab56")  # not a code: said at the code field, not counted
    page.locator("#settings-save-password").click()
    expect(page.locator("#settings-password-error")).to_have_attribute("data-field", "code")
    expect(page.locator("#settings-password-error")).to_contain_text("6 цифр")
    page.locator("#password-code").fill(code)
    page.locator("#settings-save-password").click()
    expect(page.get_by_text("Пароль сохранён")).to_be_visible()
    expect(page.locator("#settings-new-password")).to_have_value("")  # a success empties the form
    page.locator("#logout").click()
    expect(page.locator("#login-notice")).to_contain_text("Вы вышли")  # landed: the logout's navigations are over
    login.login_with_password(msisdn, "Second-Pass-77")
    page.wait_for_url(portal.url + "/")


def test_password_form_errors_stand_at_their_field(portal, phone_context):
    msisdn = portal.line("smart")
    page = phone_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    page.goto(portal.url + "/settings")
    error = page.locator("#settings-password-error")
    page.locator("#settings-new-password").fill("Sunny-Day-2026")
    page.locator("#settings-repeat-password").fill("Sunny-Day-2027")
    page.locator("#settings-save-password").click()
    expect(error).to_have_text("Пароли не совпадают")
    expect(error).to_have_attribute("data-field", "repeat")
    expect(page.locator("#settings-new-password")).to_have_value("Sunny-Day-2026")
    expect(page.locator("#settings-repeat-password")).to_have_value("Sunny-Day-2027")
    # the error sits right under the repeat field
    field, err = page.locator("#settings-repeat-password").bounding_box(), error.bounding_box()
    assert 0 <= err["y"] - (field["y"] + field["height"]) < 24, (field, err)
    page.locator("#settings-new-password").fill("short")
    page.locator("#settings-repeat-password").fill("short")
    page.locator("#settings-save-password").click()
    expect(error).to_contain_text("не короче 8")
    expect(error).to_have_attribute("data-field", "new")
    page.locator("#lang-toggle").click()  # the shown error follows the language, the fields stay
    expect(error).to_contain_text("at least 8")
    expect(page.locator("#settings-new-password")).to_have_value("short")
