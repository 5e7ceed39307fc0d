"""Accessibility: axe-core (the npm package in tools/package.json, injected by Playwright) on every page
of the portal at 390×844 and 1440×900. Any critical or serious finding fails; the figures of the run
(pages × sizes checked, findings by impact) are written to reports/axe.json (README quotes them)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.e2e.pages.login import LoginPage
from tests.e2e.server import ROOT

pytestmark = pytest.mark.e2e

AXE = ROOT / "tools" / "node_modules" / "axe-core" / "axe.min.js"
PRIVATE = ["/", "/money", "/tariffs", "/services", "/services/goodok", "/services/memory", "/services/parental",
           "/internet", "/roaming", "/bonus", "/detail", "/family", "/notifications", "/sms", "/numbers",
           "/settings", "/support"]
PUBLIC = ["/login", "/phone", "/mailbox", "/no-such-page"]
RESULTS: dict[str, dict] = {}


def _axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
    }""")


def _sweep(page, base: str, routes: list[str], size: str) -> list[str]:
    bad = []
    for route in routes:
        page.goto(base + route)
        if route in PRIVATE:
            expect(page.locator("#page-loading")).to_have_count(0)
        page.wait_for_load_state("networkidle")
        try:
            found = _axe(page)
        except PlaywrightError as exc:  # the page navigated by itself (a redirect): say where it went
            if "context was destroyed" not in str(exc):
                raise
            page.wait_for_load_state("networkidle")
            bad.append(f"{size} {route}: the page left for {page.url} before it could be checked")
            continue
        RESULTS[f"{size} {route}"] = {"impacts": dict(Counter(v["impact"] for v in found)),
                                      "rules": sorted({v["id"] for v in found})}
        bad += [f"{size} {route}: {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}"
                for v in found if v["impact"] in ("critical", "serious")]
    return bad


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    if RESULTS:
        total = Counter()
        for r in RESULTS.values():
            total.update(r["impacts"])
        out = ROOT / "reports"
        out.mkdir(exist_ok=True)
        (out / "axe.json").write_text(json.dumps({"checked": len(RESULTS), "findings": dict(total),
                                                  "pages": RESULTS}, ensure_ascii=False, indent=1))
        print(f"axe: {len(RESULTS)} page × size checks, findings by impact: {dict(total)}")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_no_critical_or_serious_findings(portal, browser, size):
    if not AXE.exists():
        pytest.fail("axe-core is missing: scripts/setup.sh installs tools/package.json")
    vp = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1440, "height": 900}}[size]
    ctx = browser.new_context(viewport=vp, locale="ru-RU")
    try:
        page = ctx.new_page()
        bad = _sweep(page, portal.url, ["/login"], size)
        owner = portal.line("my_mts", balance_kopecks=200_000)
        LoginPage(page, portal.url).login_with_code(owner)
        bad += _sweep(page, portal.url, PRIVATE + [r for r in PUBLIC if r != "/login"], size)
        assert not bad, "\n".join(bad)
    finally:
        ctx.close()
