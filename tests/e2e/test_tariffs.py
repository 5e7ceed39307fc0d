"""Tariffs: compare, switch with a prorated preview, the advisor."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.pages.login import LoginPage

pytestmark = pytest.mark.e2e


def test_compare_and_switch_with_preview(portal, any_context):
    msisdn = portal.line("minimum", balance_kopecks=200_000)
    page = any_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    page.goto(portal.url + "/tariffs")
    expect(page.locator("#current-tariff")).to_have_text("Минимум")
    expect(page.locator("#compare-table")).to_contain_text("550,00")
    page.locator("#switch-smart").click()
    from datetime import datetime

    from mts_portal.core.clock import period_of, prorate_up

    now = datetime.fromisoformat(portal.api.get("/api/v1/health").json()["now"])
    p = period_of(now)
    fee = prorate_up(55_000, p.remaining_days(now), p.days)
    from mts_portal.core.money import format_rub

    expect(page.locator("#preview-fee")).to_have_text(format_rub(fee))
    page.locator("#switch-confirm").click()
    expect(page.locator("#current-tariff")).to_have_text("Smart")
    summary = portal.summary(msisdn)
    assert summary["tariff"] == "smart" and summary["balance_kopecks"] == 200_000 - fee
    assert {b["kind"] for b in summary["buckets"]} == {"voice", "sms", "data"}


def test_switch_refused_without_money(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=1_000)
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    page.goto(portal.url + "/tariffs")
    page.locator("#switch-tarifische").click()
    expect(page.locator("#preview-unaffordable")).to_be_visible()
    expect(page.locator("#switch-confirm")).to_be_disabled()
    assert portal.summary(msisdn)["tariff"] == "minimum"


def test_advisor_recommends_from_real_usage(portal, desktop_context):
    msisdn = portal.line("minimum", balance_kopecks=1_500_000)
    portal.move_clock(hours=13)  # the line exists before the 12 hours of usage below
    now = portal.now()
    from datetime import timedelta

    portal.events([{"event_id": f"adv-{msisdn}-{i}", "msisdn": msisdn, "kind": "data",
                    "started_at": (now - timedelta(hours=i)).isoformat(), "bytes": 200 * 1024 * 1024,
                    "zone": "home"} for i in range(12)])  # 2400 MB on Minimum: 12,000 ₽
    page = desktop_context.new_page()
    LoginPage(page, portal.url).login_with_code(msisdn)
    page.goto(portal.url + "/tariffs")
    page.locator("#advisor-run").click()
    expect(page.locator("#advisor-summary")).to_contain_text("«Smart»")
    expect(page.locator("#advice-minimum")).to_contain_text("12\u00a0000,00")
    expect(page.locator("#advice-smart")).to_contain_text("Выгоднее всего")
