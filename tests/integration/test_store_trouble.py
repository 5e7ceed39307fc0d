"""A store in trouble is an answer, not a crash, and the node comes back by itself.

- Disk full: the store lives on a small tmpfs that a filler file fills up; write routes answer 503
  `store_unavailable` with Retry-After (never a bare 500), /health says the store is not writable, what was
  acknowledged stays, and once the filler is gone writes work again within seconds, without a restart.
- Read-only: an API node running as an unprivileged user (root ignores file modes) whose store files are
  made read-only: SQLite then opens new connections read-only, and they stay so after the files are
  writable again — the node must drop them. Writes answer 503 meanwhile; afterwards every write works.
Both need root (mount, setpriv) and are skipped otherwise.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.diskfill import fill

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "trouble-operator-token"
OP = {"Authorization": f"Bearer {TOKEN}"}

pytestmark = pytest.mark.slow


def _root_or_skip() -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root (tmpfs mounts, an unprivileged node via setpriv)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """`uvicorn mts_portal.api:app` on a store at `db`, as `user` (None: as this process's user)."""

    def __init__(self, db: Path, data: Path, user: int | None = None):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "MTS_DB_URL": f"sqlite:///{db}", "MTS_SIM_CLOCK": "1", "MTS_OPERATOR_TOKEN": TOKEN,
               "MTS_DATA_DIR": str(data), "MTS_SECRET_KEY": "trouble", "HOME": str(data),
               "PYTHONDONTWRITEBYTECODE": "1"}
        cmd = [sys.executable, "-m", "uvicorn", "mts_portal.api:app", "--host", "127.0.0.1", "--port", str(self.port)]
        if user is not None:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
        self.log = data / "node.log"  # a file, not a pipe: a full pipe would stall the node
        data.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([*cmd, "--no-access-log"], cwd=ROOT, env=env, stdout=out,
                                         stderr=subprocess.STDOUT)
        self.client = httpx.Client(base_url=self.base, timeout=30)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.client.get("/api/v1/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(self.log.read_text(errors="replace")[-4000:])
            time.sleep(0.3)

    def open_files(self) -> dict[str, int]:
        """The node's open files by name (store connections, for a failure's message)."""
        counts: dict[str, int] = {}
        for fd in Path(f"/proc/{self.proc.pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            counts[Path(target).name] = counts.get(Path(target).name, 0) + 1
        return {k: v for k, v in counts.items() if "store" in k}

    def stop(self) -> str:
        self.client.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.log.read_text(errors="replace")


def _topup(node: Node, key: str, amount: int = 100) -> httpx.Response:
    return node.client.post("/api/v1/lines/79161112233/topups", json={"amount_kopecks": amount, "idempotency_key": key},
                            headers=OP)


def _balance(node: Node) -> int:
    return node.client.get("/api/v1/lines/79161112233/summary", headers=OP).json()["balance_kopecks"]


def _assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, (r.status_code, r.text)
    body = r.json()
    assert body["error"] == "store_unavailable" and body["reason"] and body["reason_ru"]
    assert int(r.headers["retry-after"]) > 0


def _recovers(node: Node, prefix: str, within_s: float = 10.0) -> float:
    """Seconds until a write works again; then 20 writes in a row must all work (no broken connection left)."""
    t0 = time.monotonic()
    i = 0
    reasons: list[str] = []
    while True:
        r = _topup(node, f"{prefix}-{i}")
        i += 1
        if r.status_code == 200:
            break
        _assert_unavailable(r)
        reasons.append(r.json()["reason"])
        assert time.monotonic() - t0 < within_s, (
            f"writes did not come back within {within_s} s; refused {len(reasons)} times: {sorted(set(reasons))}; "
            f"node log:\n{node.log.read_text(errors='replace')[-3000:]}\nopen files: {node.open_files()}")
        time.sleep(0.5)
    took = time.monotonic() - t0
    with cf.ThreadPoolExecutor(8) as pool:  # in parallel, so every pooled connection is used
        statuses = list(pool.map(lambda k: _topup(node, f"{prefix}-after-{k}").status_code, range(20)))
    assert statuses == [200] * 20, statuses
    # /health is back once the last refusal is older than the failure memory (10 s; successes meanwhile are no
    # proof: a full disk takes small writes while it refuses big ones) and the probe (every 2 s) agrees
    deadline = time.monotonic() + 15
    while True:
        health = node.client.get("/api/v1/health")
        if health.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert health.status_code == 200 and health.json()["store_writable"] is True
    return took


def _store_copy(sqlite_template: Path, directory: Path) -> Path:
    db = directory / "store.db"
    shutil.copy(sqlite_template, db)
    return db


def test_a_full_disk_is_503_with_retry_after_and_writes_come_back_when_space_does(sqlite_template, tmp_path):
    _root_or_skip()
    disk = Path(tempfile.mkdtemp(prefix="mts_disk_"))
    size_mb = max(8, sqlite_template.stat().st_size // 1_000_000 + 6)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(disk)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    node = None
    try:
        db = _store_copy(sqlite_template, disk)
        node = Node(db, tmp_path / "data")
        r = node.client.post("/api/v1/lines", json={"msisdn": "79161112233", "tariff": "minimum"}, headers=OP)
        assert r.status_code == 201, r.text
        assert _topup(node, "before").status_code == 200
        acknowledged = _balance(node)

        filler = fill(disk)
        # writes that need space are refused with 503 (the WAL must grow sooner or later), none is a bare 500;
        # what was acknowledged is kept, and a refused write changed nothing (the balance adds up at the end)
        credited = acknowledged
        seen_503 = False
        for i in range(400):
            r = _topup(node, f"full-{i}", amount=100 + i)
            assert r.status_code in (200, 503), (r.status_code, r.text)
            if r.status_code == 200:
                credited += 100 + i
            else:
                _assert_unavailable(r)
                seen_503 = True
                break
        assert seen_503, "a full disk never refused a write"
        health = node.client.get("/api/v1/health")
        assert health.status_code == 503 and health.json()["store_writable"] is False
        assert health.json()["store_reason"]
        assert _balance(node) == credited  # reads still work on a full disk
        for i in range(20):  # while the disk stays full: 200 or 503, never anything else
            r = _topup(node, f"still-full-{i}", amount=1000 + i)
            assert r.status_code in (200, 503), (r.status_code, r.text)
            credited += (1000 + i) if r.status_code == 200 else 0

        filler.unlink()
        took = _recovers(node, "after-full")
        assert took < 10
        assert _balance(node) == credited + 100 * 21  # _recovers' 21 top-ups of 1 ₽
    finally:
        if node:
            node.stop()
        subprocess.run(["umount", "-l", str(disk)])
        shutil.rmtree(disk, ignore_errors=True)


def test_a_read_only_store_is_503_and_no_pooled_connection_stays_read_only(sqlite_template, tmp_path):
    _root_or_skip()
    nobody = 65534
    home = Path(tempfile.mkdtemp(prefix="mts_ro_"))
    node = None
    try:
        store = home / "store"
        store.mkdir()
        data = home / "data"
        data.mkdir()
        db = _store_copy(sqlite_template, store)
        for p in (home, store, data, db):
            os.chown(p, nobody, nobody)
        node = Node(db, data, user=nobody)
        r = node.client.post("/api/v1/lines", json={"msisdn": "79161112233", "tariff": "minimum"}, headers=OP)
        assert r.status_code == 201, r.text
        files = [store, *store.iterdir()]

        for p in files:  # read-only: new connections open read-only (those open keep their descriptors)
            p.chmod(0o555 if p.is_dir() else 0o444)
        with cf.ThreadPoolExecutor(16) as pool:  # parallel requests make the pool open new connections
            answers = list(pool.map(lambda k: _topup(node, f"ro-{k}"), range(48)))
        statuses = [a.status_code for a in answers]
        assert set(statuses) <= {200, 503}, [(a.status_code, a.text) for a in answers if a.status_code not in (200, 503)]
        for a in answers:
            if a.status_code == 503:
                _assert_unavailable(a)
        # once a write met the read-only store, the pool was dropped: new connections are all read-only now
        _assert_unavailable(_topup(node, "ro-last"))
        time.sleep(2.1)
        health = node.client.get("/api/v1/health")
        assert health.status_code == 503 and health.json()["store_writable"] is False

        for p in files:
            p.chmod(0o755 if p.is_dir() else 0o644)
        took = _recovers(node, "after-ro")
        assert took < 10
    finally:
        if node:
            node.stop()
        shutil.rmtree(home, ignore_errors=True)
