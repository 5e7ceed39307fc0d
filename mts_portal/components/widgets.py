"""Small stateless widgets: bundle meter, status badge, empty note."""

from __future__ import annotations

import reflex as rx

from mts_portal.state.base import UiState


def bundle_meter(b) -> rx.Component:
    """A bundle as a meter: remaining of total, valid until (b: a BucketRow var; b.until is the whole
    phrase, «по 31.12.2026»)."""
    return rx.box(
        rx.hstack(
            rx.text(b.label, weight="medium", size="3"),
            rx.spacer(),
            rx.text(b.remaining, weight="bold", size="3", id="bucket-remaining-" + b.id),
            align="baseline", width="100%",
        ),
        rx.progress(value=b.pct, max=100, color_scheme=rx.cond(b.low, "orange", "red"),
                    size="2", margin_y="8px", id="bucket-meter-" + b.id, aria_label=b.label),
        rx.hstack(
            rx.text(UiState.t["home.of"] + " " + b.total, size="1", color="var(--gray-11)",
                    id="bucket-total-" + b.id),
            rx.spacer(),
            rx.text(b.until, size="1", color="var(--gray-11)", id="bucket-until-" + b.id, white_space="nowrap"),
            width="100%",
        ),
        rx.cond(b.shared != "", rx.text(b.shared, size="1", color="var(--gray-11)")),
        width="100%", id="bucket-" + b.kind + "-" + b.id, class_name="bucket", data_kind=b.kind,
    )


def status_badge(status: rx.Var, text: rx.Var) -> rx.Component:
    return rx.badge(
        text,
        color_scheme=rx.match(status, ("active", "green"), ("suspended", "orange"), "red"),
        variant="soft", size="2", id="line-status", data_status=status,
    )


def empty_note(text: rx.Var) -> rx.Component:
    return rx.text(text, color="var(--gray-11)", size="2", padding_y="8px")


def confirm_button(label, question, details, on_confirm, id_: str | rx.Var, *, color: str = "red",
                   variant: str = "solid", confirm_label=None, size: str = "2", disabled=False,
                   on_open=None) -> rx.Component:
    """A button that asks first (every money-spending or destructive action confirms). `on_open` runs
    when the question opens: it starts one request, so a double click inside it acts once."""
    # `on_open` runs as the question opens (its content's auto-focus), not as the button's on_click: a trigger
    # child with an on_click is wrapped by Reflex in a <div> that takes the button's ARIA (axe: aria-allowed-attr)
    content_props = {"on_open_auto_focus": on_open} if on_open is not None else {}
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(rx.button(label, size=size, color_scheme=color, variant=variant, id=id_,
                                          disabled=disabled)),
        rx.alert_dialog.content(
            rx.alert_dialog.title(question),
            rx.alert_dialog.description(details, size="2"),
            rx.flex(
                rx.alert_dialog.cancel(rx.button(UiState.t["cancel"], variant="soft", color_scheme="gray",
                                                 id="confirm-cancel")),
                rx.alert_dialog.action(rx.button(confirm_label if confirm_label is not None else UiState.t["confirm"],
                                                 color_scheme=color, on_click=on_confirm, id="confirm-ok")),
                gap="12px", justify="end", margin_top="16px",
            ),
            max_width="440px", **content_props,
        ),
    )
