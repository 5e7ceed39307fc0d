"""Load test of the portal: its subscribers in the browser (the websocket), the app (the HTTP API)
and the network (ingestion), in one mixed profile.

    bash scripts/loadtest.sh smoke|standard|capacity [--host URL]     (reports, gates; see README)
    locust -f loadtests/locustfile.py --headless -u 20 -r 5 -t 60s --host http://127.0.0.1:3000

User classes and their weight (environment; 0 leaves a class out):
- PortalSubscriber (LOAD_WEIGHT_PORTAL, 3): a browser tab over Reflex's websocket
  (loadtests/portal_users.py): real login, live home screen, page walks with real handlers;
- LiveProbe (LOAD_PROBES fixed users, 1): posts usage for watched lines, times event→screen;
- SubscriberApp (LOAD_WEIGHT_APP, 3): the app reading summaries and detail over HTTP;
- IngestionNode (LOAD_WEIGHT_INGEST, 1; or LOAD_INGEST_NODES fixed users): batches of usage.
With LOAD_SHAPE=capacity the number of portal sessions steps up (LOAD_STEPS, LOAD_STEP_S) and each
step's figures are written to LOAD_STEPS_OUT (JSON).

Self-contained: at start it provisions its own lines (7998… for the API users, 7997… for the portal
users) through the operator API. MTS_OPERATOR_TOKEN (default: the demo token), LOAD_LINES (200),
LOAD_BATCH (events per request, 200). Keep it on 127.0.0.1.
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

    weight = int(os.environ.get("LOAD_WEIGHT_INGEST", "1"))
    if os.environ.get("LOAD_INGEST_NODES"):
        fixed_count = int(os.environ["LOAD_INGEST_NODES"])
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

    weight = int(os.environ.get("LOAD_WEIGHT_APP", "3"))
    wait_time = between(0.2, 1.0)

    @task(4)
    def summary(self):
        msisdn = random.choice(LINES)
        self.client.get(f"/api/v1/lines/{msisdn}/summary", headers=AUTH, name="GET /summary")

    @task(1)
    def records(self):
        msisdn = random.choice(LINES)
        self.client.get(f"/api/v1/lines/{msisdn}/records?page_size=20", headers=AUTH, name="GET /records")


# ---------------------------------------------------------------- the portal's own users and the capacity shape

from loadtests.portal_users import LiveProbe, PortalSubscriber  # noqa: E402

if not int(os.environ.get("LOAD_WEIGHT_PORTAL", "3")):
    del PortalSubscriber
if not int(os.environ.get("LOAD_PROBES", "1")):
    del LiveProbe
if not int(os.environ.get("LOAD_WEIGHT_APP", "3")):
    del SubscriberApp
if not int(os.environ.get("LOAD_WEIGHT_INGEST", "1")) and not os.environ.get("LOAD_INGEST_NODES"):
    del IngestionNode

if os.environ.get("LOAD_SHAPE") == "capacity":
    from loadtests.capacity import CapacityShape  # noqa: E402,F401
