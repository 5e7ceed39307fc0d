"""Services with something behind them: choose a GOOD'OK melody (its price first) and see it in the
service card; back the phone up, see the list, restore what was lost; attach a child's number, set
limits, and the child's call over the limit is refused; attach another number by a code; cancel a
content subscription and see its last charge; one SMS to several recipients; the tariff history."""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from mts_portal.core.auth import format_msisdn
from mts_portal.core.money import format_rub
from tests.e2e.pages.cabinet import CabinetPage, ServicesPage, SmsPage, TariffsPage
from tests.e2e.pages.login import LoginPage
from tests.e2e.pages.services_behind import GoodokPage, MemoryPage, ParentalPage

pytestmark = pytest.mark.e2e


def login(portal, context, msisdn):
    page = context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    return page


def account_of(portal, msisdn: str) -> int:
    with sqlite3.connect(f"file:{portal.db_path}?mode=ro", uri=True) as db:
        return db.execute("SELECT account_id FROM lines WHERE msisdn = ?", (msisdn,)).fetchone()[0]


def inbox(page, msisdn: str):
    """The demo phone of another number, in a second tab."""
    other = page.context.new_page()
    other.goto(f"{'/'.join(page.url.split('/')[:3])}/phone?n={msisdn}")
    return other


def calls(portal, msisdn: str, n: int, tag: str) -> list[dict]:
    now = portal.now()
    return portal.events([{"event_id": f"{tag}-{msisdn}-{i}", "msisdn": msisdn, "kind": "voice", "direction": "out",
                           "peer": "79031112233", "started_at": (now - timedelta(seconds=30 * (n - i))).isoformat(),
                           "duration_s": 60, "zone": "home"} for i in range(n)])


def test_choose_a_melody_and_see_it_in_the_service_card(portal, any_context):
    msisdn = portal.line("smart", balance_kopecks=20_000)
    page = login(portal, any_context, msisdn)
    services = ServicesPage(page, portal.url).open()
    services.connect("goodok")
    expect(page.locator("#detail-goodok")).to_contain_text("Мелодия не выбрана")
    page.locator("#manage-goodok").click()
    goodok = GoodokPage(page, portal.url)
    expect(page.locator("#service-heading")).to_contain_text("GOOD'OK")
    expect(goodok.current()).to_contain_text("обычный гудок")
    page.locator("#goodok-search").fill("синяя")
    expect(page.locator("#melodies .melody")).to_have_count(1)
    before = portal.summary(msisdn)["balance_kopecks"]
    dialog = goodok.choose("blue_note")  # the price, before anything is charged
    expect(page.locator("#melody-cost")).to_have_text(format_rub(3_500))
    expect(dialog).to_contain_text("один раз")
    goodok.cancel()
    assert portal.summary(msisdn)["balance_kopecks"] == before
    goodok.choose("blue_note")
    goodok.confirm(double_click=True)  # bought once
    expect(goodok.current()).to_contain_text("«Синяя нота» — Квартет Андрея Лебедева")
    expect(page.locator("#choose-blue_note")).to_have_count(0)
    assert portal.summary(msisdn)["balance_kopecks"] == before - 3_500
    # an included melody costs nothing, and the choice changes
    page.locator("#goodok-search").fill("")
    goodok.choose("kalinka")
    expect(page.locator("#melody-cost")).to_have_text(format_rub(0))
    goodok.confirm()
    expect(goodok.current()).to_contain_text("«Калинка»")
    goodok.assert_fits()
    services.open()
    expect(page.locator("#detail-goodok")).to_contain_text("Сейчас звучит: «Калинка»")
    services.to_english()
    expect(page.locator("#detail-goodok")).to_contain_text("Playing now: “Kalinka”")
    services.assert_fits()


def test_back_up_the_phone_see_the_list_and_restore_what_was_lost(portal, phone_context):
    msisdn = portal.line("smart", balance_kopecks=20_000)
    portal.move_clock(minutes=5)  # the line exists before its usage
    calls(portal, msisdn, 3, "mem")
    page = login(portal, phone_context, msisdn)
    memory = MemoryPage(page, portal.url).open()
    expect(page.locator("#backup-now")).to_be_disabled()
    memory.connect_service("second_memory")
    expect(page.locator("#calls-count")).to_have_text("3\u00a0звонка")
    expect(page.locator("#no-backups")).to_be_visible()
    memory.backup_now(double_click=True)
    expect(memory.backups()).to_have_count(1)
    first = memory.backups().first
    expect(first).to_contain_text("3\u00a0звонка")
    expect(first.locator(".backup-size")).to_have_text(re.compile(r"^\d+(,\d)?\u00a0(Б|КБ)$"))
    expect(first).to_contain_text("вручную")
    expect(page.locator("#memory-next")).to_contain_text("03:00")
    # the phone loses a contact and its call log; the backup brings them back
    lost = memory.contacts().first.inner_text().split("\n")[0]
    memory.contacts().first.get_by_role("button").click()
    expect(page.locator("#phone-contacts")).not_to_contain_text(lost)
    page.locator("#clear-calls").click()
    memory.confirm()
    expect(page.locator("#no-calls")).to_be_visible()
    dialog = memory.restore(memory.backups().first)
    expect(dialog).to_contain_text(lost)
    expect(dialog.locator(".back")).to_have_count(4)  # the contact and the three calls
    memory.confirm()
    expect(memory.toasts("success").filter(has_text="Восстановлено")).to_have_text(
        re.compile("Восстановлено: 1\u00a0контакт, 3\u00a0звонка"))
    expect(page.locator("#phone-contacts")).to_contain_text(lost)
    expect(page.locator("#calls-count")).to_have_text("3\u00a0звонка")
    # a contact typed wrong says so beside the field and changes nothing
    page.locator("#contact-name").fill("Бабушка")
    page.locator("#contact-number").fill("12")
    page.locator("#contact-add").click()
    expect(page.locator("#contact-number-error")).to_have_text("Номер: от 3 до 15 цифр")
    memory.assert_fits()


def test_attach_a_child_set_limits_and_the_childs_call_over_the_limit_is_refused(portal, any_context):
    parent = portal.line("smart", balance_kopecks=50_000, holder="Ольга Смирнова")
    child = portal.line("minimum", balance_kopecks=10_000, account_id=account_of(portal, parent))
    page = login(portal, any_context, parent)
    parental = ParentalPage(page, portal.url).open()
    expect(page.locator("#attach-own")).to_be_disabled()
    parental.connect_service("parental_control")
    parental.attach_own()
    expect(parental.child(child)).to_contain_text(format_msisdn(child))
    expect(parental.child(child)).to_contain_text("без лимита")
    dialog = parental.open_limits(child)
    page.locator("#limit").fill("пять")
    page.locator("#limits-save").click()
    expect(page.locator("#limit-error")).to_contain_text("Введите сумму в рублях")
    page.locator("#limit").fill("5")
    page.locator("#night").click()
    page.locator("#block-content_games").click()
    page.locator("#limits-save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(f"#limits-text-{child}")).to_contain_text("Интернет ночью отключён")
    expect(page.locator(f"#limits-text-{child}")).to_contain_text("Игровой клуб")
    # the rating engine honours the limit: 2 × 2,50 ₽ fit in 5 ₽, the third call is refused, nothing charged
    portal.move_clock(minutes=5)
    balance = portal.summary(child)["balance_kopecks"]
    results = calls(portal, child, 3, "kid")
    assert [r["status"] for r in results] == ["rated", "rated", "blocked"]
    assert results[2]["charged_kopecks"] == 0 and "parental control" in results[2]["reason"]
    assert portal.summary(child)["balance_kopecks"] == balance - 500
    parental.open()
    expect(page.locator(f"#spent-{child}")).to_have_text(format_rub(500))
    expect(parental.child(child)).to_contain_text("из 5,00\u00a0₽")
    expect(page.locator(f"#refused-{child}")).to_contain_text("1")
    expect(parental.child(child).locator(".refused")).to_contain_text("лимит расходов 5,00\u00a0₽")
    parental.assert_fits()
    # the child's own number sees who controls it
    parental.switch_line(child)
    parental.open()
    expect(page.locator("#parental-under")).to_contain_text(format_msisdn(parent))


def test_attach_another_number_by_a_code_from_its_phone(portal, phone_context):
    parent = portal.line("smart", balance_kopecks=50_000)
    other = portal.line("minimum", balance_kopecks=5_000)
    page = login(portal, phone_context, parent)
    parental = ParentalPage(page, portal.url).open()
    parental.connect_service("parental_control")
    page.locator("#other-number").fill("123")
    page.locator("#other-send").click()
    expect(page.locator("#other-number-error")).to_contain_text("+7 9XX XXX-XX-XX")
    page.locator("#other-number").fill(format_msisdn(other))
    page.locator("#other-send").click()
    expect(page.locator("#other-code-label")).to_contain_text(format_msisdn(other))
    phone = inbox(page, other)
    sms = phone.locator("#phone-inbox .sms-text").first
    expect(sms).to_contain_text("Родительскому контролю")
    code = re.search(r"\b(\d{6})\b", sms.inner_text()).group(1)
    phone.close()
    page.locator("#other-code").fill("12")
    page.locator("#other-confirm").click()
    expect(page.locator("#other-code-error")).to_contain_text("6 цифр")
    page.locator("#other-code").fill(code)
    page.locator("#other-confirm").click()
    expect(parental.child(other)).to_contain_text("подтверждён кодом")
    parental.assert_fits()


def test_cancel_a_content_subscription_and_see_its_last_charge(portal, any_context):
    msisdn = portal.line("smart", balance_kopecks=20_000)
    page = login(portal, any_context, msisdn)
    services = ServicesPage(page, portal.url).open()
    services.connect("content_horoscope")
    row = page.locator("#product-content_horoscope")
    expect(row).to_contain_text("ООО «Астро-Медиа»")
    expect(row).to_contain_text("10,00\u00a0₽ в сутки")
    expect(page.locator("#last-charge-content_horoscope")).to_contain_text("10,00\u00a0₽")
    expect(page.locator("#next-charge-content_horoscope")).to_contain_text("00:00")
    page.locator("#disconnect-content_horoscope").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Последнее списание —")
    expect(dialog).to_contain_text("не будет")
    services.confirm(double_click=True)
    expect(page.locator("#no-subscriptions")).to_be_visible()
    services.expect_one_success("Последнее списание")
    expect(page.locator("#ended-subscriptions")).to_contain_text("Гороскоп на каждый день")
    expect(page.locator("#ended-subscriptions")).to_contain_text("больше списаний не будет")
    assert "content_horoscope" not in portal.summary(msisdn)["options"]
    services.assert_fits()


def test_send_one_sms_to_several_recipients(portal, phone_context):
    sender = portal.line("minimum", balance_kopecks=1_000)
    first, second = portal.line("smart"), portal.line("smart")
    page = login(portal, phone_context, sender)
    sms = SmsPage(page, portal.url).open()
    sms.write(first, "Встреча в 19:00")
    page.locator("#sms-add").click()
    page.locator("#sms-to-2").fill("12345")
    page.locator("#sms-send").click()
    expect(page.locator("#sms-to-2-error")).to_contain_text("+7 9XX XXX-XX-XX")
    expect(page.locator("#sms-dialog")).to_have_count(0)
    page.locator("#sms-to-2").fill(format_msisdn(second))
    expect(page.locator("#sms-to-2-error")).to_have_count(0)
    page.locator("#sms-add").click()
    page.locator("#sms-to-3").fill(first)
    page.locator("#sms-send").click()
    expect(page.locator("#sms-to-3-error")).to_have_text("Этот номер уже есть в списке")
    page.locator("#sms-remove-3").click()
    page.locator("#sms-send").click()
    expect(page.locator("#sms-cost")).to_have_text(format_rub(400))  # 2 × 2,00 ₽, no SMS bundle
    expect(page.locator("#sms-cost-detail")).to_contain_text("2\u00a0получателя")
    sms.confirm(double_click=True)
    expect(page.locator("#sms-result")).to_contain_text("SMS отправлено на 2\u00a0номера: 4,00\u00a0₽")
    expect(page.locator(".sms-outcome")).to_have_count(2)
    assert portal.summary(sender)["balance_kopecks"] == 600
    for to in (first, second):
        phone = inbox(page, to)
        expect(phone.locator("#phone-inbox .sms-text").filter(has_text="Встреча в 19:00")).to_have_count(1)
        phone.close()
    sms.assert_fits()


def test_the_tariff_history(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=200_000)
    page = login(portal, desktop_context, msisdn)
    tariffs = TariffsPage(page, portal.url).open()
    history = page.locator("#tariff-history .tariff-change")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("Подключение номера")
    tariffs.open_switch("smart")
    fee = page.locator("#preview-fee").inner_text()
    page.locator("#switch-confirm").click()
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("«Минимум» → «Smart»")
    expect(history.first).to_contain_text(f"списано {fee}")
    CabinetPage.to_english(tariffs)
    expect(history.first).to_contain_text("Minimum → Smart")
    expect(history.first).to_contain_text("Tariff switch")
