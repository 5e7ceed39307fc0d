"""Crash safety: kill -9 the ingesting process at random points (at least 10 times),
replay the whole stream each time, then compare with a clean run: identical
balances, ledgers, bundles and usage records, and SQLite's integrity_check ok."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from mts_portal.core.db import make_engine
from tests.integration.conftest import write_stream

ROOT = Path(__file__).resolve().parents[2]
KILLS = 12

pytestmark = pytest.mark.slow


def replay_cmd(url: str, stream: Path) -> list[str]:
    return [sys.executable, "-m", "simulator", "--db", url, "-q", "run", "--replay", str(stream), "--batch", "150"]


def committed(url: str) -> int:
    eng = make_engine(url)
    with eng.connect() as c:
        n = c.execute(text("SELECT count(*) FROM usage_records")).scalar_one()
    eng.dispose()
    return n


def snapshot(url: str) -> dict:
    eng = make_engine(url)
    with eng.connect() as c:
        q = lambda sql: [tuple(r) for r in c.execute(text(sql))]  # noqa: E731
        out = {
            "lines": q("SELECT msisdn, balance_kopecks, bonus_points, charged_total_kopecks, status, fees_owed_kopecks, "
                       "nbg_free_minutes_used, version, period_end FROM lines ORDER BY msisdn"),
            "ledger": q("SELECT l.msisdn, e.amount_kopecks, e.kind, e.cause_ref, e.balance_after, e.created_at "
                        "FROM ledger_entries e JOIN lines l ON l.id = e.line_id ORDER BY e.id"),
            "buckets": q("SELECT l.msisdn, b.kind, b.total, b.used, b.valid_from, b.valid_until, b.source "
                         "FROM buckets b JOIN lines l ON l.id = b.line_id ORDER BY b.id"),
            "usage": q("SELECT event_id, status, charged_kopecks, units, paid_by, drawn, explanation "
                       "FROM usage_records ORDER BY id"),
            "fees": q("SELECT line_id, code, day, amount_kopecks FROM daily_fee_charges ORDER BY id"),
            "bonus": q("SELECT line_id, points, cause_ref FROM bonus_entries ORDER BY id"),
            "integrity": q("PRAGMA integrity_check"),
        }
    eng.dispose()
    return out


def test_kill_9_and_replay_equals_a_clean_run(fresh_population, tmp_path):
    clean_url = fresh_population("clean")
    crash_url = fresh_population("crash")
    stream = tmp_path / "stream.jsonl"
    n = write_stream(clean_url, stream)
    assert n > 5000

    t0 = time.monotonic()
    subprocess.run(replay_cmd(clean_url, stream), cwd=ROOT, check=True, capture_output=True)
    clean_seconds = time.monotonic() - t0

    total = len(snapshot(clean_url)["usage"])
    rng = random.Random(2026)
    # twelve kill points spread over the stream: each run is killed as soon as the committed count passes
    # a random point inside what is still uncommitted
    progress: list[int] = []
    for _ in range(KILLS):
        done = committed(crash_url)
        threshold = done + 1 + rng.uniform(0.05, 0.3) * (total - done)
        proc = subprocess.Popen(replay_cmd(crash_url, stream), cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + clean_seconds * 3 + 10
        while proc.poll() is None and committed(crash_url) < threshold and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.001, 0.02))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            progress.append(committed(crash_url))
        proc.wait()
    print("records committed at each kill:", progress, "of", total)
    assert len(progress) >= 10, f"only {len(progress)} kills landed before the replay finished"
    assert len({p for p in progress if 0 < p < total}) >= 10  # mid-stream, at distinct points
    final = subprocess.run(replay_cmd(crash_url, stream), cwd=ROOT, check=True, capture_output=True, text=True)
    assert '"rated"' in final.stdout

    clean, crashed = snapshot(clean_url), snapshot(crash_url)
    assert crashed["integrity"] == [("ok",)]
    for key in ("lines", "ledger", "buckets", "usage", "fees", "bonus"):
        assert crashed[key] == clean[key], f"{key} differs after {len(progress)} kill -9 and replays"
    assert len(clean["usage"]) > 5000 and any(r[2] == "fee" for r in clean["ledger"])  # crossed a rollover
