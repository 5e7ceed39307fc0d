"""A short, bounded Locust run (127.0.0.1, 6 users, 20 s) against a UI-less API node:
no request fails and both kinds of users did real work."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_locust_smoke(tmp_path):
    port = _port()
    env = dict(os.environ, MTS_DB_URL=f"sqlite:///{tmp_path / 'load.db'}", MTS_OPERATOR_TOKEN="load-token",
               MTS_SIM_CLOCK="1", MTS_LOG_LEVEL="WARNING", MTS_DATA_DIR=str(tmp_path / "data"))
    api = subprocess.Popen([sys.executable, "-m", "uvicorn", "mts_portal.api:app", "--host", "127.0.0.1",
                            "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env,
                           start_new_session=True)
    try:
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        run = subprocess.run(
            [sys.executable, "-m", "locust", "-f", "loadtests/locustfile.py", "--headless", "-u", "6", "-r", "6",
             "-t", "20s", "--host", f"http://127.0.0.1:{port}", "--csv", str(tmp_path / "run"), "--only-summary",
             "--stop-timeout", "5"],
            cwd=ROOT, env={**env, "LOAD_LINES": "30", "LOAD_BATCH": "100", "LOAD_WEIGHT_PORTAL": "0", "LOAD_PROBES": "0"}, capture_output=True, text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        rows = {r["Name"]: r for r in csv.DictReader(open(tmp_path / "run_stats.csv"))}
        assert int(rows["Aggregated"]["Failure Count"]) == 0
        assert {"POST /events", "GET /summary"} <= set(rows), (sorted(rows), run.stderr[-2000:])
        assert int(rows["POST /events"]["Request Count"]) > 5
        assert int(rows["GET /summary"]["Request Count"]) > 5
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        api.wait(10)
