"""Every scenario of simulator/scenarios/ runs in fast-forward through the real engine and meets all of
its checked outcomes (`pytest -k scenario`), on SQLite and on PostgreSQL when reachable."""

from __future__ import annotations

import pytest

from mts_portal.core.clock import FrozenClock
from simulator.scenario import (
    ORDER,
    Run,
    ScenarioError,
    all_scenarios,
    evaluate,
    load,
    parse_duration,
)
from tests.conftest import T0


def test_the_six_scenarios_are_there_in_both_languages():
    names = [s.name for s in all_scenarios()]
    assert names[:6] == ORDER
    for sc in all_scenarios():
        assert sc.title_ru and sc.title_en and sc.story_ru and sc.story_en and sc.expect


@pytest.mark.parametrize("name", ORDER)
def test_scenario_meets_its_outcomes(store, name):
    sc = load(name)
    report = Run(sc, store, FrozenClock(T0), speed=0, seed=11).run()
    failed = [(o.text_en, o.expected, o.actual) for o in report.outcomes if not o.met]
    assert report.status == "passed", (report.error, failed, report.timeline[-5:])
    assert len(report.outcomes) == len(sc.expect) and report.subscribers


def test_two_runs_of_a_scenario_never_meet(store):
    a = Run(load("turkey_trip"), store, FrozenClock(T0), seed=1).run()
    b = Run(load("turkey_trip"), store, FrozenClock(T0), seed=2).run()
    assert a.ok and b.ok and set(a.subscribers.values()).isdisjoint(b.subscribers.values())


def test_a_scenario_that_is_not_met_says_so(store, tmp_path):
    text = load("turkey_trip").path.read_text(encoding="utf-8").replace(
        'equals = "start - (24500 + 9800 + 1900 + 45000) - 2 * 35000"', 'equals = "start - 1"')
    path = tmp_path / "wrong.toml"
    path.write_text(text, encoding="utf-8")
    report = Run(load(path), store, FrozenClock(T0), seed=3).run()
    assert report.status == "failed"
    [bad] = [o for o in report.outcomes if not o.met]
    assert bad.check == "balance" and bad.expected != bad.actual


def test_scenario_files_are_checked_for_sense(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('title_ru="x"\ntitle_en="x"\nstory_ru="x"\nstory_en="x"\n[[subscribers]]\nid="a"\n'
                   '[[steps]]\ndo="teleport"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="`do` must be one of"):
        load(bad)
    with pytest.raises(ScenarioError, match="no scenario"):
        load("no_such_story")
    assert parse_duration("1h30m") == 5400 and parse_duration("90s") == 90
    with pytest.raises(ScenarioError):
        parse_duration("soon")
    assert evaluate("start - 5 * 4900", {"start": 100_000}) == 75_500
    with pytest.raises(ScenarioError):
        evaluate("__import__('os')", {})
