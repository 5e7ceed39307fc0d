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
    # "aborted" (net::ERR_ABORTED), as if the attacker stopped the navigation himself: the page stays on
    # /login. The default "failed" would put Chromium's network-error page in the tab, and Chromium
    # reloads such a page by itself (after ~1 s, ~5 s, ...): a reload after the unroute below spends
    # the ticket in a race with the goto, whose navigation cancels it before its cookie is stored —
    # the goto then finds the ticket used («Ссылка для входа устарела»), which made this test flaky.
    page.route("**/api/v1/session/establish*",
               lambda route: (tickets.append(route.request.url), route.abort("aborted")))
    login = LoginPage(page, portal.url).open()
    login.request_code(msisdn)
    login.enter_code(login.code_from_phone_panel())
    for _ in range(100):
        if tickets:
            break
        page.wait_for_timeout(100)
    assert tickets, "the login page never went to /establish"
    expect(page).to_have_url(re.compile(r"/login"))  # no error page that could reload the ticket URL
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


def test_letters_in_the_code_field_do_not_cost_an_attempt(portal, phone_context):
    msisdn = portal.line("smart")
    page = phone_context.new_page()
    login = LoginPage(page, portal.url).open()
    login.request_code(msisdn)
    right = login.code_from_phone_panel()
    for typed in ("12ab56", "abcdef", "123"):
        login.enter_code(typed)
        expect(page.locator("#login-error")).to_contain_text("6 цифр")
        expect(page.locator("#login-error")).to_contain_text("не засчитана")
    login.enter_code("000000" if right != "000000" else "111111")
    expect(page.locator("#login-error")).to_contain_text("Осталось попыток: 2")  # the letters cost nothing
    login.enter_code(right)
    page.wait_for_url(portal.url + "/")
    expect(page.locator("#balance")).to_contain_text("₽")


def test_send_the_code_again_after_the_countdown(portal, desktop_context):
    """A double click on «Получить код» sends one SMS; «Отправить код ещё раз» shows its countdown (on
    the portal's clock, the one the hourly limit counts with) and sends a new code that voids the old."""
    msisdn = portal.line("smart")
    page = desktop_context.new_page()
    login = LoginPage(page, portal.url).open()
    page.locator("#login-phone").fill(msisdn)
    page.locator("#get-code").dblclick()
    expect(page.locator("#login-code")).to_be_visible()
    first = login.code_from_phone_panel()
    expect(page.locator("#resend-wait")).to_contain_text(re.compile(r"можно через (1:00|0:[0-5]\d)"))
    expect(page.locator("#resend-code")).to_have_count(0)
    page.wait_for_timeout(1500)
    assert login_codes_sent(portal, msisdn) == 1  # the double click's second submit sent nothing
    portal.move_clock(seconds=61)
    expect(page.locator("#resend-code")).to_be_visible(timeout=10_000)
    page.locator("#resend-code").click()
    expect(page.locator("#login-notice")).to_contain_text("Новый код отправлен")
    second = login.code_from_phone_panel(previous=first)
    assert login_codes_sent(portal, msisdn) == 2
    expect(page.locator("#resend-wait")).to_be_visible()
    login.enter_code(first)  # the newer code voided the older one
    expect(page.locator("#login-error")).to_contain_text("Неверный")
    login.enter_code(second)
    page.wait_for_url(portal.url + "/")
    expect(page.locator("#balance")).to_contain_text("₽")


def login_codes_sent(portal, msisdn: str) -> int:
    import sqlite3

    with sqlite3.connect(f"file:{portal.db_path}?mode=ro", uri=True) as db:
        return db.execute("SELECT count(*) FROM sms_messages WHERE to_msisdn = ? AND text LIKE 'Код для входа%'",
                          (msisdn,)).fetchone()[0]


@pytest.mark.parametrize("how", ["nav", "goto"])
def test_idle_logout_on_a_page_other_than_home(portal, desktop_context, how):
    """Every private page watches its session: idle on Settings (reached through the side navigation,
    so the home page's watchers hand over) or on Detail (a fresh load), the tab leaves by itself."""
    msisdn = portal.line("smart")
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    if how == "nav":
        page.locator("#nav-settings").click()
        expect(page.locator("#page-title")).to_have_text("Настройки")
    else:
        page.goto(portal.url + "/detail")
        expect(page.locator("#page-title")).to_have_text("Детализация")
    page.wait_for_timeout(500)
    portal.move_clock(minutes=21)
    expect(page.locator("#login-notice")).to_contain_text("20 минут бездействия", timeout=20_000)
    expect(page).to_have_url(re.compile(r"/login"))


def test_idle_logout_with_the_test_clock(portal, desktop_context):
    msisdn = portal.line("smart")
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    portal.move_clock(minutes=21)
    # the open page notices by itself (its live watcher re-checks the session on the server)
    expect(page.locator("#login-notice")).to_contain_text("20 минут бездействия", timeout=20_000)
    page.goto(portal.url + "/")
    expect(page).to_have_url(re.compile(r"/login"))
