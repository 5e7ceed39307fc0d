"""The production build under the security headers, and the store-trouble banner, in Chromium.

Its own portal (one build) whose store lives on a small tmpfs: the CSP the pages are served with must
not stop anything the Reflex build does (a login and the cabinet work, the browser reports no CSP
violation), and when the disk is full the cabinet shows the banner — both languages, phone and desktop —
which goes away by itself once there is space again. Needs root for the tmpfs (skipped otherwise).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.diskfill import fill
from tests.e2e.conftest import CHROMIUM, Portal
from tests.e2e.pages.login import LoginPage
from tests.e2e.server import OPERATOR_TOKEN, portal_server

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "reports" / "screenshots"
# its portal is built from the same .web directory as the suite's shared one: a build for another port
# would repoint the shared portal's pages, so this file runs on its own (scripts/test.sh, -m ownportal)
pytestmark = [pytest.mark.e2e, pytest.mark.ownportal]


@pytest.fixture(scope="module")
def disk_portal():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    if os.geteuid() != 0:
        pytest.skip("needs root for a tmpfs")
    disk = Path(tempfile.mkdtemp(prefix="mts_e2e_disk_"))
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(disk)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        with portal_server(disk) as (url, log_path):
            portal = Portal(url, disk / "portal.db", log_path)
            portal.pin_clock()
            portal.disk = disk
            yield portal
    finally:
        subprocess.run(["umount", "-l", str(disk)])


def test_pages_work_under_the_security_headers(disk_portal, browser):
    portal = disk_portal
    r = httpx.get(portal.url + "/login")
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin" and r.headers["x-frame-options"] == "DENY"
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="ru-RU")
    page = ctx.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    msisdn = portal.line()
    LoginPage(page, portal.url).login_with_code(msisdn)
    page.goto(portal.url + "/money")
    expect(page.locator("#page-title")).to_be_visible()
    assert violations == [], violations
    ctx.close()


def test_a_full_disk_shows_the_banner_and_it_goes_away_when_space_is_back(disk_portal, browser):
    portal = disk_portal
    msisdn = portal.line()
    shots = []
    for viewport, lang in (({"width": 390, "height": 844}, "ru"), ({"width": 1440, "height": 900}, "en")):
        ctx = browser.new_context(viewport=viewport, locale="ru-RU")
        page = ctx.new_page()
        LoginPage(page, portal.url).login_with_code(msisdn)
        if lang == "en":
            page.locator("#lang-toggle").click()
            expect(page.locator("#lang-toggle")).to_contain_text("Русский", timeout=10_000)
        expect(page.locator("#store-banner")).to_have_count(0)
        filler = fill(portal.disk)
        try:
            api = httpx.Client(base_url=portal.url, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, timeout=30)
            for i in range(600):  # writes until the store refuses one (the WAL has to grow)
                r = api.post(f"/api/v1/lines/{msisdn}/topups",
                             json={"amount_kopecks": 100, "idempotency_key": f"fill-{lang}-{i}"})
                assert r.status_code in (200, 503), r.text
                if r.status_code == 503:
                    assert r.json()["error"] == "store_unavailable" and r.headers["retry-after"]
                    break
            else:
                pytest.fail("a full disk never refused a write")
            page.goto(portal.url + "/money")
            banner = page.locator("#store-banner")
            expect(banner).to_be_visible(timeout=10_000)
            expect(banner).to_contain_text("не сохраняет изменения" if lang == "ru" else "cannot save changes")
            SHOTS.mkdir(parents=True, exist_ok=True)
            shot = SHOTS / f"store-banner-{viewport['width']}.png"
            page.screenshot(path=str(shot))
            shots.append(shot)
        finally:
            filler.unlink(missing_ok=True)
        expect(page.locator("#store-banner")).to_have_count(0, timeout=30_000)  # back by itself
        t0 = time.monotonic()
        while api.post(f"/api/v1/lines/{msisdn}/topups",
                       json={"amount_kopecks": 100, "idempotency_key": f"back-{lang}"}).status_code != 200:
            assert time.monotonic() - t0 < 10
            time.sleep(0.5)
        ctx.close()
    assert all(s.exists() for s in shots)
