"""Reflex configuration. Every setting can be overridden by the environment
(REFLEX_<FIELD>, e.g. REFLEX_REDIS_URL for the scale-out shape).

The store is NOT configured here: it is MTS_DB_URL (mts_portal/core/settings.py),
migrated by our own alembic. Setting Reflex's db_url would make `reflex run`
compare the store with Reflex's own models.
"""

import os

import reflex as rx

# the port comes from `--frontend-port`; the scripts also export it so CORS knows our origin
_port = os.environ.get("REFLEX_FRONTEND_PORT", "3000")

config = rx.Config(
    app_name="mts_portal",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    backend_host="127.0.0.1",
    # only our own origin may open the websocket or call the API with credentials
    cors_allowed_origins=[f"http://127.0.0.1:{_port}", f"http://localhost:{_port}"],
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color="red", gray_color="slate", radius="large", appearance="light")
        ),
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
    # Per-tab state: in memory on the one-process shape (Reflex runs a single backend worker without
    # Redis), in Redis on the scale-out shape. Not Reflex's default "disk": it leaves every closed tab's
    # ~27 pickles under .states for an hour and stats all of them on every write-queue pass, so idle CPU
    # grew with every tab ever opened (7 % -> 19 % after 1,500 tabs, 82 % after 5,500; docs/PERFORMANCE.md).
    # A tab's state is rebuilt from the store on reload anyway (the session is the cookie).
    state_manager_mode="redis" if os.environ.get("REFLEX_REDIS_URL") else "memory",
)
