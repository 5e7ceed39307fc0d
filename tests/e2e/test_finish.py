"""The finish (issue 16): every form answers before it asks, empty submits say something at the field,
one rule for every code field, a first visit is not «Сеанс завершён», dates follow the interface
language, and the 390 px layouts hold (nothing wider than the screen, nothing overlapping)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.pages.family import FamilyPage
from tests.e2e.pages.login import LoginPage
from tests.e2e.pages.money import MoneyPage

pytestmark = pytest.mark.e2e


def _fits(page) -> None:
    width = page.evaluate("[document.documentElement.clientWidth, document.documentElement.scrollWidth]")
    assert width[1] <= width[0], f"{page.url} is {width[1]} px wide on a {width[0]} px screen"


def _box(page, selector: str) -> dict:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box


def _overlap(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def test_a_first_visit_is_not_an_ended_session(portal, any_context):
    page = any_context.new_page()
    for route in ("/", "/money"):
        page.goto(portal.url + route)
        page.wait_for_url(re.compile(r"/login"))
        expect(page.locator("#login-forms")).to_be_visible(timeout=15_000)
        assert "e=" not in page.url, page.url
        expect(page.locator("#login-notice")).to_have_count(0)
        expect(page.get_by_text("Сеанс завершён")).to_have_count(0)


def test_login_empty_submits_and_a_landline_are_answered_at_the_field(portal, phone_context):
    page = phone_context.new_page()
    login = LoginPage(page, portal.url).open()
    page.locator("#get-code").click()  # no number at all
    expect(login.error()).to_contain_text("+7 9XX")
    page.locator("#login-phone").fill("74951234567")  # a Moscow landline, not a mobile number
    page.locator("#get-code").click()
    expect(login.error()).to_contain_text("не мобильный")
    expect(page.locator("#login-code")).to_have_count(0)

    msisdn = portal.line("smart")
    page.get_by_role("radio", name="По паролю").click()
    page.locator("#login-phone-pwd").fill(msisdn)
    page.locator("#submit-password").click()  # no password
    expect(login.error()).to_have_text("Введите пароль")
    expect(page.locator("#login-locked")).to_have_count(0)


def test_letters_in_a_code_never_count(portal, desktop_context):
    """Login and transfer codes follow one rule: letters are a format error, not a wrong attempt."""
    msisdn = portal.line("smart", balance_kopecks=200_000)
    other = portal.line("smart")
    page = desktop_context.new_page()
    login = LoginPage(page, portal.url).open()
    login.request_code(msisdn)
    for _ in range(4):  # more than the 3 wrong attempts that would lock
        login.enter_code("abcdef")
        expect(login.error()).to_contain_text("Попытка не засчитана")
    login.enter_code(login.code_from_phone_panel())
    page.wait_for_url(portal.url + "/")

    money = MoneyPage(page, portal.url).open("transfer")
    money.ask_transfer(other, "150")
    expect(page.locator("#transfer-summary")).to_contain_text("150,00")
    for _ in range(4):
        page.locator("#transfer-code").fill("abcdef")
        page.locator("#transfer-confirm").click()
        expect(money.field_error("transfer-code")).to_contain_text("Попытка не засчитана")
    before = portal.summary(other)["balance_kopecks"]
    page.locator("#transfer-code").fill(money.code_from_phone(msisdn, "Код подтверждения перевода"))
    page.locator("#transfer-confirm").click()  # the right code still works: nothing was counted or locked
    expect(page.locator("#transfer-code")).to_have_count(0)
    assert portal.summary(other)["balance_kopecks"] > before


def test_settings_empty_submits_and_stale_errors(portal, desktop_context):
    msisdn = portal.line("smart")
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    page.goto(portal.url + "/settings")
    page.locator("#settings-save-password").click()  # everything empty
    expect(page.locator("#settings-password-error")).to_be_visible()
    page.locator("#forward-save").click()  # forwarding with no number: an error, not «Сохранено»
    expect(page.locator("#forward-error")).to_contain_text("Введите номер")
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)
    expect(page.locator("#settings-password-error")).to_have_count(0)  # the other card's old error went
    page.locator("#settings-new-password").fill("another-pass-123")
    page.locator("#settings-repeat-password").fill("another-pass-123")
    page.locator("#settings-save-password").click()
    expect(page.locator("#forward-error")).to_have_count(0)
    expect(page.locator("#settings-password-error")).to_be_visible()


def test_the_family_refusal_comes_before_the_fee_dialog(portal, desktop_context):
    owner = portal.line("my_mts", balance_kopecks=300_000)
    member = portal.line("smart")
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(owner)
    family = FamilyPage(page, portal.url).open()
    page.locator("#invite-send").click()  # empty
    expect(family.invite_error()).to_contain_text("+7 9XX")
    expect(family.invite_dialog()).to_be_hidden()
    family.invite(member)
    family.ask_invite(member)  # again: already invited
    expect(family.invite_error()).to_contain_text("уже приглашён")
    expect(family.invite_dialog()).to_be_hidden()


def test_sms_with_the_text_cleared_does_not_ask(portal, desktop_context):
    msisdn = portal.line("smart")
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    page.goto(portal.url + "/sms")
    page.locator("#sms-recipients input").first.fill("79161234567")
    page.locator("#sms-text").fill("привет")
    page.locator("#sms-text").fill("")
    expect(page.locator("#sms-send")).to_be_disabled()
    page.locator("#sms-send").click(force=True)
    expect(page.locator("#sms-dialog")).to_have_count(0)


def test_add_number_empty_and_contract_number(portal, phone_context):
    msisdn = portal.line("smart")
    page = phone_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    page.goto(portal.url + "/numbers")
    expect(page.locator(".contract-number").first).to_have_text(re.compile(r"^77\d{10}$"))
    page.locator("#add-send-code").click()
    expect(page.locator("#add-error")).to_contain_text("+7 9XX")


def test_custom_period_dates_follow_the_interface_language(portal, desktop_context):
    msisdn = portal.line("smart")
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    page.goto(portal.url + "/detail")
    page.locator("#detail-period").click()
    page.get_by_role("option", name="Свой период").click()
    expect(page.locator("#detail-from")).to_have_value(re.compile(r"^01\.\d\d\.\d{4}$"))
    expect(page.locator("#detail-to")).to_have_value(re.compile(r"^\d\d\.\d\d\.\d{4}$"))
    page.locator("#detail-apply").click()
    expect(page.locator("#detail-error")).to_have_count(0)
    page.locator("#lang-toggle").click()
    expect(page.locator("#detail-from")).to_have_value(re.compile(r"^1 [A-Z][a-z]{2} \d{4}$"))


def test_phone_layouts_hold_at_390(portal, phone_context):
    msisdn = portal.line("smart")
    page = phone_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    # the demo badge keeps its word
    expect(page.locator("#demo-phone-link")).to_contain_text("Демо")
    badge, switcher = _box(page, "#demo-phone-link"), _box(page, "#line-switcher")
    assert not _overlap(badge, switcher)
    _fits(page)

    page.goto(portal.url + "/money")
    expect(page.locator("#tab-topup")).to_be_visible()
    tabs = [_box(page, f"#tab-{t}") for t in ("topup", "promise", "autopay", "transfer", "history", "spending")]
    rows = sorted({round(b["y"]) for b in tabs})
    assert len(rows) == 2, rows  # two rows of three
    assert [round(b["x"]) for b in tabs[:3]] == [round(b["x"]) for b in tabs[3:]]  # in columns
    assert len({round(b["width"]) for b in tabs}) == 1  # of one width
    for i, a in enumerate(tabs):
        for b in tabs[i + 1:]:
            assert not _overlap(a, b)
    _fits(page)

    page.goto(portal.url + "/services")
    expect(page.locator("#block-number")).to_be_visible()
    text, button = _box(page, "#block-card > div"), _box(page, "#block-number")
    assert not _overlap(text, button)
    assert text["width"] > 250  # the text has the card's width, not a narrow column beside the button
    _fits(page)


def test_desktop_home_has_spending_and_notifications(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=1_000)  # below 50 ₽ after the call: a notification
    portal.events([{"event_id": f"fin-{msisdn}", "msisdn": msisdn, "kind": "voice", "direction": "out",
                    "peer": "79031112233", "started_at": portal.now().isoformat(), "duration_s": 120, "zone": "home"}])
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    expect(page.locator("#spending-card")).to_be_visible()
    expect(page.locator("#period-spending .spending-row").first).to_contain_text("Звонки")
    expect(page.locator("#spending-total")).to_contain_text("5,00")
    expect(page.locator("#notes-card")).to_be_visible()
    expect(page.locator("#latest-notes .home-note").first).to_be_visible()
    spending, notes = _box(page, "#spending-card"), _box(page, "#notes-card")
    assert abs(spending["y"] - notes["y"]) < 2 and not _overlap(spending, notes)  # side by side
