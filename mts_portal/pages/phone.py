"""/phone — demo mode only: the simulated phone (a number's SMS inbox), outside any login."""

from __future__ import annotations

import reflex as rx

from mts_portal.components.layout import public_header
from mts_portal.pages.login import phone_panel
from mts_portal.state.base import UiState
from mts_portal.state.login import PhoneState


def phone_page() -> rx.Component:
    back = rx.link(rx.hstack(rx.icon("arrow-left", size=16),
                             rx.text(UiState.t["phone.back"]),
                             align="center", spacing="1"),
                   href="/", size="2", id="phone-back", aria_label=UiState.t["phone.back"],
                   title=UiState.t["phone.back"], white_space="nowrap")
    return rx.box(
        public_header(back),
        rx.center(
            rx.cond(
                UiState.is_demo,
                rx.box(phone_panel(), width="100%", max_width="420px"),
                rx.text("404", id="not-found"),
            ),
            padding="16px", align_items="start",
        ),
        min_height="100vh", background="var(--gray-2)",
    )


__all__ = ["phone_page", "PhoneState"]
