"""The page for an address the portal does not know (Reflex's «404» route): in the interface language,
with the cabinet's header for a logged-in visitor (the public one otherwise) and a way home."""

from __future__ import annotations

import reflex as rx

from mts_portal.components.layout import RED, card, header, public_header
from mts_portal.state.base import SessionState, UiState


def not_found_page() -> rx.Component:
    return rx.box(
        rx.cond(SessionState.authed, header(), public_header()),
        rx.center(
            card(
                rx.vstack(
                    rx.text("404", size="9", weight="bold", color=RED, line_height="1"),
                    rx.heading(UiState.t["notfound.title"], size="6", id="not-found-title"),
                    rx.text(UiState.t["notfound.text"], size="3", color="var(--gray-11)"),
                    rx.link(rx.button(rx.icon("house", size=16), UiState.t["notfound.home"], size="3",
                                      color_scheme="red"), href="/", id="not-found-home"),
                    spacing="4", align="start", width="100%",
                ),
                max_width="480px",
            ),
            padding=["24px 16px", "48px 24px"],
        ),
        min_height="100vh", background="var(--gray-2)", id="not-found-page",
    )
