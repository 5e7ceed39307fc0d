"""A separate ingesting process for the concurrency test.

python -m tests.integration.ingest_worker DB_URL STREAM_JSON RESULTS_JSON GO_FILE
Waits until GO_FILE exists (so all workers start together), ingests its batches
in order, and writes per-event outcomes. Exits non-zero if anything raised.
DB_URL may be an API node instead (http://127.0.0.1:PORT, operator token in
MTS_OPERATOR_TOKEN): the batches are then posted to its POST /api/v1/events.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from mts_portal.core import charging
from mts_portal.core.db import make_engine


def main(url: str, stream: str, out: str, go: str) -> int:
    batches = json.loads(Path(stream).read_text())
    node = url.startswith("http")
    if node:
        import httpx

        client = httpx.Client(base_url=url, timeout=300,
                              headers={"Authorization": f"Bearer {os.environ['MTS_OPERATOR_TOKEN']}"})
    else:
        engine = make_engine(url)
    while not Path(go).exists():
        time.sleep(0.005)
    outcomes = []
    for now, events in batches:
        if node:
            r = client.post("/api/v1/events", json={"events": events})
            if r.status_code != 200:
                raise SystemExit(f"the node answered {r.status_code}: {r.text[:500]}")
            outcomes.extend((x["event_id"], x["status"], x["charged_kopecks"]) for x in r.json()["results"])
            continue
        results = charging.ingest(engine, events, now=datetime.fromisoformat(now))
        outcomes.extend((r.event_id, r.status, r.charged_kopecks) for r in results)
    Path(out).write_text(json.dumps(outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
