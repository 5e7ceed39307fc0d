"""Access journeys in Chromium: lockout, password, idle logout, the session cookie."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.pages.login import LoginPage

pytestmark = pytest.mark.e2e


def test_three_wrong_codes_lock_with_time_left(portal, phone_context):
    msisdn = portal.line("smart")
    page = phone_context.new_page()
    login = LoginPage(page, portal.url).open()
    login.request_code(msisdn)
    right = login.code_from_phone_panel()
    wrong = "000000" if right != "000000" else "111111"
    login.enter_code(wrong)
    expect(page.locator("#login-error")).to_contain_text("Осталось попыток: 2")
    login.enter_code(wrong)
    expect(page.locator("#login-error")).to_contain_text("Осталось попыток: 1")
    login.enter_code(wrong)
    expect(page.locator("#login-locked")).to_contain_text(re.compile(r"заблокирован ещё на (10|9) мин"))
    login.enter_code(right)  # even the right code is refused while locked
    expect(page.locator("#login-locked")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login/?$"))


def test_set_a_password_then_log_in_with_it(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=5_000)
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    expect(page.locator("#password-offer")).to_be_visible()
    page.locator("#set-password").click()
    page.locator("#new-password").fill("Sunny-Day-2026")
    page.locator("#repeat-password").fill("Sunny-Day-2027")
    page.locator("#save-password").click()
    expect(page.locator("#password-error")).to_have_text("Пароли не совпадают")
    page.locator("#repeat-password").fill("Sunny-Day-2026")
    page.locator("#save-password").click()
    expect(page.get_by_text("Пароль сохранён")).to_be_visible()
    expect(page.locator("#password-offer")).to_be_hidden()
    page.locator("#logout").click()
    expect(page.locator("#login-notice")).to_contain_text("Вы вышли")
    login = LoginPage(page, portal.url)
    login.login_with_password(msisdn, "wrong-password-1")
    expect(page.locator("#login-error")).to_contain_text("Неверный номер, пароль или код")
    login.login_with_password(msisdn, "Sunny-Day-2026")
    page.wait_for_url(portal.url + "/")
    expect(page.locator("#balance")).to_have_text("50,00\u00a0₽")


def test_session_cookie_is_httponly_secure_strict(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=1_000)
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    [cookie] = [c for c in desktop_context.cookies() if c["name"] == "mts_session"]
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find("mts_session") == -1  # invisible to scripts
    assert len(cookie["value"]) >= 43


def test_idle_logout_with_the_test_clock(portal, desktop_context):
    msisdn = portal.line("smart")
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    portal.move_clock(minutes=21)
    # the open page notices by itself (its live watcher re-checks the session on the server)
    expect(page.locator("#login-notice")).to_contain_text("20 минут бездействия", timeout=20_000)
    page.goto(portal.url + "/")
    expect(page).to_have_url(re.compile(r"/login"))
