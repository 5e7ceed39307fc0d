"""App assembly only: the Reflex app, its pages, the API and background services."""

from __future__ import annotations

import reflex as rx

from mts_portal import services
from mts_portal.api import app as api
from mts_portal.pages.home import home_page
from mts_portal.pages.login import login_page
from mts_portal.state.home import HomeState
from mts_portal.state.login import LoginState

app = rx.App(
    api_transformer=api,
    html_lang="ru",
    head_components=[
        rx.el.meta(name="theme-color", content="#E30611"),
        rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
    ],
    stylesheets=["/styles.css"],
    style={"font_family": "Inter, 'Segoe UI', Roboto, Arial, sans-serif"},
)
app.register_lifespan_task(services.lifespan)

app.add_page(login_page, route="/login", title="Вход — Мой МТС", on_load=LoginState.load)
app.add_page(home_page, route="/", title="Мой МТС", on_load=HomeState.load)
