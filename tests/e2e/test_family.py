"""«МЫ МТС» with two browser contexts: the owner invites, the member accepts in their own
portal, the owner sets a quota (a bad one gets a field error), the member's traffic moves
the owner's view live, the owner removes the member. Joining by replying «Да» from the demo
phone. An expired invitation is shown as such and can be sent again."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.pages.family import FamilyPage
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
    fo, fm = FamilyPage(po, portal.url).open(), FamilyPage(pm, portal.url)

    fo.ask_invite(owner)  # refused before any fee is asked
    expect(fo.invite_error()).to_contain_text("самого себя")
    expect(fo.invite_dialog()).to_have_count(0)
    fo.ask_invite("79031234567")
    expect(fo.invite_error()).to_contain_text("другого оператора")
    expect(po.locator("#invite-msisdn")).to_have_value("79031234567")  # the field keeps what was typed
    fm.open()  # the invitee's page is open before the invitation: it appears live
    fo.invite(member)
    expect(fo.member(member)).to_contain_text("ждём согласия")
    expect(pm.locator("#invitations")).to_be_visible(timeout=5000)

    fm.accept_first_invitation()
    expect(fm.member_of()).to_contain_text(owner[1:4])
    expect(fo.member(member)).not_to_contain_text("ждём согласия", timeout=5000)  # live

    fo.open_quota(member)
    fo.set_quota(member, gb="nan", already_open=True)
    expect(fo.quota_error()).to_contain_text("Интернет")  # a field error, the page keeps working
    fo.set_quota(member, gb="1", already_open=True)
    expect(po.locator(f"#member-{member} .share-data")).to_contain_text("1 ГБ")

    portal.events([{"event_id": f"fam-{member}-1", "msisdn": member, "kind": "data",
                    "started_at": portal.now().isoformat(), "bytes": 300 * 1024 * 1024, "zone": "home"}])
    # the owner's page moves by itself: 300 MB used of the member's 1 GB share
    expect(fo.member_share_used(member, "data")).to_contain_text("300", timeout=5000)
    expect(fm.my_share_used("data")).to_contain_text("300", timeout=5000)

    call = portal.events([{"event_id": f"fam-{member}-2", "msisdn": member, "kind": "voice", "direction": "out",
                           "peer": owner, "started_at": portal.now().isoformat(), "duration_s": 600,
                           "zone": "home"}])
    assert call[0]["charged_kopecks"] == 0 and call[0]["drawn"] == []  # calls inside the group are free

    fo.remove(member)
    expect(fo.member(member)).to_have_count(0)
    assert portal.summary(member)["tariff"] == "minimum"
    ctx_owner.close()
    ctx_member.close()


def test_an_invitation_states_the_fee_first_and_cancelling_changes_nothing(portal, browser):
    from mts_portal.core.clock import period_of, prorate_up
    from mts_portal.core.money import format_rub
    from mts_portal.i18n import count_text

    owner = portal.line("my_mts", balance_kopecks=1_500_000)
    invitee = portal.line("smart", balance_kopecks=50_000)
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="ru-RU")
    page = ctx.new_page()
    LoginPage(page, portal.url).login_with_code(owner)
    family = FamilyPage(page, portal.url).open()
    expect(page.locator("#invite-hint")).to_contain_text("50 ₽ в месяц")
    family.ask_invite(invitee)
    now = portal.now()
    p = period_of(now)
    days = p.remaining_days(now)
    today = prorate_up(5_000, days, p.days)
    dialog = family.invite_dialog()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("50,00\u00a0₽ в месяц")
    expect(dialog).to_contain_text(f"{format_rub(today)} за {count_text(days, 'ru', ('день', 'дня', 'дней'), ('day', 'days'))}"
                                   f" из {p.days}")
    expect(dialog).to_contain_text("Плата спишется, когда участник примет приглашение")
    page.locator("#confirm-cancel").click()  # cancelled: nothing was sent
    expect(dialog).to_be_hidden()
    expect(family.member(invitee)).to_have_count(0)
    with sqlite3.connect(portal.db_path) as db:
        assert db.execute("SELECT count(*) FROM family_members WHERE line_id = (SELECT id FROM lines WHERE msisdn = ?)",
                          (invitee,)).fetchone()[0] == 0
    family.invite(invitee, double_click=True)  # confirmed (twice): one invitation, no «уже приглашён»
    expect(family.member(invitee)).to_contain_text("ждём согласия")
    expect(family.toasts("success").filter(has_text="Приглашение отправлено")).to_have_count(1)
    page.wait_for_timeout(1000)
    expect(family.toasts("error")).to_have_count(0)
    expect(page.locator("#invite-msisdn")).to_have_value("")
    # the member card's number stays on one line on the phone
    rects = page.locator(f"#member-{invitee} .rt-Text").first.evaluate("e => e.getClientRects().length")
    assert rects == 1
    family.cancel_invitation(invitee)  # the owner is told it is done
    expect(family.toasts("success").filter(has_text="Приглашение отменено")).to_have_count(1)
    expect(family.member(invitee)).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # in English the hint asks for "Yes", not «Да»
    page.locator("#lang-toggle").click()
    family.open()
    expect(page.locator("#invite-hint")).to_contain_text('replying "Yes"')
    expect(page.locator("body")).not_to_contain_text("«Да»")
    family.ask_invite(invitee)
    expect(family.invite_dialog()).to_contain_text("50.00\u00a0₽ a month")
    page.locator("#confirm-cancel").click()
    ctx.close()


def test_the_invitees_card_keeps_the_number_whole(portal, phone_context):
    owner = portal.line("my_mts", balance_kopecks=1_500_000)
    invitee = portal.line("smart", balance_kopecks=50_000)
    po = phone_context.new_page()
    LoginPage(po, portal.url).login_with_code(owner)
    FamilyPage(po, portal.url).open().invite(invitee)
    expect(FamilyPage(po, portal.url).member(invitee)).to_be_visible()
    ctx = phone_context.browser.new_context(viewport={"width": 320, "height": 700}, locale="ru-RU")
    page = ctx.new_page()
    LoginPage(page, portal.url).login_with_code(invitee)
    family = FamilyPage(page, portal.url).open()
    number = page.locator(".invitation .invite-owner").first
    expect(number).to_have_text(f"+7 {owner[1:4]} {owner[4:7]}-{owner[7:9]}-{owner[9:]}")
    assert number.evaluate("e => e.getClientRects().length") == 1  # «+7 912 606-49-» never breaks
    page.locator(".invitation button").nth(1).click()  # «Отклонить»
    expect(family.toasts("success").filter(has_text="Приглашение отклонено")).to_have_count(1)
    ctx.close()


def test_join_by_replying_yes_from_the_demo_phone(portal, desktop_context):
    owner = portal.line("my_mts", balance_kopecks=1_500_000)
    member = portal.line("minimum", balance_kopecks=10_000)
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(owner)
    family = FamilyPage(page, portal.url).open()
    family.invite(member)
    phone = desktop_context.new_page()
    phone.goto(f"{portal.url}/phone?n={member}")
    expect(phone.locator("#phone-inbox .sms-text").first).to_contain_text("Ответьте «Да»")
    phone.locator("#phone-reply-text").fill("Да!")
    phone.locator("#phone-reply-send").click()
    expect(phone.locator("#phone-inbox .sms-text").first).to_contain_text("вы в группе")
    page.bring_to_front()  # the owner looks back at the cabinet's tab: the join arrived there live
    expect(family.member(member)).not_to_contain_text("ждём согласия", timeout=5000)
    assert portal.summary(member)["tariff"] == "my_mts_member"


def test_an_expired_invitation_is_shown_and_can_be_sent_again(portal, browser):
    owner = portal.line("my_mts", balance_kopecks=1_500_000)
    active, pending, late = (portal.line("smart", balance_kopecks=50_000) for _ in range(3))
    shots = {}
    for size, viewport in (("desktop", {"width": 1440, "height": 900}), ("phone", {"width": 390, "height": 844})):
        ctx = browser.new_context(viewport=viewport, locale="ru-RU")
        page = ctx.new_page()
        LoginPage(page, portal.url).login_with_code(owner)
        family = FamilyPage(page, portal.url).open()
        if size == "desktop":
            for n in (active, pending, late):
                family.invite(n)
                expect(family.member(n)).to_contain_text("ждём согласия")
            # the invitation to `late` was sent four days ago (the store's clock only moves forward)
            sent = (portal.now() - timedelta(days=4)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            with sqlite3.connect(portal.db_path) as db:
                db.execute("UPDATE family_members SET invited_at = ? WHERE line_id = "
                           "(SELECT id FROM lines WHERE msisdn = ?)", (sent, late))
            member_ctx = browser.new_context(viewport=viewport, locale="ru-RU")  # the member's own browser
            member_page = member_ctx.new_page()
            LoginPage(member_page, portal.url).login_with_code(active)
            FamilyPage(member_page, portal.url).open().accept_first_invitation()
            expect(member_page.locator("#member-of")).to_be_visible()
            member_ctx.close()
            family.open()
            family.set_quota(active, minutes="100", gb="0,05")
            expect(page.locator(f"#member-{active} .share-data")).to_contain_text("51,2 МБ")
            family.open_quota(active)  # the field shows the quota as typed, not 0.0500002
            expect(page.locator("#quota-gb")).to_have_value("0,05")
            page.keyboard.press("Escape")
        family.open()
        expect(page.locator(f"#expired-{late}")).to_contain_text("истекло")
        out = Path(os.environ.get("MTS_E2E_SHOTS") or ARTIFACTS)
        out.mkdir(parents=True, exist_ok=True)
        shots[size] = out / f"family-owner-{size}.png"
        page.screenshot(path=str(shots[size]), full_page=True)
        if size == "phone":
            family.invite_again(late)
            expect(family.member(late)).to_contain_text("ждём согласия")
            expect(page.locator(f"#expired-{late}")).to_have_count(0)
        ctx.close()
