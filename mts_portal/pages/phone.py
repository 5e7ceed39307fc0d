"""/phone — demo mode only: the simulated phone (a number's SMS inbox), outside any login."""

from __future__ import annotations

import reflex as rx

from mts_portal.pages.login import phone_panel
from mts_portal.state.base import UiState
from mts_portal.state.login import PhoneState


def phone_page() -> rx.Component:
    return rx.center(
        rx.cond(
            UiState.is_demo,
            rx.box(phone_panel(), width="100%", max_width="420px"),
            rx.text("404", id="not-found"),
        ),
        padding="16px", min_height="100vh", background="var(--gray-2)", align_items="start",
    )


__all__ = ["phone_page", "PhoneState"]
