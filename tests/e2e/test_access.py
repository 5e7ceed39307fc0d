"""Access journeys in Chromium: lockout, password, idle logout, the session cookie, login CSRF,
what a logout leaves in the tab, and a logout link on another site."""

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
    expect(page).to_have_url(re.compile(r"/login/?(\?pl=1)?$"))  # still on the login page (pl: came via prelogin)


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
    for name in ("mts_session", "mts_prelogin"):
        [cookie] = [c for c in desktop_context.cookies() if c["name"] == name]
        assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict", name
        assert page.evaluate("document.cookie").find(name) == -1  # invisible to scripts
        assert len(cookie["value"]) >= 43


def test_a_login_link_from_another_browser_does_not_log_in(portal, desktop_context, browser):
    """Login CSRF: the attacker proves his own login, stops before the ticket is redeemed and sends the
    link to the victim; the victim's browser lacks the attacker's pre-login nonce and is refused."""
    msisdn = portal.line("minimum", balance_kopecks=2_000)
    page = desktop_context.new_page()
    tickets = []
    page.route("**/api/v1/session/establish*", lambda route: (tickets.append(route.request.url), route.abort()))
    login = LoginPage(page, portal.url).open()
    login.request_code(msisdn)
    login.enter_code(login.code_from_phone_panel())
    for _ in range(100):
        if tickets:
            break
        page.wait_for_timeout(100)
    assert tickets, "the login page never went to /establish"
    victim_ctx = browser.new_context(locale="ru-RU")
    try:
        victim = victim_ctx.new_page()
        victim.goto(tickets[0])
        expect(victim).to_have_url(re.compile(r"/login"))
        expect(victim.locator("#login-notice")).to_contain_text("не в этом браузере")
        assert not [c for c in victim_ctx.cookies() if c["name"] == "mts_session"]
    finally:
        victim_ctx.close()
    page.unroute("**/api/v1/session/establish*")
    page.goto(tickets[0])  # the browser that proved the login is let in (the ticket was not spent)
    expect(page.locator("#balance")).to_have_text("20,00\u00a0₽")


def test_logout_leaves_nothing_of_the_subscriber_in_the_tab(portal, desktop_context):
    msisdn = portal.line("smart", balance_kopecks=123_456, holder="Алиса Секретова")
    page = desktop_context.new_page()
    login = LoginPage(page, portal.url)
    login.login_with_code(msisdn)
    expect(page.locator("#balance")).to_have_text("1\u00a0234,56\u00a0₽")
    before = login.tab_token()
    page.locator("#logout").click()
    expect(page.locator("#login-notice")).to_contain_text("Вы вышли")
    expect(page.locator("#login-forms")).to_be_visible()
    assert login.tab_token() not in (None, before)  # a fresh Reflex state for whoever logs in next
    assert "1 234,56" not in page.content() and "Секретова" not in page.content()
    page.go_back()  # the browser's history brings nothing back either
    expect(page).to_have_url(re.compile(r"/login"))
    assert "Секретова" not in page.content()


def test_a_logout_link_on_another_site_does_not_log_out(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=3_000)
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    evil = desktop_context.new_page()
    evil.set_content(f'<a id="trap" href="{portal.url}/api/v1/session/logout">Выиграй приз</a>')
    evil.locator("#trap").click()
    evil.wait_for_load_state()
    assert [c for c in desktop_context.cookies() if c["name"] == "mts_session"]
    page.goto(portal.url + "/")
    expect(page.locator("#balance")).to_have_text("30,00\u00a0₽")


def test_idle_logout_with_the_test_clock(portal, desktop_context):
    msisdn = portal.line("smart")
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    portal.move_clock(minutes=21)
    # the open page notices by itself (its live watcher re-checks the session on the server)
    expect(page.locator("#login-notice")).to_contain_text("20 минут бездействия", timeout=20_000)
    page.goto(portal.url + "/")
    expect(page).to_have_url(re.compile(r"/login"))
