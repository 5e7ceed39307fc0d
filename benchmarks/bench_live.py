"""Live latency of the home screen: from POST /api/v1/events until the balance AND the
minutes meter change in a browser showing the home screen (no reload).

Scenario 1: one open session, 50 events one after another.
Scenario 2: 50 open sessions of 50 different lines, one event for each in turn.

Starts the real portal (production build, demo mode, SQLite) on 127.0.0.1, logs the
sessions in through the core on the same store and hands their cookies to Chromium.
Prints one JSON line per scenario.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import ROOT, emit

sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e.server import OPERATOR_TOKEN, portal_server  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def login_token(db: Path, msisdn: str) -> str:
    """A real session made through the core (the same code path as the login page)."""
    import re

    from sqlalchemy import select

    from mts_portal.core import auth
    from mts_portal.core.db import make_engine, read, transact
    from mts_portal.core.models import SmsMessage

    eng = make_engine(f"sqlite:///{db}")
    from mts_portal.core.clock import SystemClock

    now = SystemClock().now()
    req = transact(eng, lambda s: auth.request_code(session=s, msisdn=msisdn, purpose="login", client=f"bench-{msisdn}",
                                                     now=now))
    code = read(eng, lambda s: re.search(r"\d{6}", s.exec(select(SmsMessage.text).where(
        SmsMessage.to_msisdn == msisdn).order_by(SmsMessage.id.desc())).scalars().first()).group(0))
    grant = transact(eng, lambda s: auth.login_with_code(session=s, attempt_id=req.attempt_id, msisdn=msisdn,
                                                         code=code, client="bench", now=now))
    token = transact(eng, lambda s: auth.redeem_ticket(session=s, ticket=grant.ticket, client="bench", now=now)).token
    eng.dispose()
    return token


WAIT_JS = """([b, m]) => {
  const bal = document.querySelector('#balance');
  const meter = document.querySelector('.bucket[data-kind="voice"] [id^="bucket-remaining-"]');
  return bal && meter && bal.innerText !== b && meter.innerText !== m;
}"""


def measure(page, api: httpx.Client, msisdn: str, n: int, now_iso: str) -> float:
    b = page.locator("#balance").inner_text()
    m = page.locator('.bucket[data-kind="voice"] [id^="bucket-remaining-"]').first.inner_text()
    t0 = time.perf_counter()
    r = api.post("/api/v1/events", json={"events": [
        {"event_id": f"live-{msisdn}-{n}-v", "msisdn": msisdn, "kind": "voice", "direction": "out",
         "peer": "79031234567", "started_at": now_iso, "duration_s": 60, "zone": "home"},
        {"event_id": f"live-{msisdn}-{n}-s", "msisdn": msisdn, "kind": "sms", "direction": "out",
         "peer": "79031234567", "started_at": now_iso, "zone": "TR"}]})
    r.raise_for_status()
    page.wait_for_function(WAIT_JS, arg=[b, m], timeout=10_000, polling="raf")
    return (time.perf_counter() - t0) * 1000


def stats(samples: list[float]) -> dict:
    s = sorted(samples)
    return {"n": len(s), "p50_ms": round(statistics.median(s)), "p95_ms": round(s[int(len(s) * 0.95) - 1]),
            "max_ms": round(s[-1])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=50)
    ap.add_argument("--sessions", type=int, default=50)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mts_live_"))
    with portal_server(work) as (url, _log), sync_playwright() as p:
        api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, timeout=30)
        lines = []
        for i in range(args.sessions):
            msisdn = f"7997{i:07d}"
            api.post("/api/v1/lines", json={"msisdn": msisdn, "tariff": "smart", "holder_name": f"Live {i}"})
            api.post(f"/api/v1/lines/{msisdn}/topups", json={"amount_kopecks": 1_500_000, "idempotency_key": f"l{i}"})
            lines.append(msisdn)
        now_iso = api.get("/api/v1/health").json()["now"]
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)

        def open_home(msisdn: str):
            ctx = browser.new_context(viewport={"width": 390, "height": 844})
            ctx.add_cookies([{"name": "mts_session", "value": login_token(work / "portal.db", msisdn),
                              "url": url, "httpOnly": True, "secure": True, "sameSite": "Strict"}])
            page = ctx.new_page()
            page.goto(url + "/")
            page.locator("#balance").filter(has_text="₽").wait_for()
            page.locator('.bucket[data-kind="voice"]').first.wait_for()
            return page

        # scenario 1: one session
        page = open_home(lines[0])
        page.wait_for_timeout(500)
        one = [measure(page, api, lines[0], n, now_iso) for n in range(args.events)]
        emit({"bench": "live_latency", "open_sessions": 1, **stats(one)})
        # scenario 2: many sessions of different lines
        pages = [page] + [open_home(m) for m in lines[1:]]
        pages[-1].wait_for_timeout(1000)
        many = [measure(pages[i % len(pages)], api, lines[i % len(pages)], 1000 + i, now_iso)
                for i in range(max(args.events, len(pages)))]
        emit({"bench": "live_latency", "open_sessions": len(pages), **stats(many)})
        browser.close()


if __name__ == "__main__":
    main()
