"""Several numbers in one account: add by code, switch from the header, device lost."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mts_portal.core.auth import format_msisdn
from mts_portal.core.money import format_rub
from tests.e2e.pages.cabinet import CabinetPage
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
    CabinetPage(page, portal.url).switch_line(second)
    expect(page.locator("#balance")).to_have_text(format_rub(22_200))
    expect(page.locator("#tariff-name")).to_have_text("Минимум")


def account_of(portal, msisdn: str) -> int:
    import sqlite3

    with sqlite3.connect(f"file:{portal.db_path}?mode=ro", uri=True) as db:
        return db.execute("SELECT account_id FROM lines WHERE msisdn = ?", (msisdn,)).fetchone()[0]


def test_device_lost_and_unblock_from_another_number(portal, desktop_context):
    main = portal.line("smart", balance_kopecks=50_000)
    kid = portal.line("minimum", balance_kopecks=10_000, account_id=account_of(portal, main))
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(main)
    page.goto(portal.url + "/numbers")
    expect(page.locator(f"#number-{kid}")).to_be_visible()  # a number of the same contract
    page.locator(f"#lost-{kid}").click()
    page.locator("#confirm-ok").click()
    expect(page.locator(f"#number-{kid}")).to_contain_text("аппарат утрачен")
    assert portal.summary(kid)["status"] == "lost"
    result = portal.events([{"event_id": f"lost-{kid}", "msisdn": kid, "kind": "sms", "direction": "out",
                             "peer": "79030000000", "started_at": portal.now().isoformat(), "zone": "home"}])
    assert result[0]["status"] == "blocked"
    page.locator(f"#unblock-{kid}").click()
    expect(page.locator(f"#number-{kid}")).to_contain_text("Активен")
    assert portal.summary(kid)["status"] == "active"


def test_a_lost_number_cannot_be_added_to_another_account(portal, desktop_context):
    """Whoever holds the lost phone cannot attach it to his own account: no code reaches the phone."""
    owner = portal.line("smart", balance_kopecks=50_000)
    lost = portal.line("minimum", balance_kopecks=10_000, account_id=account_of(portal, owner))
    thief = portal.line("minimum", balance_kopecks=10_000, holder="Вор")
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(owner)
    page.goto(portal.url + "/numbers")
    page.locator(f"#lost-{lost}").click()
    page.locator("#confirm-ok").click()
    expect(page.locator(f"#number-{lost}")).to_contain_text("аппарат утрачен")
    page.locator("#logout").click()
    expect(page.locator("#login-notice")).to_be_visible()
    LoginPage(page, portal.url).login_with_code(thief)
    page.goto(portal.url + "/numbers")
    page.locator("#add-msisdn").fill(lost)
    page.locator("#add-send-code").click()
    expect(page.locator("#add-code")).to_be_visible()  # the usual answer ...
    import sqlite3

    with sqlite3.connect(f"file:{portal.db_path}?mode=ro", uri=True) as db:
        texts = [t for (t,) in db.execute("SELECT text FROM sms_messages WHERE to_msisdn = ?", (lost,))]
    assert not [t for t in texts if "Код для добавления" in t], texts
    page.locator("#add-code").fill("123456")
    page.locator("#add-confirm").click()
    expect(page.locator("#add-error")).to_contain_text("Неверный")  # ... and the answer of a wrong code
    expect(page.locator(f"#number-{lost}")).to_have_count(0)
