"""Browser tests: the real app in production mode, driven by Playwright in Debian's Chromium.

One server per test session on a temp SQLite store, in demo mode (phone panel,
simulated clock). Tests make their own subscribers through the operator API.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.server import OPERATOR_TOKEN, ROOT, portal_server

# What a user sees must show up; on a 2-core CI machine running the whole suite a full page load with its
# websocket hydrate can take longer than Playwright's default 5 s. Waiting longer costs nothing when the
# page is right (an expectation returns as soon as it holds); only a real failure takes the full 15 s.
expect.set_options(timeout=15_000)

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-results"

pytestmark = pytest.mark.e2e


class Portal:
    def __init__(self, url: str, db_path: Path, log_path: Path):
        self.url = url
        self.db_path = db_path
        self.log_path = log_path
        self.api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, timeout=30)
        self._n = 0

    def new_msisdn(self) -> str:
        self._n += 1
        return f"7999{os.getpid() % 1000:03d}{self._n:04d}"

    def line(self, tariff: str = "smart", balance_kopecks: int = 100_000, msisdn: str | None = None,
             holder: str = "Иван Петров", account_id: int | None = None) -> str:
        msisdn = msisdn or self.new_msisdn()
        body = {"msisdn": msisdn, "tariff": tariff, "holder_name": holder}
        if account_id is not None:
            body["account_id"] = account_id
        r = self.api.post("/api/v1/lines", json=body)
        assert r.status_code == 201, r.text
        # `balance_kopecks` is what is left once the period's fee is paid (as tests/helpers.make_line),
        # so a test does not depend on how much of the month the prorated fee covers
        amount = balance_kopecks + r.json()["fees_owed_kopecks"]
        part = 0
        while amount > 0:  # one top-up is at most 15,000 ₽
            chunk = min(amount, 1_500_000)
            r = self.api.post(f"/api/v1/lines/{msisdn}/topups",
                              json={"amount_kopecks": chunk, "idempotency_key": f"seed-{msisdn}-{part}"})
            assert r.status_code == 200, r.text
            amount -= chunk
            part += 1
        return msisdn

    def summary(self, msisdn: str) -> dict:
        return self.api.get(f"/api/v1/lines/{msisdn}/summary").json()

    def now(self):
        from datetime import datetime

        return datetime.fromisoformat(self.api.get("/api/v1/health").json()["now"])

    def move_clock(self, **delta) -> None:
        from datetime import timedelta

        target = self.now() + timedelta(**delta)
        r = self.api.post("/api/v1/clock", json={"now": target.isoformat()})
        assert r.status_code == 200, r.text

    def pin_clock(self) -> None:
        """Start every run on the same day of the month: the 10th of next month, 12:00 Moscow time.

        The simulated clock only moves forward, so a fixed date is out of reach; a fixed day of the
        month keeps prorations similar and keeps a test's clock moves (days, minutes) inside one period
        whatever the date of the run."""
        from datetime import datetime

        from mts_portal.core.clock import MSK

        now = self.now().astimezone(MSK)
        year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
        target = datetime(year, month, 10, 12, 0, tzinfo=MSK)
        r = self.api.post("/api/v1/clock", json={"now": target.isoformat()})
        assert r.status_code == 200, r.text

    def events(self, events: list[dict]) -> list[dict]:
        r = self.api.post("/api/v1/events", json={"events": events})
        assert r.status_code == 200, r.text
        return r.json()["results"]

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


@pytest.fixture(scope="session")
def portal(tmp_path_factory) -> Portal:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh --test installs it)")
    work = tmp_path_factory.mktemp("portal")
    try:
        with portal_server(work) as (url, log_path):
            portal = Portal(url, work / "portal.db", log_path)
            portal.pin_clock()
            yield portal
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        if (work / "server.log").exists():
            (ARTIFACTS / "e2e-server.log").write_text((work / "server.log").read_text(errors="replace"))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 # a journey with two tabs of one browser watches the first while the second is in front:
                 # a background tab's timers and rendering must not be throttled (a live update would
                 # reach its DOM only when Chromium lets it run again)
                 "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                 "--disable-backgrounding-occluded-windows"],
    }


TRACES = ROOT / "reports" / "playwright"


def _traced(request, ctx, name: str):
    """Record a Playwright trace of the context; keep it (reports/playwright/) only when the test failed."""
    ctx.tracing.start(screenshots=True, snapshots=True)
    yield ctx
    try:
        if getattr(request.node, "_failed", False):
            TRACES.mkdir(parents=True, exist_ok=True)
            safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in request.node.name)[:120]
            ctx.tracing.stop(path=str(TRACES / f"{safe}-{name}.zip"))
        else:
            ctx.tracing.stop()
    except Exception:
        pass
    ctx.close()


@pytest.fixture
def phone_context(request, browser):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True,
                              has_touch=True, locale="ru-RU")
    yield from _traced(request, ctx, "phone")


@pytest.fixture
def desktop_context(request, browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="ru-RU")
    yield from _traced(request, ctx, "desktop")


@pytest.fixture(params=["phone", "desktop"])
def any_context(request, browser):
    vp = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1440, "height": 900}}[request.param]
    ctx = browser.new_context(viewport=vp, locale="ru-RU")
    yield from _traced(request, ctx, request.param)


def pytest_runtest_makereport(item, call):
    """On a failure, keep a screenshot of every open page and the server log tail."""
    if call.when != "call" or call.excinfo is None:
        return
    item._failed = True  # the context fixtures keep their Playwright traces
    ARTIFACTS.mkdir(exist_ok=True)
    for name in ("page", "phone_context", "desktop_context", "any_context"):
        obj = item.funcargs.get(name)
        pages = [obj] if name == "page" and obj else (obj.pages if obj else [])
        for i, pg in enumerate(pages):
            try:
                pg.screenshot(path=str(ARTIFACTS / f"{item.name}-{name}-{i}.png"), full_page=True)
            except Exception:
                pass
    portal_obj = item.funcargs.get("portal")
    if portal_obj is not None:
        print("---- server log tail ----\n" + portal_obj.log_tail())
