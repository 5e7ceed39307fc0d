"""One leader per store among the processes of a deployment (scheduler, demo traffic)."""

from __future__ import annotations

import multiprocessing

from mts_portal.core.db import make_engine
from mts_portal.core.leader import Leadership


def _try_in_other_process(url: str, out) -> None:
    eng = make_engine(url)
    out.put(Leadership(eng).try_lead())
    eng.dispose()


def _other_process_leads(url: str) -> bool:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    p = ctx.Process(target=_try_in_other_process, args=(url, out))
    p.start()
    p.join(60)
    return out.get(timeout=5)


def test_one_leader_and_a_new_one_when_it_goes(store):
    url = store.url.render_as_string(hide_password=False)
    first = Leadership(store)
    assert first.try_lead() and first.try_lead()  # a leader stays leader
    assert not _other_process_leads(url)  # another process of the deployment does not lead
    first.release()
    assert _other_process_leads(url)  # once the leader is gone, someone else takes over (and exits)
    assert first.try_lead()
    first.release()
