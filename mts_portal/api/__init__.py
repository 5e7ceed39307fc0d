"""HTTP API (DESIGN §6): FastAPI over the core, no logic of its own.

`mts_portal.api:app` is mounted into the Reflex backend (rx.App(api_transformer=app))
and can be served alone: `uvicorn mts_portal.api:app` (a UI-less ingestion node).
On start it migrates the store named by MTS_DB_URL.
"""

from mts_portal.api.app import app, create_app

__all__ = ["app", "create_app"]
