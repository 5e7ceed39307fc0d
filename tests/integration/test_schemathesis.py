"""The OpenAPI document is the contract: Schemathesis (pinned in the test extras) runs every check it has
against a live API node — on SQLite, and on PostgreSQL when reachable — and must find nothing.

Fixed seed and a bounded number of examples per operation, so a run is repeatable and takes about a minute.
All phases run: the schema's examples, coverage (boundary and negative values of every constraint),
fuzzing, and stateful sequences along the document's links (provision → summary / top up / records /
options / SMS reply; a home contract → its summary / payments / ledger / usage). Left out:
POST /api/v1/scenarios/{name}/runs, which starts a long simulation in a background thread of the node.
docs/SECURITY.md records the figures.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_BASE, _pg_ok

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = 15
MAX_EXAMPLES = 20
TOKEN = "schemathesis-operator-token"
# a scenario run starts a long simulation inside the node
EXCLUDED = r"^/api/v1/scenarios/\{name\}/runs$"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _st() -> str:
    exe = shutil.which("st", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("schemathesis is not installed: bash scripts/setup.sh --test (it is in the test extras)")
    return exe


def _run(db_url: str, tmp_path: Path, label: str) -> dict:
    port = _free_port()
    env = {**os.environ, "MTS_DB_URL": db_url, "MTS_SIM_CLOCK": "1", "MTS_DEMO": "1",
           "MTS_OPERATOR_TOKEN": TOKEN, "MTS_DATA_DIR": str(tmp_path / "data")}
    log = open(tmp_path / "node.log", "wb")  # a file, not a pipe: a full pipe would stall the node
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "mts_portal.api:app", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, (tmp_path / "node.log").read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the API node did not start"
            time.sleep(0.3)
        t0 = time.monotonic()
        cmd = [_st(), "--config-file", str(CONFIG), "run", f"{base}/api/v1/openapi.json",
               "-H", f"Authorization: Bearer {TOKEN}", "--checks", "all", "--seed", str(SEED),
               "--max-examples", str(MAX_EXAMPLES), "--exclude-path-regex", EXCLUDED, "--no-color",
               "--request-timeout", "20"]
        proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=900)
        elapsed = time.monotonic() - t0
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    out = proc.stdout + proc.stderr
    tested = re.search(r"Tested:\s*(\d+)", out)
    cases = re.search(r"(\d+) generated, (\d+) (?:passed|found)", out)
    figures = {"store": label, "seed": SEED, "max_examples": MAX_EXAMPLES,
               "operations": int(tested.group(1)) if tested else None,
               "cases": int(cases.group(1)) if cases else None,
               "failures": 0 if proc.returncode == 0 else "see output", "seconds": round(elapsed, 1)}
    print(json.dumps(figures))
    report = ROOT / "reports"
    report.mkdir(exist_ok=True)
    (report / f"schemathesis-{label}.txt").write_text(out)
    assert proc.returncode == 0, out[-12000:]
    assert figures["operations"] and figures["operations"] >= 15 and figures["cases"] >= 500, out[-3000:]
    return figures


def test_schemathesis_finds_nothing_on_sqlite(tmp_path):
    _run(f"sqlite:///{tmp_path / 'st.db'}", tmp_path, "sqlite")


@pytest.mark.postgres
def test_schemathesis_finds_nothing_on_postgres(tmp_path):
    if not _pg_ok():
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    from sqlalchemy import text

    from mts_portal.core.db import make_engine

    schema = f"mts_st_{os.getpid()}"
    admin = make_engine(PG_BASE)
    with admin.connect() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
        c.commit()
    try:
        _run(f"{PG_BASE}?options=-csearch_path%3D{schema}", tmp_path, "postgres")
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            c.commit()
        admin.dispose()
