"""Every cabinet page fits a 390 px phone (nothing wider than the screen) and a desktop,
in Russian and in English."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.pages.login import LoginPage

pytestmark = pytest.mark.e2e

ROUTES = ["/", "/money", "/tariffs", "/services", "/internet", "/roaming", "/bonus", "/detail", "/notifications",
          "/family", "/sms", "/numbers", "/settings", "/support", "/services/goodok", "/services/memory",
          "/services/parental", "/internet-tv"]


def test_no_page_is_wider_than_a_phone(portal, phone_context):
    msisdn = portal.line("tarifische", balance_kopecks=100_000)
    page = phone_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    for route in ROUTES:
        page.goto(portal.url + route)
        expect(page.locator("#page-loading")).to_have_count(0)
        width = page.evaluate("[document.documentElement.clientWidth, document.documentElement.scrollWidth]")
        assert width[1] <= width[0], f"{route} is {width[1]} px wide on a {width[0]} px screen"


def test_english_switch(portal, desktop_context):
    msisdn = portal.line("smart")
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    expect(page).to_have_title("Мой МТС")
    page.locator("#lang-toggle").click()
    expect(page.locator("#nav-money")).to_have_text("Money")
    expect(page).to_have_title("My MTS")  # the browser tab's title too
    page.goto(portal.url + "/tariffs")
    expect(page.locator("#page-title")).to_have_text("Tariffs")
    expect(page).to_have_title("Tariffs — My MTS")
    page.locator("#lang-toggle").click()
    expect(page.locator("#page-title")).to_have_text("Тарифы")
    expect(page).to_have_title("Тарифы — Мой МТС")


def test_the_404_page_speaks_the_language_and_leads_home(portal, any_context):
    page = any_context.new_page()
    response = page.goto(portal.url + "/no-such-page")
    assert response.status == 404
    expect(page.locator("#not-found-title")).to_have_text("Такой страницы нет")
    expect(page).to_have_title("Страница не найдена — Мой МТС")
    expect(page.locator("#logo")).to_be_visible()
    expect(page.locator("#line-switcher")).to_have_count(0)  # nobody is logged in: the public header
    page.locator("#lang-toggle").click()
    expect(page.locator("#not-found-title")).to_have_text("There is no such page")
    expect(page).to_have_title("Page not found — My MTS")
    page.locator("#not-found-home").click()
    expect(page).to_have_url(re.compile(r"/login"))  # home, which asks to log in first
    page.locator("#lang-toggle").click()


def test_the_404_page_of_a_logged_in_subscriber_has_the_cabinet_header(portal, desktop_context):
    msisdn = portal.line("smart")
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    page.goto(portal.url + "/tarifs")
    expect(page.locator("#not-found-title")).to_have_text("Такой страницы нет")
    expect(page.locator("#line-switcher")).to_be_visible()
    expect(page.locator("#logout")).to_be_visible()
    page.locator("#not-found-home").click()
    expect(page.locator("#balance")).to_contain_text("₽")


def test_toasts_do_not_cover_the_header(portal, any_context):
    msisdn = portal.line("smart")
    page = any_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    page.goto(portal.url + "/settings")
    page.locator("#sms-notify-switch").click()
    toast = page.locator("[data-sonner-toast]").first
    expect(toast).to_contain_text("Сохранено")
    header = page.locator("#logout").bounding_box()
    box = None
    for _ in range(20):  # the toast slides in from above: measure where it comes to rest
        page.wait_for_timeout(100)
        box, last = toast.bounding_box(), box
        if last is not None and abs(box["y"] - last["y"]) < 0.5:
            break
    assert box["y"] >= header["y"] + header["height"], (box, header)
    assert box["y"] >= 64, box  # below the 64 px sticky header


def test_the_demo_phone_has_the_language_switch_and_a_way_back(portal, phone_context):
    page = phone_context.new_page()
    page.goto(portal.url + "/phone")
    expect(page.locator("#phone-panel")).to_contain_text("Телефон (демо)")
    expect(page).to_have_title("Телефон (демо)")
    page.locator("#lang-toggle").click()
    expect(page.locator("#phone-panel")).to_contain_text("Phone (demo)")
    expect(page).to_have_title("Phone (demo)")
    page.locator("#phone-back").click()
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator("#login-title")).to_have_text("Log in to your account")
    page.locator("#lang-toggle").click()
    expect(page.locator("#login-title")).to_have_text("Вход в личный кабинет")
