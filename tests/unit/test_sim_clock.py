"""The simulated clock of demo and test deployments: moves forward only, pauses, runs fast, and every
process of a deployment (each with its own SimulatedClock on the same store) agrees on it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from mts_portal.core.clock import ClockSetting
from mts_portal.core.runtime import store_clock


def test_a_setting_is_continuous_across_changes():
    s = ClockSetting(offset=100.0)
    assert s.at(1000.0) == 1100.0
    fast = s.with_speed(60, wall=1000.0)
    assert fast.at(1000.0) == pytest.approx(1100.0)
    assert fast.at(1001.0) == pytest.approx(1160.0)
    paused = fast.with_speed(0, wall=1001.0)
    assert paused.at(5000.0) == pytest.approx(1160.0)
    moved = paused.moved_to(9000.0, wall=5000.0)
    assert moved.at(5000.0) == 9000.0 and moved.speed == 0


def test_two_processes_agree_and_the_clock_never_goes_back(store):
    a, b = store_clock(store, refresh_s=0.0), store_clock(store, refresh_s=0.0)
    target = datetime.now(UTC) + timedelta(days=3)
    a.move_to(target)
    assert abs((b.now() - target).total_seconds()) < 2
    with pytest.raises(ValueError, match="only moves forward"):
        b.move_to(target - timedelta(hours=1))
    assert abs((a.now() - target).total_seconds()) < 2


def test_pause_and_fast_forward(store):
    a, b = store_clock(store, refresh_s=0.0), store_clock(store, refresh_s=0.0)
    a.set_speed(0)
    frozen = b.now()
    time.sleep(0.05)
    assert b.now() == frozen and b.speed == 0
    a.set_speed(3600)
    t0 = b.now()
    time.sleep(0.2)
    gained = (b.now() - t0).total_seconds()
    assert 600 <= gained <= 3600, gained  # 0.2 s of wall time is 12 minutes at ×3600
    a.set_speed(1)
    assert b.speed == 1 and b.now() >= t0
    with pytest.raises(ValueError):
        a.set_speed(-1)
    with pytest.raises(ValueError):
        a.set_speed(float("nan"))


def test_the_control_rooms_moves_and_speed_leave_sessions_alone_the_test_api_does_not(store):
    """A presenter jumping to the end of the month (or running ×3600) must not log the audience out; the
    test API's move (POST /api/v1/clock) still ages sessions, as the idle-logout tests need."""
    a = store_clock(store, refresh_s=0.0)
    before = a.session_now()
    a.move_to(a.now() + timedelta(days=5))
    a.set_speed(3600)
    assert abs((a.session_now() - before).total_seconds()) < 2
    a.set_speed(1)
    a.move_to(a.now() + timedelta(minutes=21), sessions_too=True)
    assert 21 * 60 - 2 < (a.session_now() - before).total_seconds() < 21 * 60 + 60
