"""Several numbers in one account: add by code, switch from the header, device lost."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mts_portal.core.auth import format_msisdn
from mts_portal.core.money import format_rub
from tests.e2e.pages.login import LoginPage

pytestmark = pytest.mark.e2e


def read_code(page, msisdn: str) -> str:
    """The demo phone (/phone) in a second tab shows the other number's inbox."""
    inbox = page.context.new_page()
    base = "/".join(page.url.split("/")[:3])
    inbox.goto(f"{base}/phone?n={msisdn}")
    text = inbox.locator("#phone-inbox .sms-text").first
    expect(text).to_contain_text("Код для добавления номера")
    code = re.search(r"\b(\d{6})\b", text.inner_text()).group(1)
    inbox.close()
    return code


def test_add_a_second_number_and_switch_to_it(portal, any_context):
    first = portal.line("smart", balance_kopecks=111_100, holder="Мария Иванова")
    second = portal.line("minimum", balance_kopecks=22_200, holder="Пётр Иванов")
    page = any_context.new_page()
    LoginPage(page, portal.url).login_with_code(first)
    page.goto(portal.url + "/numbers")
    expect(page.locator(f"#number-{first}")).to_be_visible()
    page.locator("#add-msisdn").fill(format_msisdn(second))
    page.locator("#add-send-code").click()
    expect(page.locator("#add-code")).to_be_visible()
    page.locator("#add-code").fill("000000" if read_code(page, second) != "000000" else "111111")
    page.locator("#add-confirm").click()
    expect(page.locator("#add-error")).to_contain_text("Неверный")
    page.locator("#add-code").fill(read_code(page, second))
    page.locator("#add-confirm").click()
    expect(page.locator(f"#number-{second}")).to_be_visible()
    # one click in the header switches; every page then shows the selected number only
    page.goto(portal.url + "/")
    expect(page.locator("#balance")).to_have_text(format_rub(portal.summary(first)["balance_kopecks"]))
    page.locator("#line-switcher").click()
    page.locator(f"#line-{second}").click()
    expect(page.locator("#balance")).to_have_text(format_rub(22_200))
    expect(page.locator("#tariff-name")).to_have_text("Минимум")


def test_device_lost_and_unblock_from_another_number(portal, desktop_context):
    main = portal.line("smart", balance_kopecks=50_000)
    account = portal.summary(main)
    kid = portal.line("minimum", balance_kopecks=10_000)
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(main)
    page.goto(portal.url + "/numbers")
    page.locator("#add-msisdn").fill(kid)
    page.locator("#add-send-code").click()
    page.locator("#add-code").fill(read_code(page, kid))
    page.locator("#add-confirm").click()
    expect(page.locator(f"#number-{kid}")).to_be_visible()
    page.locator(f"#lost-{kid}").click()
    page.locator("#confirm-ok").click()
    expect(page.locator(f"#number-{kid}")).to_contain_text("аппарат утрачен")
    assert portal.summary(kid)["status"] == "lost"
    result = portal.events([{"event_id": f"lost-{kid}", "msisdn": kid, "kind": "sms", "direction": "out",
                             "peer": "79030000000", "started_at": portal.now().isoformat(), "zone": "home"}])
    assert result[0]["status"] == "blocked"
    page.locator(f"#unblock-{kid}").click()
    expect(page.locator(f"#number-{kid}")).to_contain_text("Активен")
    assert portal.summary(kid)["status"] == "active" and account["msisdn"] == main
