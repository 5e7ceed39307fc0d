"""Screenshots of the cabinet's pages at phone (390×844) and desktop (1440×900) sizes.

Needs a running demo portal (MTS_DEMO=1, e.g. `bash scripts/run.sh`) with a seeded
population; logs in as a demo number through the demo phone page.

    .venv/bin/python scripts/screenshots.py --url http://127.0.0.1:3000 --out docs/screenshots [--login demo-2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1440, "height": 900}}
PAGES = ["/login", "/", "/money", "/tariffs", "/services", "/services/goodok", "/services/memory",
         "/services/parental", "/internet", "/roaming", "/bonus", "/detail", "/family", "/notifications", "/sms",
         "/numbers", "/settings", "/support"]


def demo_msisdn(n: int) -> str:
    from sqlalchemy import select
    from sqlmodel import Session

    from mts_portal.core import runtime
    from mts_portal.core.models import Line, SimProfile

    with Session(runtime.engine()) as s:
        return s.exec(select(Line.msisdn).join(SimProfile, SimProfile.line_id == Line.id)
                      .where(SimProfile.demo_login == n)).scalars().one()


def login(page, base: str, msisdn: str) -> None:
    """With the demo password (a code each time would hit the 5-codes-an-hour limit)."""
    from simulator.population import DEMO_PASSWORD

    page.goto(base + "/login")
    page.get_by_role("radio", name="По паролю").click()
    page.locator("#login-phone-pwd").fill(msisdn)
    page.locator("#login-password").fill(DEMO_PASSWORD)
    page.locator("#submit-password").click()
    page.wait_for_url(base + "/")
    expect(page.locator("#balance")).to_contain_text("₽")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:3000")
    ap.add_argument("--out", default=str(ROOT / "docs/screenshots"))
    ap.add_argument("--login", default="demo-2", help="which demo login (demo-1 … demo-5)")
    ap.add_argument("--pages", nargs="*", default=PAGES)
    ap.add_argument("--lang", default="ru")
    ap.add_argument("--console", action="store_true", help="the control room instead (a one-time link per size)")
    args = ap.parse_args()
    if args.console:
        return console_shots(args.url, Path(args.out))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    msisdn = demo_msisdn(int(args.login[-1]))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for size, viewport in SIZES.items():
            ctx = browser.new_context(viewport=viewport, locale="ru-RU")
            page = ctx.new_page()
            if "/login" in args.pages:
                page.goto(args.url + "/login")
                page.locator("#login-phone").fill(msisdn)
                page.wait_for_timeout(700)
                page.screenshot(path=str(out / f"login-{size}.png"), full_page=size == "desktop")
                print(f"login-{size}.png")
            login(page, args.url, msisdn)
            if args.lang == "en":
                page.locator("#lang-toggle").click()
            for route in (r for r in args.pages if r != "/login"):
                page.goto(args.url + route)
                page.wait_for_load_state("networkidle")
                page.locator("#page-loading").wait_for(state="detached", timeout=15000)
                page.wait_for_timeout(700)
                name = "home" if route == "/" else route.strip("/").replace("/", "-")  # services-goodok
                suffix = "" if args.lang == "ru" else "-en"
                # a phone shows one screen (the fixed tab bar would sit mid-page in a full capture)
                page.screenshot(path=str(out / f"{name}-{size}{suffix}.png"), full_page=size == "desktop")
                print(f"{name}-{size}{suffix}.png")
            ctx.close()
        browser.close()


def console_shots(base: str, out: Path) -> None:
    """/console at both sizes, entered by the one-time link run.sh prints (demo mode), after its engine
    panel has a few seconds of traffic."""
    import subprocess

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for size, viewport in SIZES.items():
            link = subprocess.run([sys.executable, "-m", "simulator", "console-link", "--url", base], cwd=ROOT,
                                  check=True, capture_output=True, text=True).stdout.strip()
            ctx = browser.new_context(viewport=viewport, locale="ru-RU")
            page = ctx.new_page()
            page.goto(link)
            page.wait_for_url(lambda u: u.rstrip("/").endswith("/console"))
            expect(page.locator("#console-engine")).to_be_visible(timeout=30000)
            page.wait_for_timeout(6000)  # the engine chart fills with the last seconds
            page.screenshot(path=str(out / f"console-{size}.png"), full_page=size == "desktop")
            print(f"console-{size}.png")
            ctx.close()
        browser.close()


if __name__ == "__main__":
    main()
