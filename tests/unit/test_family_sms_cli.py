"""`python -m simulator sms` in local mode: an answer for every sender, never a traceback."""

from __future__ import annotations

import json
from datetime import timedelta

from mts_portal.core import family, runtime
from mts_portal.core.clock import FrozenClock
from mts_portal.core.db import transact
from simulator.cli import main
from tests.conftest import T0
from tests.helpers import line_state, make_line
from tests.unit.test_access_matrix import session_for

OWNER, MEMBER = "79310000000", "79310000001"


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_cli_sms_joins_with_a_plus_seven_sender_and_refuses_clearly(sqlite_store, monkeypatch, capsys):
    monkeypatch.setattr(runtime, "now", FrozenClock(T0 + timedelta(minutes=1)).now)
    make_line(sqlite_store, OWNER, "my_mts", balance=300_000, now=T0 - timedelta(days=1))
    make_line(sqlite_store, MEMBER, "smart", balance=50_000, now=T0 - timedelta(days=1))
    _, info = session_for(sqlite_store, OWNER)
    transact(sqlite_store, lambda s: family.invite(s, info, OWNER, MEMBER, T0))
    url = _url(sqlite_store)

    assert main(["--db", url, "sms", "--from", "+7 931 000-00-07", "--text", "Да"]) == 1  # not a number of ours
    err = json.loads(capsys.readouterr().err)
    assert err["error"] == "not_found" and err["reason_ru"] == "Номер не найден"
    assert main(["--db", url, "sms", "--from", "12345", "--text", "Да"]) == 1
    assert json.loads(capsys.readouterr().err)["error"] == "invalid"

    assert main(["--db", url, "sms", "--from", "+7 931 000-00-01", "--text", "Да!"]) == 0
    assert json.loads(capsys.readouterr().out) == {"result": "accepted"}
    assert line_state(sqlite_store, MEMBER).tariff_code == "my_mts_member"
