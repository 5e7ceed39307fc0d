"""Detail for one line with 100,000 records: time to the first page (with the period's
totals), through the core and through GET /api/v1/lines/{msisdn}/records. Prints one
JSON line (median and p95 of 30 runs each)."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from _common import START, emit


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mts_detail_"))
    os.environ["MTS_DB_URL"] = f"sqlite:///{work / 'detail.db'}"
    os.environ["MTS_OPERATOR_TOKEN"] = "bench"
    os.environ["MTS_SIM_CLOCK"] = "1"
    from mts_portal.core import billing, charging, detail
    from mts_portal.core.clock import period_of
    from mts_portal.core.db import get_engine, read, transact
    from mts_portal.core.migrate import migrate

    engine = get_engine()
    migrate(engine)
    msisdn = "79250000001"
    born = START - timedelta(days=1)
    transact(engine, lambda s: billing.provision_line(session=s, msisdn=msisdn, tariff_code="minimum", now=born,
                                                      holder_name="Много Звонков"))
    # 100,000 free incoming calls and SMS spread over the current period, ingested in time order
    span = (START + timedelta(days=7)) - born
    step = span / args.records
    events = []
    for i in range(args.records):
        at = born + step * i + timedelta(seconds=1)
        kind = "voice" if i % 3 else "sms"
        e = {"event_id": f"d{i}", "msisdn": msisdn, "kind": kind, "direction": "in", "peer": f"7903{i % 10**7:07d}",
             "started_at": at.isoformat(), "zone": "home"}
        if kind == "voice":
            e["duration_s"] = 30 + i % 600
        events.append(e)
    t0 = time.perf_counter()
    for i in range(0, len(events), 10_000):
        chunk = events[i:i + 10_000]
        charging.ingest(engine, chunk, now=datetime.fromisoformat(chunk[-1]["started_at"]) + timedelta(minutes=1))
    load_s = time.perf_counter() - t0
    now = START + timedelta(days=7, minutes=1)
    p = period_of(now)

    def core_once():
        return read(engine, lambda s: detail.records_page(session=s, msisdn=msisdn, now=now, start=p.start,
                                                          end=p.end, page_size=30))

    page = core_once()
    assert page.totals.count == args.records, page.totals.count
    core = []
    for _ in range(args.runs):
        t = time.perf_counter()
        core_once()
        core.append((time.perf_counter() - t) * 1000)
    from fastapi.testclient import TestClient

    from mts_portal.api import create_app

    with TestClient(create_app()) as client:
        url = f"/api/v1/lines/{msisdn}/records?from={p.start.isoformat()}&to={p.end.isoformat()}&page_size=30"
        url = url.replace("+", "%2B")
        assert client.get(url, headers={"Authorization": "Bearer bench"}).status_code == 200
        api = []
        for _ in range(args.runs):
            t = time.perf_counter()
            r = client.get(url, headers={"Authorization": "Bearer bench"})
            api.append((time.perf_counter() - t) * 1000)
            assert r.json()["totals"]["count"] == args.records
        nxt = client.get(url + "&cursor=" + r.json()["next_cursor"], headers={"Authorization": "Bearer bench"})
        assert len(nxt.json()["records"]) == 30

    def q(xs, f):
        xs = sorted(xs)
        return round(xs[min(len(xs) - 1, int(len(xs) * f))], 1)

    emit({"bench": "detail_first_page", "records": args.records, "page_size": 30, "runs": args.runs,
          "core_ms_median": round(statistics.median(core), 1), "core_ms_p95": q(core, 0.95),
          "api_ms_median": round(statistics.median(api), 1), "api_ms_p95": q(api, 0.95),
          "load_seconds": round(load_s, 1), "cores": 1})


if __name__ == "__main__":
    main()
