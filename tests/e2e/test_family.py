"""«МЫ МТС» with two browser contexts: the owner invites, the member accepts in their own
portal, the owner sets a quota, the member's traffic moves the owner's view live, the
owner removes the member. And joining by replying «Да» from the demo phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.pages.login import LoginPage

pytestmark = pytest.mark.e2e


def test_owner_and_member_in_two_browsers(portal, browser):
    owner = portal.line("my_mts", balance_kopecks=1_500_000)
    member = portal.line("smart", balance_kopecks=50_000)
    ctx_owner = browser.new_context(viewport={"width": 1440, "height": 900})
    ctx_member = browser.new_context(viewport={"width": 390, "height": 844})
    po, pm = ctx_owner.new_page(), ctx_member.new_page()
    LoginPage(po, portal.url).login_with_code(owner)
    LoginPage(pm, portal.url).login_with_code(member)

    po.goto(portal.url + "/family")
    po.locator("#invite-msisdn").fill(owner)
    po.locator("#invite-send").click()
    expect(po.locator("#invite-error")).to_contain_text("самого себя")
    po.locator("#invite-msisdn").fill("79031234567")
    po.locator("#invite-send").click()
    expect(po.locator("#invite-error")).to_contain_text("другого оператора")
    po.locator("#invite-msisdn").fill(member)
    po.locator("#invite-send").click()
    expect(po.locator(f"#member-{member}")).to_contain_text("ждём согласия")

    pm.goto(portal.url + "/family")
    pm.locator(".invitation button").first.click()  # «Принять»
    expect(pm.locator("#member-of")).to_contain_text(owner[1:4])
    expect(po.locator(f"#member-{member}")).not_to_contain_text("ждём согласия", timeout=5000)  # live

    po.locator(f"#quota-{member}").click()
    po.locator("#quota-gb").fill("1")
    po.locator("#quota-save").click()
    expect(po.locator(f"#member-{member} .share-data")).to_contain_text("1 ГБ")

    portal.events([{"event_id": f"fam-{member}-1", "msisdn": member, "kind": "data",
                    "started_at": portal.now().isoformat(), "bytes": 300 * 1024 * 1024, "zone": "home"}])
    # the owner's page moves by itself: 300 MB used of the member's 1 GB share
    expect(po.locator(f"#member-{member} .share-data .share-used")).to_contain_text("300", timeout=5000)
    expect(pm.locator(".share-data .share-used")).to_contain_text("300", timeout=5000)

    call = portal.events([{"event_id": f"fam-{member}-2", "msisdn": member, "kind": "voice", "direction": "out",
                           "peer": owner, "started_at": portal.now().isoformat(), "duration_s": 600,
                           "zone": "home"}])
    assert call[0]["charged_kopecks"] == 0 and call[0]["drawn"] == []  # calls inside the group are free

    po.locator(f"#remove-{member}").click()
    po.locator("#confirm-ok").click()
    expect(po.locator(f"#member-{member}")).to_have_count(0)
    assert portal.summary(member)["tariff"] == "minimum"
    ctx_owner.close()
    ctx_member.close()


def test_join_by_replying_yes_from_the_demo_phone(portal, desktop_context):
    owner = portal.line("my_mts", balance_kopecks=1_500_000)
    member = portal.line("minimum", balance_kopecks=10_000)
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(owner)
    page.goto(portal.url + "/family")
    page.locator("#invite-msisdn").fill(member)
    page.locator("#invite-send").click()
    phone = desktop_context.new_page()
    phone.goto(f"{portal.url}/phone?n={member}")
    expect(phone.locator("#phone-inbox .sms-text").first).to_contain_text("Ответьте «Да»")
    phone.locator("#phone-reply-text").fill("Да")
    phone.locator("#phone-reply-send").click()
    expect(phone.locator("#phone-inbox .sms-text").first).to_contain_text("вы в группе")
    expect(page.locator(f"#member-{member}")).not_to_contain_text("ждём согласия", timeout=5000)
    assert portal.summary(member)["tariff"] == "my_mts_member"
