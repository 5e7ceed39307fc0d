"""Cabinet part 2 journeys: services, internet, roaming, bonus, detail and its exports,
notifications, sending an SMS, support."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from mts_portal.core.money import format_rub
from tests.e2e.pages.login import LoginPage

pytestmark = pytest.mark.e2e


def login(portal, context, msisdn):
    page = context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    return page


def test_services_connect_with_cost_and_cancel_a_subscription(portal, any_context):
    msisdn = portal.line("minimum", balance_kopecks=50_000)
    page = login(portal, any_context, msisdn)
    page.goto(portal.url + "/services")
    page.locator("#connect-goodok").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("Спишется сейчас")
    page.locator("#confirm-ok").click()
    expect(page.locator("#connected-services")).to_contain_text("GOOD'OK")
    after_goodok = portal.summary(msisdn)["balance_kopecks"]
    assert after_goodok < 50_000 and "goodok" in portal.summary(msisdn)["options"]
    page.locator("#connect-content_horoscope").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#product-content_horoscope")).to_contain_text("Подключено")
    expect(page.locator("#no-subscriptions")).to_have_count(0)
    assert portal.summary(msisdn)["balance_kopecks"] == after_goodok - 1_000
    page.locator("#disconnect-content_horoscope").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#no-subscriptions")).to_be_visible()
    assert "content_horoscope" not in portal.summary(msisdn)["options"]


def test_voluntary_block(portal, desktop_context):
    msisdn = portal.line("smart")
    page = login(portal, desktop_context, msisdn)
    page.goto(portal.url + "/services")
    page.locator("#block-number").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#unblock-number")).to_be_visible()
    assert portal.summary(msisdn)["status"] == "blocked"
    page.locator("#unblock-number").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#block-number")).to_be_visible()
    assert portal.summary(msisdn)["status"] == "active"


def test_buy_a_data_package(portal, phone_context):
    msisdn = portal.line("smart", balance_kopecks=100_000)
    before = portal.summary(msisdn)["balance_kopecks"]
    page = login(portal, phone_context, msisdn)
    page.goto(portal.url + "/internet")
    expect(page.locator("#data-buckets .bucket")).to_have_count(1)
    page.locator("#buy-turbo_2gb").click()
    page.locator("#confirm-ok").dblclick()  # a double click buys once
    expect(page.locator("#data-buckets .bucket")).to_have_count(2)
    assert portal.summary(msisdn)["balance_kopecks"] == before - 9_500


def test_roaming_toggle_changes_the_next_charge(portal, desktop_context):
    msisdn = portal.line("smart", balance_kopecks=50_000)
    page = login(portal, desktop_context, msisdn)
    page.goto(portal.url + "/roaming")
    now = portal.now().isoformat()
    call = {"msisdn": msisdn, "kind": "voice", "direction": "out", "peer": "79031112233", "started_at": now,
            "duration_s": 60, "zone": "russia"}
    [r] = portal.events([{**call, "event_id": f"r1-{msisdn}"}])
    assert r["charged_kopecks"] == 500
    page.locator("#toggle-vezde_kak_doma").click()
    expect(page.locator("#roaming-vezde_kak_doma")).to_contain_text("Подключено")
    [r] = portal.events([{**call, "event_id": f"r2-{msisdn}"}])
    assert r["charged_kopecks"] == 0 and r["drawn"][0]["amount"] == 1


def test_bonus_exchange(portal, desktop_context):
    msisdn = portal.line("tarifische", balance_kopecks=1_500_000)
    portal.move_clock(minutes=5)  # the line exists before its usage
    now = portal.now()
    portal.events([{"event_id": f"b-{msisdn}-{i}", "msisdn": msisdn, "kind": "voice", "direction": "out",
                    "peer": "79031112233", "started_at": (now - timedelta(minutes=i)).isoformat(),
                    "duration_s": 600, "zone": "TR"} for i in range(3)])  # 3 × 490 ₽ -> 294 points
    page = login(portal, desktop_context, msisdn)
    page.goto(portal.url + "/bonus")
    points = portal.summary(msisdn)["bonus_points"]
    expect(page.locator("#bonus-balance")).to_have_text(str(points))
    expect(page.locator("#exchange-nol_bez_granits")).to_be_disabled()
    page.locator("#exchange-internet_1gb").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#bonus-balance")).to_have_text(str(points - 150))
    expect(page.locator("#bonus-history .bonus-row").first).to_contain_text("−150".replace("−", "-"))
    assert any(b["product_code"] == "internet_1gb" for b in portal.summary(msisdn)["buckets"])


def _usage(portal, msisdn):
    portal.move_clock(hours=4)  # the line exists before its usage (40 calls, 5 minutes apart)
    now = portal.now()
    events = [{"event_id": f"d-{msisdn}-{i}", "msisdn": msisdn, "kind": "voice", "direction": "out",
               "peer": "79031112233", "started_at": (now - timedelta(minutes=5 * i)).isoformat(),
               "duration_s": 61 + i, "zone": "home"} for i in range(40)]
    events += [{"event_id": f"d-{msisdn}-sms", "msisdn": msisdn, "kind": "sms", "direction": "out",
                "peer": "79031112233", "started_at": now.isoformat(), "zone": "US"}]
    portal.events(events)
    return len(events)


def test_detail_paging_explain_and_exports(portal, desktop_context, tmp_path):
    msisdn = portal.line("minimum", balance_kopecks=500_000)
    n = _usage(portal, msisdn)
    page = login(portal, desktop_context, msisdn)
    page.goto(portal.url + "/detail")
    expect(page.locator("#detail-total-count")).to_contain_text(f"{n} ")
    total = sum(r["charged_kopecks"] for r in portal.api.get(
        f"/api/v1/lines/{msisdn}/records?page_size=500").json()["records"])
    expect(page.locator("#detail-total-charged")).to_have_text(format_rub(total))
    expect(page.locator(".record")).to_have_count(30)
    page.locator("#detail-more").click()
    expect(page.locator(".record")).to_have_count(n)
    first = page.locator(".record").first
    first.get_by_text("Почему столько?").click()
    expect(first.locator(".explain")).to_contain_text("SMS за границей: 19 ₽")
    page.get_by_role("radio", name="SMS").click()
    expect(page.locator(".record")).to_have_count(1)
    page.get_by_role("radio", name="Все").click()
    expect(page.locator(".record")).to_have_count(30)

    with page.expect_download() as dl:
        page.locator("#export-csv").click()
    rows = list(csv.reader(io.StringIO(open(dl.value.path(), encoding="utf-8-sig").read()), delimiter=";"))
    body = rows[2:-1]
    assert len(body) == n
    charged = sum(int("".join(ch for ch in r[7] if ch.isdigit())) for r in body)
    assert charged == total
    assert rows[-1][0] == "Итого" and rows[-1][1] == str(n)

    with page.expect_download() as dl:
        page.locator("#export-pdf").click()
    text = "".join(p.extract_text() for p in PdfReader(dl.value.path()).pages)
    assert "Детализация" in text and "Звонок" in text and "+7 903 111-22-33" in text

    with page.expect_download() as dl:
        page.locator("#export-html").click()
    assert open(dl.value.path(), encoding="utf-8").read().count("<tr>") == n + 1
    expect(page.locator(".report")).to_have_count(3)  # kept 3 days, listed


def test_detail_ordered_to_email(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=100_000)
    _usage(portal, msisdn)
    page = login(portal, desktop_context, msisdn)
    page.goto(portal.url + "/detail")
    page.locator("#detail-email").fill("anna.petrova@example.com")
    page.locator("#detail-send-email").click()
    expect(page.get_by_text("Детализация отправлена на anna.petrova@example.com")).to_be_visible()
    mailbox = desktop_context.new_page()
    mailbox.goto(portal.url + "/mailbox?a=anna.petrova@example.com")
    expect(mailbox.locator(".mail")).to_have_count(1)
    expect(mailbox.locator(".mail")).to_contain_text("Детализация")
    with mailbox.expect_download() as dl:
        mailbox.locator(".mail-attachment").click()
    assert PdfReader(dl.value.path()).pages


def test_notifications_centre(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=6_000)
    now = portal.now().isoformat()
    portal.events([{"event_id": f"n-{msisdn}", "msisdn": msisdn, "kind": "voice", "direction": "out",
                    "peer": "79031112233", "started_at": now, "duration_s": 60, "zone": "home"}])  # -> 57,50 ₽
    portal.events([{"event_id": f"n2-{msisdn}", "msisdn": msisdn, "kind": "voice", "direction": "out",
                    "peer": "79031112233", "started_at": now, "duration_s": 240, "zone": "home"}])  # -> 47,50 ₽
    page = login(portal, desktop_context, msisdn)
    page.goto(portal.url + "/notifications")
    expect(page.locator(".notification.unread").first).to_be_visible()
    expect(page.locator("#notifications")).to_contain_text("На счёте осталось 47,50")
    page.locator("#read-all").click()
    expect(page.locator(".notification.unread")).to_have_count(0)


def test_send_an_sms(portal, phone_context):
    sender = portal.line("minimum", balance_kopecks=1_000)
    receiver = portal.line("smart")
    page = login(portal, phone_context, sender)
    page.goto(portal.url + "/sms")
    page.locator("#sms-to").fill(receiver)
    page.locator("#sms-text").fill("Ж" * 71)
    expect(page.locator("#sms-counter")).to_contain_text("71 / 70")
    page.locator("#sms-send").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#sms-error")).to_contain_text("70")
    page.locator("#sms-text").fill("Привет, это тест!")
    page.locator("#sms-send").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#sms-result")).to_contain_text("2,00")
    assert portal.summary(sender)["balance_kopecks"] == 800
    inbox = phone_context.new_page()
    inbox.goto(f"{portal.url}/phone?n={receiver}")
    expect(inbox.locator("#phone-inbox .sms-text").first).to_have_text("Привет, это тест!")


def test_support_faq_chat_callback_and_shops(portal, desktop_context):
    msisdn = portal.line("smart")
    page = login(portal, desktop_context, msisdn)
    page.goto(portal.url + "/support")
    page.locator("#faq-search").fill("роуминг")
    expect(page.locator(".faq-item").first).to_contain_text("роуминге")
    page.locator("#chat-input").fill("Как пополнить счёт картой?")
    page.locator("#chat-send").click()
    expect(page.locator(".chat-bot").last).to_contain_text("Пополнить")
    page.locator("#chat-input").fill("соедините с оператором")
    page.locator("#chat-send").click()
    expect(page.locator("#callback-form")).to_be_visible()
    page.locator("#callback-phone").fill(msisdn)
    page.locator("#callback-topic").fill("Не работает интернет")
    page.locator("#callback-send").click()
    expect(page.locator(".chat-bot").last).to_contain_text("перезвонит")
    page.locator("#shop-city").click()
    page.get_by_role("option", name="Казань").click()
    expect(page.locator(".shop")).to_have_count(1)
    expect(page.locator("#shops")).to_contain_text("Баумана")
