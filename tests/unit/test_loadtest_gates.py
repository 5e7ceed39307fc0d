"""The load run's gate (loadtests/run.py): a breached summary fails, each threshold by itself, and a
run that measured nothing does not pass."""

from __future__ import annotations

from loadtests.run import evaluate, is_handler, server_errors, summarize


def stats(handler_p95=120.0, e2s_p95=400.0, failures=0, count=1000):
    return {
        "MoneyState.review_top_up": {"type": "WS", "count": 50, "failures": 0, "p50_ms": 40.0, "p95_ms": handler_p95,
                                     "p99_ms": handler_p95, "max_ms": handler_p95},
        "page /money": {"type": "WS", "count": 50, "failures": 0, "p50_ms": 30.0, "p95_ms": 90.0, "p99_ms": 95.0,
                        "max_ms": 99.0},
        "event→screen": {"type": "WS", "count": 20, "failures": 0, "p50_ms": 100.0, "p95_ms": e2s_p95,
                         "p99_ms": e2s_p95, "max_ms": e2s_p95},
        "login (code) → home": {"type": "WS", "count": 20, "failures": 0, "p50_ms": 900.0, "p95_ms": 2500.0,
                                "p99_ms": 2600.0, "max_ms": 2700.0},
        "Aggregated": {"type": "", "count": count, "failures": failures, "p50_ms": 40.0, "p95_ms": 900.0,
                       "p99_ms": 1000.0, "max_ms": 2700.0},
    }


def test_a_clean_run_passes_and_logins_are_not_handlers():
    assert evaluate(summarize(stats(), "INFO all good\n")) == []
    assert is_handler("DetailState.set_preset") and is_handler("page /") and not is_handler("login (code) → home")


def test_each_breached_threshold_fails_the_run():
    assert "handler p95 450 ms > 300 ms" in evaluate(summarize(stats(handler_p95=450.0), ""))[0]
    pooled = {"handlers": [50.0] * 90 + [400.0] * 10, "e2s": [100.0]}
    assert "handler p95 400 ms" in evaluate(summarize(stats(), "", pooled))[0]
    assert evaluate(summarize(stats(handler_p95=900.0), "", {"handlers": [50.0] * 99 + [900.0], "e2s": [90.0]})) == []
    assert "event→screen p95 1500 ms" in evaluate(summarize(stats(e2s_p95=1500.0), ""))[0]
    assert "failures 0.20 %" in evaluate(summarize(stats(failures=2), ""))[0]
    log = "2026-12-03 10:00:00 ERROR mts_portal.ui: boom\nTraceback (most recent call last):\n"
    assert evaluate(summarize(stats(), log)) == ["2 server errors in the portal's log"]
    assert len(server_errors(log)) == 2


def test_a_run_that_measured_nothing_fails():
    empty = {"Aggregated": {"type": "", "count": 0, "failures": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None,
                            "max_ms": None}}
    assert len(evaluate(summarize(empty, ""))) == 3


def test_the_warm_up_is_reported_but_not_gated_unless_it_is_all_there_is():
    """Round trips taken while sessions were still logging in are the warm-up: a slow burst of logins
    does not fail the steady state, but a steady state that breaches does, and a run that never left
    its warm-up is judged on what it measured."""
    steady, slow = [50.0] * 100, [900.0] * 100
    s = summarize(stats(), "", {"handlers": steady, "e2s": [90.0], "warmup_handlers": slow, "warmup_e2s": []})
    assert evaluate(s) == []
    assert s["gates_measured"]["warmup_handler_p95_ms"] == 900.0
    assert s["gates_measured"]["warmup_handler_samples"] == 100
    s = summarize(stats(), "", {"handlers": slow, "e2s": [90.0], "warmup_handlers": steady, "warmup_e2s": []})
    assert "handler p95 900 ms" in evaluate(s)[0]
    s = summarize(stats(), "", {"handlers": [], "e2s": [], "warmup_handlers": slow, "warmup_e2s": [90.0]})
    assert "handler p95 900 ms" in evaluate(s)[0]


def test_the_capacity_run_stops_after_the_first_breached_step():
    """The capacity shape holds each step, judges it by the same gates, and stops once a step breached
    them (the larger steps would only confirm it). Run in a child process: importing locust patches the
    standard library with gevent, which must not leak into this test process."""
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    code = textwrap.dedent('''
        import os, time
        os.environ.update(LOAD_STEPS="10,20,40", LOAD_STEP_S="0", LOAD_PROBES="1", LOAD_INGEST_NODES="0",
                          LOAD_STEPS_OUT=os.devnull)
        from loadtests import capacity as cap

        class Env: runner = None
        class Runner: environment = Env()
        shape = cap.CapacityShape(); shape.runner = Runner()
        cap._open_sessions = lambda env: 10**6  # every step's sessions are open at once
        cap.SETTLE_S = 0

        def hold(i, handler_ms, failures=0):
            assert shape.tick() is not None          # ramp -> settle
            assert shape.tick() is not None          # settle -> hold (recording)
            for _ in range(100):
                cap.RECORDER.add("MoneyState.review_top_up", handler_ms, None)
            for _ in range(failures):
                cap.RECORDER.add("page /money", 5.0, RuntimeError("boom"))
            return shape.tick()                      # hold ends: next step, or None to stop

        assert hold(0, 50.0) == (20 + 1, cap.SPAWN_RATE), "a good step moves on to the next"
        assert cap.RECORDER.meets_gates(0)
        assert hold(1, 900.0) is None, "a breached step ends the run"
        assert not cap.RECORDER.meets_gates(1)
        assert 2 not in cap.RECORDER.data
        assert not cap.RECORDER.meets_gates(5)
        print("ok")
    ''')
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "PYTHONPATH": str(root)})
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]
