"""Cabinet part 2 journeys: services, internet, roaming, bonus, detail and its exports,
notifications, sending an SMS, support, the demo mailbox. Double clicks act once; paid toggles
ask first; counts read as words in both languages; nothing on screen ever reads 'undefined'."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from mts_portal.core.clock import moscow_date, period_of
from mts_portal.core.money import format_rub
from mts_portal.core.reports import AMOUNT_COL, CHARGED_COL, HEADER
from mts_portal.i18n import plural
from tests.e2e.pages.cabinet import (
    BonusPage,
    CabinetPage,
    DetailPage,
    MailboxPage,
    RoamingPage,
    ServicesPage,
    SmsPage,
)
from tests.e2e.pages.login import LoginPage

pytestmark = pytest.mark.e2e

# set before any page script runs: remembers whether the page's text ever read 'undefined' (a var shown
# before its data came, e.g. "undefined записей" while the detail loads)
WATCH_UNDEFINED = """
window.__sawUndefined = '';
new MutationObserver(() => {
  const text = document.body ? document.body.innerText : '';
  const at = text.indexOf('undefined');
  if (at >= 0 && !window.__sawUndefined) window.__sawUndefined = text.slice(Math.max(0, at - 40), at + 20);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def login(portal, context, msisdn):
    context.add_init_script(WATCH_UNDEFINED)
    page = context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    return page


def never_undefined(page) -> None:
    seen = page.evaluate("window.__sawUndefined")
    assert not seen, f"'undefined' was on screen: …{seen}…"


def test_services_connect_with_cost_double_click_and_cancel_a_subscription(portal, any_context):
    msisdn = portal.line("minimum", balance_kopecks=50_000)
    page = login(portal, any_context, msisdn)
    services = ServicesPage(page, portal.url).open()
    services.connect("goodok", double_click=True)  # one connection, one answer: no «уже подключена» after it
    expect(page.locator("#connected-services")).to_contain_text("GOOD'OK")
    services.expect_one_success("GOOD'OK")
    after_goodok = portal.summary(msisdn)["balance_kopecks"]
    assert after_goodok < 50_000 and "goodok" in portal.summary(msisdn)["options"]
    services.clear_toasts()
    services.connect("content_horoscope")
    expect(page.locator("#product-content_horoscope")).to_contain_text("Подключено")
    expect(page.locator("#no-subscriptions")).to_have_count(0)
    assert portal.summary(msisdn)["balance_kopecks"] == after_goodok - 1_000
    page.locator("#disconnect-content_horoscope").click()
    services.confirm(double_click=True)
    expect(page.locator("#no-subscriptions")).to_be_visible()
    assert "content_horoscope" not in portal.summary(msisdn)["options"]
    expect(services.toasts("error")).to_have_count(0)  # no «не подключена» for the second click
    services.assert_fits()
    never_undefined(page)


def test_voluntary_block_says_what_happened(portal, desktop_context):
    msisdn = portal.line("smart")
    page = login(portal, desktop_context, msisdn)
    services = ServicesPage(page, portal.url).open()
    services.block(double_click=True)
    expect(page.locator("#unblock-number")).to_be_visible()
    expect(page.locator("#block-status")).to_contain_text("заблокирован")
    services.expect_one_success("Номер заблокирован")
    assert portal.summary(msisdn)["status"] == "blocked"
    services.clear_toasts()
    services.unblock()
    expect(page.locator("#block-number")).to_be_visible()
    expect(services.toasts("success").filter(has_text="Номер разблокирован")).to_have_count(1)
    expect(page.locator("#block-status")).to_have_count(0)
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
    never_undefined(page)


def test_roaming_toggles_ask_first_with_the_price(portal, desktop_context):
    msisdn = portal.line("smart", balance_kopecks=50_000)
    page = login(portal, desktop_context, msisdn)
    roaming = RoamingPage(page, portal.url).open()
    # «Забугорище»: the price per day in and outside the 30 popular countries, and when it is charged
    dialog = roaming.flip("zabugorishche")
    expect(dialog).to_contain_text("350,00\u00a0₽ в сутки в 30 популярных странах")
    expect(dialog).to_contain_text("490,00\u00a0₽ в сутки — в остальных")
    expect(dialog).to_contain_text("при первом исходящем звонке, SMS или интернет-сессии за границей")
    expect(page.locator("#roaming-cost")).to_contain_text("0,00\u00a0₽")
    roaming.cancel()  # cancelling changes nothing
    expect(dialog).to_be_hidden()
    expect(roaming.switch("zabugorishche")).to_have_attribute("data-state", "unchecked")
    expect(page.locator("#roaming-zabugorishche")).not_to_contain_text("Подключено")
    assert "zabugorishche" not in portal.summary(msisdn)["options"]
    dialog = roaming.flip("nol_bez_granits")
    expect(dialog).to_contain_text("60,00\u00a0₽ в сутки — только в сутки")
    expect(dialog).to_contain_text("входящем звонке за границей")
    page.keyboard.press("Escape")  # closing it any way is a cancel
    expect(dialog).to_be_hidden()
    assert "nol_bez_granits" not in portal.summary(msisdn)["options"]

    # «Везде как дома» turned on: the next call in Russia is from the bundle
    now = portal.now().isoformat()
    call = {"msisdn": msisdn, "kind": "voice", "direction": "out", "peer": "79031112233", "started_at": now,
            "duration_s": 60, "zone": "russia"}
    [r] = portal.events([{**call, "event_id": f"r1-{msisdn}"}])
    assert r["charged_kopecks"] == 500
    dialog = roaming.flip("vezde_kak_doma")
    expect(dialog).to_contain_text("Бесплатно")
    roaming.confirm(double_click=True)
    expect(page.locator("#roaming-vezde_kak_doma")).to_contain_text("Подключено")
    expect(roaming.switch("vezde_kak_doma")).to_have_attribute("data-state", "checked")
    roaming.expect_one_success("Везде как дома")
    [r] = portal.events([{**call, "event_id": f"r2-{msisdn}"}])
    assert r["charged_kopecks"] == 0 and r["drawn"][0]["amount"] == 1
    # turning it off asks too, and says what calls cost without it
    dialog = roaming.flip("vezde_kak_doma")
    expect(dialog).to_contain_text("исходящие 5,00\u00a0₽/мин")
    roaming.cancel()
    assert "vezde_kak_doma" in portal.summary(msisdn)["options"]

    roaming.to_english()
    roaming.open()
    dialog = roaming.flip("zabugorishche")
    expect(dialog).to_contain_text("350.00\u00a0₽ a day in the 30 popular countries, 490.00\u00a0₽ a day elsewhere")
    expect(dialog).to_contain_text("on the first outgoing call, SMS or data session abroad")
    roaming.cancel()
    expect(page.locator("#roaming-zabugorishche")).to_contain_text("Türkiye")  # the popular countries by name
    never_undefined(page)


def test_bonus_exchange_once_with_reasons_and_plurals(portal, desktop_context):
    msisdn = portal.line("tarifische", balance_kopecks=1_500_000)
    portal.move_clock(minutes=5)  # the line exists before its usage
    now = portal.now()
    portal.events([{"event_id": f"b-{msisdn}-{i}", "msisdn": msisdn, "kind": "voice", "direction": "out",
                    "peer": "79031112233", "started_at": (now - timedelta(minutes=i)).isoformat(),
                    "duration_s": 600, "zone": "TR"} for i in range(3)])  # 3 × 490 ₽ -> 294 points
    page = login(portal, desktop_context, msisdn)
    bonus = BonusPage(page, portal.url).open()
    points = portal.summary(msisdn)["bonus_points"]
    expect(page.locator("#bonus-balance")).to_have_text(str(points))
    expect(page.locator("#bonus-word")).to_have_text(plural(points, "балл", "балла", "баллов"))
    # the exchange it cannot afford says why: how many points are missing
    expect(page.locator("#exchange-nol_bez_granits")).to_be_disabled()
    missing = 950 - points
    expect(page.locator("#missing-nol_bez_granits")).to_have_text(
        f"Нужно ещё {missing}\u00a0{plural(missing, 'балл', 'балла', 'баллов')}")
    expect(page.locator("#offer-internet_1gb .offer-points")).to_have_text("150\u00a0баллов")
    bonus.exchange("internet_1gb", double_click=True)  # one exchange, no «Недостаточно баллов» after it
    expect(page.locator("#bonus-balance")).to_have_text(str(points - 150))
    bonus.expect_one_success("Баллы обменяны")
    assert portal.summary(msisdn)["bonus_points"] == points - 150
    expect(page.locator("#bonus-history .bonus-row").first).to_contain_text("\u2212150")  # a minus, like money
    expect(page.locator("#bonus-history .bonus-row").first).not_to_contain_text("-150")
    assert sum(b["product_code"] == "internet_1gb" for b in portal.summary(msisdn)["buckets"]) == 1

    bonus.to_english()
    bonus.open()
    left = points - 150
    expect(page.locator("#bonus-word")).to_have_text("point" if left == 1 else "points")
    expect(page.locator("#missing-nol_bez_granits")).to_have_text(f"You need {950 - left}\u00a0points more")
    expect(page.locator("#offer-internet_1gb .offer-points")).to_have_text("150\u00a0points")
    never_undefined(page)


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


def _period_name(portal, msisdn: str, fmt: str) -> str:
    """The export's file name: the Moscow dates of the period's first and last days."""
    p = period_of(portal.now())
    first, last = moscow_date(p.start), moscow_date(p.end - timedelta(seconds=1))
    return f"detail_{msisdn}_{first:%Y%m%d}-{last:%Y%m%d}.{fmt}"


def test_detail_paging_explain_plurals_and_exports(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=500_000)
    n = _usage(portal, msisdn)  # 41 records
    page = login(portal, desktop_context, msisdn)
    detail = DetailPage(page, portal.url).open()
    expect(detail.total_count()).to_have_text("41\u00a0запись")
    minutes = sum(2 for _ in range(40))  # 61–100 s: two started minutes each
    expect(page.locator("#detail-total-minutes")).to_have_text(f"{minutes}\u00a0мин")
    expect(page.locator("#detail-total-sms")).to_have_text("1\u00a0SMS")
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
    expect(detail.total_count()).to_have_text("1\u00a0запись")
    page.get_by_role("radio", name="Все").click()
    expect(page.locator(".record")).to_have_count(30)

    # CSV: header names intact, the totals row under the header's columns; named by the period's Moscow dates
    reports_before = detail.reports().count()
    download = detail.export("csv", double_click=True)
    assert download.suggested_filename == _period_name(portal, msisdn, "csv")
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8-sig").read()), delimiter=";"))
    assert rows[1] == HEADER["ru"]
    body, totals = rows[2:-1], rows[-1]
    assert len(body) == n
    charged = sum(int("".join(ch for ch in r[7] if ch.isdigit())) for r in body)
    assert charged == total
    assert len(totals) == len(rows[1]) and totals[0] == "Итого" and totals[1] == "41\u00a0запись"
    assert totals[CHARGED_COL] == format_rub(total) and totals[AMOUNT_COL].startswith(f"{minutes}\u00a0мин")
    expect(detail.reports()).to_have_count(reports_before + 1)  # the double click made one report

    # PDF: every header word whole (no «Направлен|ие»), the records' text
    download = detail.export("pdf")
    assert download.suggested_filename == _period_name(portal, msisdn, "pdf")
    reader = PdfReader(download.path())
    text = "".join(p.extract_text() for p in reader.pages)
    assert "Детализация" in text and "Звонок" in text and "+7 903 111-22-33" in text
    words = set(reader.pages[0].extract_text().split())
    for header in HEADER["ru"]:
        for word in header.replace("/", "/ ").split():
            assert word in words, word

    download = detail.export("html")
    html = open(download.path(), encoding="utf-8").read()
    assert html.count("<tr>") == n + 1 and html.count("<tr class='total'>") == 1
    expect(detail.reports()).to_have_count(reports_before + 3)  # kept 3 days, listed
    # a listed report downloads under the same name
    with page.expect_download() as dl:
        detail.reports().first.locator("[id^='report-']").click()
    assert dl.value.suggested_filename == _period_name(portal, msisdn, "html")

    detail.to_english()
    detail.open()
    expect(detail.total_count()).to_have_text("41\u00a0records")
    expect(page.locator("#detail-total-minutes")).to_have_text(f"{minutes}\u00a0min")
    page.get_by_role("radio", name="SMS").click()
    expect(detail.total_count()).to_have_text("1\u00a0record")
    never_undefined(page)


def test_detail_ordered_to_a_long_email_once_on_the_phone(portal, phone_context):
    msisdn = portal.line("minimum", balance_kopecks=100_000)
    _usage(portal, msisdn)
    page = login(portal, phone_context, msisdn)
    detail = DetailPage(page, portal.url).open()
    email = "anna.maria.petrova.ivanova.sidorova." * 4 + "x@example-very-long-domain-name-for-testing.com"
    detail.order_by_email(email, double_click=True)  # one report, one e-mail
    expect(detail.reports()).to_have_count(1)
    expect(detail.reports().first).to_contain_text(email)
    detail.expect_one_success("Детализация отправлена на")
    detail.assert_fits()  # the long address wraps: nothing is wider than the phone
    page.locator(".report").first.scroll_into_view_if_needed()
    detail.assert_fits()
    page.wait_for_timeout(500)
    expect(detail.reports()).to_have_count(1)

    mailbox = MailboxPage(phone_context.new_page(), portal.url).open(email)
    expect(mailbox.mails()).to_have_count(1)
    expect(mailbox.mails()).to_contain_text("Детализация")
    assert mailbox.page.evaluate("document.documentElement.scrollWidth") <= 390
    with mailbox.page.expect_download() as dl:
        mailbox.page.locator(".mail-attachment").click()
    assert PdfReader(dl.value.path()).pages
    assert dl.value.suggested_filename == _period_name(portal, msisdn, "pdf")  # the attachment is named alike
    # the mailbox has the language switch and a way back to the cabinet
    expect(mailbox.page.locator("#mail-back")).to_have_attribute("href", "/")
    mailbox.page.locator("#lang-toggle").click()
    expect(mailbox.page.get_by_text("Mailbox (demo)")).to_be_visible()
    expect(mailbox.page.locator("#mail-show")).to_have_text("Show mail")
    never_undefined(page)


def test_notifications_centre(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=6_000)
    now = portal.now().isoformat()
    portal.events([{"event_id": f"n-{msisdn}", "msisdn": msisdn, "kind": "voice", "direction": "out",
                    "peer": "79031112233", "started_at": now, "duration_s": 60, "zone": "home"}])  # -> 57,50 ₽
    portal.events([{"event_id": f"n2-{msisdn}", "msisdn": msisdn, "kind": "voice", "direction": "out",
                    "peer": "79031112233", "started_at": now, "duration_s": 240, "zone": "home"}])  # -> 47,50 ₽
    page = login(portal, desktop_context, msisdn)
    notes = CabinetPage(page, portal.url)
    page.goto(portal.url + "/notifications")
    expect(page.locator(".notification.unread").first).to_be_visible()
    expect(page.locator("#notifications")).to_contain_text("На счёте осталось 47,50")
    page.locator("#read-all").click()
    expect(page.locator(".notification.unread")).to_have_count(0)
    expect(notes.toasts("success").filter(has_text="Все уведомления отмечены прочитанными")).to_have_count(1)
    expect(page.locator("#read-all")).to_be_disabled()
    never_undefined(page)


def test_send_an_sms_with_the_length_shown_and_once(portal, phone_context):
    sender = portal.line("minimum", balance_kopecks=1_000)
    receiver = portal.line("smart")
    page = login(portal, phone_context, sender)
    sms = SmsPage(page, portal.url).open()
    expect(page.locator("#sms-length-note")).to_contain_text("до 70 символов")
    # the field stops at one SMS: 70 with Cyrillic, and says so
    sms.write(receiver, "Ж" * 70)
    expect(page.locator("#sms-counter")).to_contain_text("70 / 70")
    expect(page.locator("#sms-length-note")).to_have_text("Это максимум для одного SMS.")
    page.locator("#sms-text").press("End")
    page.keyboard.type("ЖЖ")
    expect(page.locator("#sms-text")).to_have_value("Ж" * 70)
    # a text that reaches the limit says so (a paste the field cut at its limit is never silent)
    page.locator("#sms-text").fill("Ж" * 69 + "ЖЖЖЖ")
    expect(page.locator("#sms-text")).to_have_value("Ж" * 70)
    expect(page.locator("#sms-length-note")).to_have_text("Это максимум для одного SMS.")
    # a long Latin text (up to 160) that gets a Cyrillic letter is not cut: it is shown as too long
    page.locator("#sms-text").fill("")
    expect(page.locator("#sms-counter")).to_contain_text("0 / 160")
    page.locator("#sms-text").fill("a" * 100)
    expect(page.locator("#sms-counter")).to_contain_text("100 / 160")
    page.locator("#sms-text").press("End")
    page.keyboard.type("Ж")
    expect(page.locator("#sms-text")).to_have_value("a" * 100 + "Ж")
    expect(page.locator("#sms-counter")).to_contain_text("101 / 70")
    expect(page.locator("#sms-length-note")).to_contain_text("длиннее одного SMS на 31 символ")
    expect(page.locator("#sms-send")).to_be_disabled()

    page.locator("#sms-text").fill("Привет, это тест!")
    expect(page.locator("#sms-send")).to_be_enabled()
    sms.send(double_click=True)  # sent once; the second click does not answer «Введите текст сообщения»
    expect(page.locator("#sms-result")).to_contain_text("2,00")
    page.wait_for_timeout(1200)
    expect(page.locator("#sms-error")).to_have_count(0)
    assert portal.summary(sender)["balance_kopecks"] == 800
    inbox = phone_context.new_page()
    inbox.goto(f"{portal.url}/phone?n={receiver}")
    expect(inbox.locator("#phone-inbox .sms-text").first).to_have_text("Привет, это тест!")
    expect(inbox.locator("#phone-inbox .sms-text").filter(has_text="Привет, это тест!")).to_have_count(1)
    sms.to_english()
    sms.open()
    expect(page.locator("#sms-length-note")).to_contain_text("Cyrillic: up to 70 characters")
    sms.assert_fits()
    never_undefined(page)


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
    expect(page.locator("#shops")).to_contain_text("м. Кремлёвская")

    support = CabinetPage(page, portal.url)
    support.to_english()
    page.goto(portal.url + "/support")
    expect(page.locator("#shop-city")).to_contain_text("Kazan")
    expect(page.locator("#shops")).to_contain_text("44 Baumana St")
    expect(page.locator("#shops")).to_contain_text("metro Kremlyovskaya")
    page.locator("#shop-city").click()
    page.get_by_role("option", name="Saint Petersburg").click()
    expect(page.locator(".shop")).to_have_count(2)
    expect(page.locator("#shops")).to_contain_text("54 Nevsky Ave")
    expect(page.locator("#shops")).not_to_contain_text("м.")
    never_undefined(page)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_no_page_of_part_2_ever_shows_undefined(portal, phone_context, lang):
    """Going from page to page (each shows its frame before its data), and on the phone nothing is
    wider than the screen."""
    msisdn = portal.line("smart", balance_kopecks=100_000)
    page = login(portal, phone_context, msisdn)
    any_page = CabinetPage(page, portal.url)
    if lang == "en":
        any_page.to_english()
    for route in ("/detail", "/services", "/internet", "/roaming", "/bonus", "/notifications", "/sms", "/support",
                  "/tariffs", "/family", "/services/goodok", "/services/memory", "/services/parental"):
        page.goto(portal.url + route)
        expect(page.locator("#page-loading")).to_have_count(0)
        page.wait_for_timeout(300)
        any_page.route = route
        any_page.assert_fits()
        never_undefined(page)
