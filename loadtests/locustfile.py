"""Load test of the portal's API (DESIGN §6): ingestion nodes posting batches of usage
events, and subscribers' apps reading summaries and detail.

    locust -f loadtests/locustfile.py --headless -u 20 -r 5 -t 60s \
           --host http://127.0.0.1:3000 --csv out/run

Self-contained: at start it provisions its own lines (7998…) through the operator
API, so it runs against any portal or API node. Settings from the environment:
MTS_OPERATOR_TOKEN (default: the demo token), LOAD_LINES (default 200),
LOAD_BATCH (events per request, default 200). Keep it on 127.0.0.1.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time
from datetime import UTC, datetime, timedelta

from locust import HttpUser, between, events, task

TOKEN = os.environ.get("MTS_OPERATOR_TOKEN", "demo-operator-token")
AUTH = {"Authorization": f"Bearer {TOKEN}"}
N_LINES = int(os.environ.get("LOAD_LINES", "200"))
BATCH = int(os.environ.get("LOAD_BATCH", "200"))
RUN = f"load{int(time.time())}{random.randrange(1000):03d}"
PREFIX = f"7998{random.randrange(100):02d}"

LINES: list[str] = []
CLOCK_OFFSET = timedelta(0)  # the portal's clock minus ours (its clock may be simulated)
_ids = itertools.count(1)
_id_lock = threading.Lock()


def _event_id() -> str:
    with _id_lock:
        return f"{RUN}-{next(_ids)}"


@events.test_start.add_listener
def provision(environment, **_kw):
    """Create the test population once, through the same API the load uses."""
    import httpx

    global CLOCK_OFFSET
    host = environment.host.rstrip("/")
    with httpx.Client(base_url=host, headers=AUTH, timeout=30) as c:
        CLOCK_OFFSET = datetime.fromisoformat(c.get("/api/v1/health").json()["now"]) - datetime.now(UTC)
        for i in range(N_LINES):
            msisdn = f"{PREFIX}{i:05d}"
            r = c.post("/api/v1/lines", json={"msisdn": msisdn, "tariff": random.choice(
                ["minimum", "smart", "tarifische"]), "holder_name": f"Нагрузка {i}"})
            if r.status_code in (201, 409):
                c.post(f"/api/v1/lines/{msisdn}/topups",
                       json={"amount_kopecks": 500_000, "idempotency_key": f"{RUN}-seed-{i}"})
                LINES.append(msisdn)
    if not LINES:
        raise RuntimeError("could not provision any line: check the host and MTS_OPERATOR_TOKEN")


def _event(now: datetime) -> dict:
    kind = random.choice(("voice", "voice", "sms", "data", "data", "data"))
    e = {"event_id": _event_id(), "msisdn": random.choice(LINES), "kind": kind,
         "started_at": (now - timedelta(seconds=random.randrange(1, 3600))).isoformat(),
         "zone": random.choice(("home", "home", "home", "russia", "TR"))}
    if kind == "data":
        e["bytes"] = int(random.lognormvariate(13, 1.5))
    else:
        e["direction"] = random.choice(("out", "in"))
        e["peer"] = f"79{random.randrange(10**9):09d}"
        if kind == "voice":
            e["duration_s"] = int(random.lognormvariate(4.3, 1))
    return e


class IngestionNode(HttpUser):
    """A switch or network element posting usage in batches."""

    weight = 1
    wait_time = between(0.05, 0.2)

    @task
    def post_batch(self):
        now = datetime.now(UTC) + CLOCK_OFFSET
        batch = [_event(now) for _ in range(BATCH)]
        if random.random() < 0.2:  # re-sends happen on real networks
            batch.append(dict(batch[0]))
        with self.client.post("/api/v1/events", json={"events": batch}, headers=AUTH, name="POST /events",
                              catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}: {r.text[:200]}")
            elif len(r.json()["results"]) != len(batch):
                r.failure("one result per event expected")


class SubscriberApp(HttpUser):
    """The app refreshing a subscriber's summary and detail."""

    weight = 3
    wait_time = between(0.2, 1.0)

    @task(4)
    def summary(self):
        msisdn = random.choice(LINES)
        self.client.get(f"/api/v1/lines/{msisdn}/summary", headers=AUTH, name="GET /summary")

    @task(1)
    def records(self):
        msisdn = random.choice(LINES)
        self.client.get(f"/api/v1/lines/{msisdn}/records?page_size=20", headers=AUTH, name="GET /records")
