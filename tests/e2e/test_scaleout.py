"""The scale-out shape (DESIGN §7): PostgreSQL for the store, Redis for Reflex's state, several
backend workers. Subscribers log in through whichever worker takes their websocket, a rated event
moves every open home screen live, and the scheduler runs in exactly one worker.

Run on its own (`-m scaleout`): it builds and starts a second portal, which must not rebuild the
frontend under the suite's main portal. Skipped when PostgreSQL or Redis is unreachable.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import CHROMIUM, Portal
from tests.e2e.pages.login import LoginPage
from tests.e2e.server import portal_server

pytestmark = [pytest.mark.e2e, pytest.mark.scaleout]
PG_BASE = os.environ.get("MTS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    if not (_reachable(5432) and _reachable(6379)):
        pytest.skip("PostgreSQL at 127.0.0.1:5432 or Redis at 127.0.0.1:6379 is not reachable")
    from mts_portal.core.db import make_engine

    schema = f"mts_scaleout_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_BASE)
    with admin.connect() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
        c.commit()
    work = tmp_path_factory.mktemp("scaleout")
    db = int(uuid.uuid4().int % 8) + 8  # a Redis database of its own (8–15)
    try:
        with portal_server(work, MTS_DB_URL=f"{PG_BASE}?options=-csearch_path%3D{schema}",
                           REFLEX_REDIS_URL=f"redis://127.0.0.1:6379/{db}", MTS_LOG_LEVEL="INFO") as (url, log):
            portal = Portal(url, work / "unused.db", log)
            portal.pin_clock()
            yield portal
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            c.commit()
        admin.dispose()
        try:
            import redis

            redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()
        except Exception:
            pass


def test_several_workers_one_scheduler_live_everywhere(scaled, browser):
    log = scaled.log_path.read_text(errors="replace")
    workers = log.count("portal services up")
    assert workers >= 2, "Reflex with Redis runs several backend workers"
    assert log.count("leads the scheduler") == 1

    msisdn = scaled.line("smart", balance_kopecks=50_000)
    contexts = [browser.new_context(viewport={"width": 390, "height": 844}) for _ in range(4)]
    pages = []
    for ctx in contexts:
        page = ctx.new_page()
        LoginPage(page, scaled.url).login_with_code(msisdn)
        expect(page.locator("#balance")).to_have_text("500,00\u00a0₽")
        pages.append(page)
    started = time.monotonic()
    [r] = scaled.events([{"event_id": f"so-{msisdn}", "msisdn": msisdn, "kind": "voice", "direction": "out",
                          "peer": "79031112233", "started_at": scaled.now().isoformat(), "duration_s": 60,
                          "zone": "russia"}])
    assert (r["status"], r["charged_kopecks"]) == ("rated", 500)
    for page in pages:  # whichever worker holds each tab's websocket
        expect(page.locator("#balance")).to_have_text("495,00\u00a0₽", timeout=5_000)
    assert time.monotonic() - started < 5
    for ctx in contexts:
        ctx.close()
    assert httpx.get(scaled.url + "/api/v1/health", timeout=5).json()["store"] == "postgresql"
