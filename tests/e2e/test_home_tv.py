"""«Интернет и ТВ» journeys (issue 17) at both sizes: a contract login by code, a card payment, a channel
package connected with its cost first and its fee in the history; a connection request and a problem
report whose statuses come by SMS to the demo phone; a mobile subscriber who links a contract and
switches to it in the header."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mts_portal.core.money import format_rub
from tests.e2e.pages.console import ConsolePage
from tests.e2e.pages.home_tv import HomeLogin, HomeTvPage, inbox_code
from tests.e2e.pages.login import LoginPage
from tests.e2e.server import OPERATOR_TOKEN

pytestmark = pytest.mark.e2e  # without it `-m e2e` (scripts/test.sh) never ran these journeys

_n = [0]


def contract(portal, *, tariff="home_300_tv", opening=200_000, link_msisdn=None) -> tuple[str, str]:
    _n[0] += 1
    contact = f"7926{portal.new_msisdn()[-7:]}"
    body = {"holder_name": "Ирина Домашняя", "address": "Москва, ул. Тверская, д. 7, кв. 12",
            "contact_msisdn": contact, "tariff": tariff, "opening_kopecks": opening}
    if link_msisdn:
        body["link_msisdn"] = link_msisdn
    r = portal.api.post("/api/v1/home-accounts", json=body)
    assert r.status_code == 201, r.text
    return r.json()["contract"], contact


def shot(page, name: str) -> None:
    from pathlib import Path

    page.evaluate("window.scrollTo(0, 0)")  # the sticky header at the top of a full-page picture
    page.wait_for_timeout(300)
    width = page.viewport_size["width"]
    out = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    page.screenshot(path=str(out / f"{name}-{'phone' if width < 800 else 'desktop'}.png"), full_page=True)


def test_contract_login_pay_and_connect_a_package(portal, any_context):
    number, contact = contract(portal)
    page = any_context.new_page()
    HomeLogin(page, portal.url).login_with_code(number, contact)
    expect(page.locator("#home-contract")).to_contain_text(number[:4])
    # a contract login has no line: the navigation offers the home section only, and "/" leads back to it
    expect(page.locator("#nav-money")).to_have_count(0)
    expect(page.locator("#tab-money")).to_have_count(0)
    page.goto(portal.url + "/")
    page.wait_for_url(re.compile(r"/internet-tv"), timeout=15_000)
    expect(page.locator("#home-balance")).to_contain_text("₽", timeout=15_000)
    before = portal.api.get(f"/api/v1/home-accounts/{number}").json()["balance_kopecks"]
    home = HomeTvPage(page, portal.url)
    home.pay("abc")
    expect(page.locator("#home-pay-error")).to_be_visible()
    home.pay("300")
    expect(page.locator("#home-message")).to_contain_text("300")
    expect(page.locator("#home-balance")).to_have_text(format_rub(before + 30_000))
    quote = home.connect("tv_kino")
    after = portal.api.get(f"/api/v1/home-accounts/{number}").json()
    assert "tv_kino" in after["connected"]
    fee = before + 30_000 - after["balance_kopecks"]
    assert fee > 0 and format_rub(fee) in quote
    expect(page.locator("#home-history")).to_contain_text("Кино")
    expect(page.locator("#home-balance")).to_have_text(format_rub(after["balance_kopecks"]))
    width = page.evaluate("[document.documentElement.clientWidth, document.documentElement.scrollWidth]")
    assert width[1] <= width[0], f"/internet-tv is {width[1]} px wide on a {width[0]} px screen"
    shot(page, "internet-tv")
    # English: the page and its server-formatted data in the other language
    page.locator("#lang-toggle").click()
    expect(page.locator("#page-title")).to_have_text("Home internet & TV")
    expect(page.locator("#home-history")).to_contain_text("Cinema")
    expect(page.locator("body")).not_to_contain_text("undefined")
    page.locator("#lang-toggle").click()
    expect(page.locator("#page-title")).to_have_text("Домашний интернет и ТВ")


def test_connection_request_problem_report_and_statuses_by_sms(portal, any_context):
    number, contact = contract(portal)
    page = any_context.new_page()
    HomeLogin(page, portal.url).login_with_code(number, contact)
    page.locator("#home-req-send").click()
    expect(page.locator("#home-req-error")).to_be_visible()  # nothing chosen: said next to the form
    page.locator("#home-req-address").fill("Москва, Ленинский пр., д. 10")
    page.locator("#home-req-tv").click()
    page.locator("#home-req-contact").fill(contact)
    page.locator("#home-req-time").click()
    page.get_by_role("option", name="18:00–21:00").click()
    page.locator("#home-req-send").click()
    expect(page.locator("#home-message")).to_contain_text("CN-")
    page.locator("#home-problem-service").click()
    page.locator("#home-problem-svc-tv").click()
    page.locator("#home-problem-text").fill("Нет изображения на спортивных каналах")
    page.locator("#home-problem-send").click()
    expect(page.locator("#home-message")).to_contain_text("PR-")
    expect(page.locator("#home-requests .home-request")).to_have_count(2)  # the list reloads after the message
    numbers = re.findall(r"(?:CN|PR)-\d{4}-\d{6}", page.locator("#home-requests").inner_text())
    assert len(numbers) == 2
    # the control room moves one on (the demo scheduler would after 2 minutes); never back (API: 409)
    room = page.context.new_page()
    ConsolePage(room, portal.url).login_with_token(OPERATOR_TOKEN)
    room.locator(f"#console-home-{numbers[0]}").click()
    expect(room.locator(f"#console-home-{numbers[0]}")).to_contain_text("Выполнено")
    room.close()
    assert portal.api.post(f"/api/v1/home-requests/{numbers[0]}/status",
                           json={"status": "in_work"}).status_code == 409
    page.locator("#home-status-sms").click()
    expect(page.locator("#home-message")).to_contain_text("SMS")
    phone = page.context.new_page()
    phone.goto(f"{portal.url}/phone?n={contact}")
    sms = phone.locator("#phone-inbox .sms-text").first
    expect(sms).to_contain_text("Статус обращений")
    expect(sms).to_contain_text(f"{numbers[0]} — в работе")
    expect(sms).to_contain_text(numbers[1])
    shot(page, "internet-tv-requests")


def test_mobile_subscriber_links_a_contract_and_switches(portal, any_context):
    msisdn = portal.line("smart", balance_kopecks=50_000, holder="Ирина Домашняя")
    number, contact = contract(portal)
    page = any_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    page.goto(portal.url + "/internet-tv")
    expect(page.locator("#home-link")).to_be_visible()
    page.locator("#home-link-contract").fill(number)
    page.locator("#home-link-send").click()
    page.locator("#home-link-code").fill(inbox_code(page, contact, "мультиаккаунт"))
    page.locator("#home-link-confirm").click()
    expect(page.locator("#home-balance")).to_contain_text("₽", timeout=15_000)
    # the header lists both kinds: back to the line, and to the contract again
    page.goto(portal.url + "/")
    page.locator("#line-switcher").click()
    expect(page.locator(f"#line-{msisdn}")).to_be_visible()
    page.locator(f"#line-home-{number}").click()
    page.wait_for_url(re.compile(r"/internet-tv"))
    expect(page.locator("#home-contract")).to_contain_text(number[:4], timeout=15_000)  # a full page load
    # a mobile session reaches only its linked contract through the API
    other, _ = contract(portal)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    import httpx

    with httpx.Client(base_url=portal.url, cookies=cookies) as c:
        assert c.get(f"/api/v1/home-accounts/{number}").status_code == 200
        assert c.get(f"/api/v1/home-accounts/{other}").status_code == 404
