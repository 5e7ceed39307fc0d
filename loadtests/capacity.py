"""The capacity profile: portal sessions step up (LOAD_STEPS, e.g. 50,100,200,400,800) while ingestion
and the event→screen probe run; each step is held LOAD_STEP_S seconds once its sessions are open, and
its figures (from the requests of that hold only) are written to LOAD_STEPS_OUT as JSON: sessions
open, handler p50/p95, event→screen p50/p95, connects and their p95, failures, and the wall-clock
window (the runner adds the backend's CPU and RSS over that window)."""

from __future__ import annotations

import json
import os
import threading
import time

from locust import LoadTestShape, events

STEPS = [int(x) for x in os.environ.get("LOAD_STEPS", "50,100,200,400,800").split(",") if x.strip()]
HOLD_S = float(os.environ.get("LOAD_STEP_S", "60"))
SPAWN_RATE = float(os.environ.get("LOAD_SPAWN_RATE", "10"))
SETTLE_S = 10.0  # after a step's sessions are open, before its figures count
OUT = os.environ.get("LOAD_STEPS_OUT", "reports/steps.json")
FIXED = int(os.environ.get("LOAD_PROBES", "1")) + int(os.environ.get("LOAD_INGEST_NODES", "0") or 0)
MAX_RAMP_S = float(os.environ.get("LOAD_MAX_RAMP_S", "240"))
# stop after this many steps in a row that breach the gates (0: run every step); the steps above a breached
# one only confirm it and cost the machine minutes
STOP_AFTER_BREACHES = int(os.environ.get("LOAD_STOP_AFTER_BREACHES", "1"))
GATE_HANDLER_P95_MS, GATE_E2S_P95_MS, GATE_FAILURE_RATIO = 300.0, 1000.0, 0.001


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(q * (len(s) - 1))))], 1)


class _Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.step: int | None = None  # the step whose hold is running (figures count)
        self.data: dict[int, dict] = {}

    def begin(self, i: int) -> None:
        with self.lock:
            self.step = i
            self.data[i] = {"sessions_target": STEPS[i], "start": time.time(), "handlers": [], "e2s": [],
                            "connects": [], "requests": 0, "failures": 0, "failure_samples": []}

    def end(self, sessions_open: int) -> None:
        with self.lock:
            if self.step is not None:
                d = self.data[self.step]
                d["end"] = time.time()
                d["sessions_open"] = sessions_open
            self.step = None

    def add(self, name: str, ms: float, exc) -> None:
        with self.lock:
            if self.step is None:
                return
            d = self.data[self.step]
            d["requests"] += 1
            if exc is not None:
                d["failures"] += 1
                if len(d["failure_samples"]) < 5:
                    d["failure_samples"].append(f"{name}: {exc}"[:200])
                return
            if name == "event→screen":
                d["e2s"].append(ms)
            elif name.startswith("login") or name.startswith("connect"):
                d["connects"].append(ms)
            elif "." in name or name.startswith("page "):
                d["handlers"].append(ms)

    def meets_gates(self, i: int) -> bool:
        """Whether step i's hold met the gates (the same rule as the runner's summary)."""
        with self.lock:
            d = self.data.get(i)
            if d is None:
                return False
            h, e = _pct(d["handlers"], 0.95), _pct(d["e2s"], 0.95)
            return (h is not None and h <= GATE_HANDLER_P95_MS and (e is None or e <= GATE_E2S_P95_MS)
                    and d["failures"] <= max(1, GATE_FAILURE_RATIO * d["requests"]))

    def write(self) -> None:
        rows = []
        with self.lock:
            for i, d in sorted(self.data.items()):
                rows.append({
                    "step": i, "sessions_target": d["sessions_target"], "sessions_open": d.get("sessions_open"),
                    "start": d["start"], "end": d.get("end", time.time()), "requests": d["requests"],
                    "failures": d["failures"], "failure_samples": d["failure_samples"],
                    "handler_n": len(d["handlers"]), "handler_p50_ms": _pct(d["handlers"], 0.5),
                    "handler_p95_ms": _pct(d["handlers"], 0.95), "e2s_n": len(d["e2s"]),
                    "e2s_p50_ms": _pct(d["e2s"], 0.5), "e2s_p95_ms": _pct(d["e2s"], 0.95),
                    "connect_n": len(d["connects"]), "connect_p95_ms": _pct(d["connects"], 0.95),
                })
        os.makedirs(os.path.dirname(OUT) or ".", exist_ok=True)
        with open(OUT, "w") as f:
            json.dump(rows, f, indent=1)


RECORDER = _Recorder()


@events.request.add_listener
def _on_request(name, response_time, exception, **_kw):
    RECORDER.add(name, response_time, exception)


@events.test_stop.add_listener
def _on_stop(environment, **_kw):
    RECORDER.end(_open_sessions(environment))
    RECORDER.write()


def _open_sessions(environment) -> int:
    runner = environment.runner
    if runner is None:
        return 0
    n = 0
    for greenlet in list(getattr(runner, "user_greenlets", [])):
        user = getattr(greenlet, "args", [None])[0] if getattr(greenlet, "args", None) else None
        if getattr(user, "tab", None) is not None and not user.tab.disconnected:
            n += 1
    return n


class CapacityShape(LoadTestShape):
    """Step the portal sessions up; hold each step once its sessions are open."""

    def __init__(self):
        super().__init__()
        self.i = 0
        self.phase = "ramp"
        self.phase_at = None
        self.breaches_in_a_row = 0

    def tick(self):
        now = time.monotonic()
        if self.phase_at is None:
            self.phase_at = now
        if self.i >= len(STEPS):
            return None
        target = STEPS[self.i] + FIXED
        if self.phase == "ramp":
            opened = _open_sessions(self.runner.environment)
            if opened >= STEPS[self.i] * 0.98 or now - self.phase_at > MAX_RAMP_S:
                self.phase, self.phase_at = "settle", now
        elif self.phase == "settle" and now - self.phase_at >= SETTLE_S:
            RECORDER.begin(self.i)
            self.phase, self.phase_at = "hold", now
        elif self.phase == "hold" and now - self.phase_at >= HOLD_S:
            RECORDER.end(_open_sessions(self.runner.environment))
            RECORDER.write()
            self.breaches_in_a_row = 0 if RECORDER.meets_gates(self.i) else self.breaches_in_a_row + 1
            if STOP_AFTER_BREACHES and self.breaches_in_a_row >= STOP_AFTER_BREACHES:
                return None  # the largest good step is known
            self.i += 1
            self.phase, self.phase_at = "ramp", now
            if self.i >= len(STEPS):
                return None
            target = STEPS[self.i] + FIXED
        return target, SPAWN_RATE
