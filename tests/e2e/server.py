"""Start and stop the real portal (production mode) for browser tests and live benchmarks."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
OPERATOR_TOKEN = "e2e-operator-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def portal_server(work: Path, **env_extra: str) -> Iterator[tuple[str, Path]]:
    """Yields (base URL, log path) of a demo-mode portal on a fresh SQLite store in `work`."""
    port = free_port()
    log_path = work / "server.log"
    env = dict(os.environ)
    env.update({
        "MTS_DB_URL": f"sqlite:///{work / 'portal.db'}",
        "MTS_DATA_DIR": str(work / "data"),
        "MTS_DEMO": "1",
        "MTS_OPERATOR_TOKEN": OPERATOR_TOKEN,
        "MTS_SECRET_KEY": "e2e-secret",
        "MTS_SMS_PER_CLIENT_PER_HOUR": "100000",
        "MTS_SCHEDULER_INTERVAL_S": "1",
        "MTS_LIVE_POLL_INTERVAL_S": "0.1",
        "MTS_TAB_GRACE_S": "6",  # closed tabs are given back quickly (test_tab_leak); a reload reconnects in < 1 s
        "MTS_DEMO_TRAFFIC": "0",
        "MTS_DEMO_FOCUS": "0",  # no random traffic for the lines the tests look at
        "MTS_LOG_LEVEL": "WARNING",
        "REFLEX_FRONTEND_PORT": str(port),
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "NPM_CONFIG_REGISTRY": env.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org"),
        "PATH": f"{ROOT / 'tools/node_modules/.bin'}:{Path(sys.executable).parent}:{env['PATH']}",
        **env_extra,
    })
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "reflex"), "run", "--env", "prod", "--backend-host", "127.0.0.1",
         "--frontend-port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"portal exited ({proc.returncode}):\n{log_path.read_text()[-4000:]}")
            try:
                if httpx.get(url + "/api/v1/health", timeout=2).status_code == 200 and \
                        httpx.get(url + "/login", timeout=5, follow_redirects=True).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise TimeoutError(f"portal did not start:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.5)
        yield url, log_path
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()
