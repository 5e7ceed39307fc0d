"""/detail — «Детализация»."""

from __future__ import annotations

import reflex as rx

from mts_portal.components.layout import RED, card, page_frame, section_title
from mts_portal.components.widgets import empty_note
from mts_portal.state.base import UiState
from mts_portal.state.detail import DetailState

T = UiState.t
ICONS = {"voice": "phone", "sms": "message-square", "data": "wifi"}


def filters() -> rx.Component:
    return card(rx.vstack(
        rx.flex(
            rx.vstack(rx.text(T["detail.period"], size="1", color="var(--gray-11)"),
                      rx.select.root(rx.select.trigger(id="detail-period", aria_label=T["detail.period"]), rx.select.content(
                          *[rx.select.item(T[f"detail.p.{p}"], value=p) for p in ("month", "last", "7", "custom")]),
                          value=DetailState.preset, on_change=DetailState.set_preset), spacing="1"),
            rx.vstack(rx.text(T["detail.kind"], size="1", color="var(--gray-11)"),
                      rx.segmented_control.root(
                          *[rx.segmented_control.item(T[f"detail.k.{k}"], value=k) for k in ("all", "voice", "sms",
                                                                                              "data")],
                          value=DetailState.kind, on_change=DetailState.set_kind, id="detail-kind",
                          size=rx.breakpoints(initial="1", sm="2"), width="100%"),
                      spacing="1", min_width="0", max_width="100%"),
            gap="16px", wrap="wrap", align="end",
        ),
        rx.cond(DetailState.preset == "custom", rx.flex(
            # text fields in the interface's date format (a browser's date input follows the browser's
            # locale, not the page's language: 12/01/2026 in a Russian page)
            rx.input(value=DetailState.from_text, on_change=DetailState.set_date_from, id="detail-from",
                     placeholder=T["detail.date_hint"], aria_label=T["detail.from"], input_mode="numeric",
                     max_length=24, width="140px"),
            rx.input(value=DetailState.to_text, on_change=DetailState.set_date_to, id="detail-to",
                     placeholder=T["detail.date_hint"], aria_label=T["detail.to"], input_mode="numeric",
                     max_length=24, width="140px"),
            rx.button(T["detail.show"], on_click=DetailState.apply, id="detail-apply"),
            gap="8px", wrap="wrap")),
        rx.cond(DetailState.error != "", rx.text(DetailState.error, color="red", size="2", id="detail-error")),
        spacing="3", width="100%",
    ))


def totals_card() -> rx.Component:
    """The period's totals; formatted on the server in the reader's language ('1 запись', '5 мин'),
    and a placeholder until they are there."""
    t = DetailState.totals
    return card(rx.cond(DetailState.totals_ready, rx.flex(
        rx.vstack(rx.text(T["detail.totals"], size="2", color="var(--gray-11)"),
                  rx.text(t["period"], size="1", color="var(--gray-11)"), spacing="0"),
        rx.vstack(rx.heading(t["charged"], size="6", id="detail-total-charged"),
                  rx.text(t["count"], size="1", id="detail-total-count"), spacing="0"),
        rx.hstack(rx.badge(rx.icon("phone", size=12), t["minutes"], variant="soft", id="detail-total-minutes"),
                  rx.badge(rx.icon("message-square", size=12), t["sms"], variant="soft", id="detail-total-sms"),
                  rx.badge(rx.icon("wifi", size=12), t["data"], variant="soft", id="detail-total-data"), wrap="wrap"),
        gap="16px", wrap="wrap", align="center", justify="between", width="100%",
    ), rx.hstack(rx.spinner(size="2"), rx.text(T["loading"], size="2", color="var(--gray-11)"), align="center",
                 id="detail-totals-loading")), id="detail-totals")


def record_row(r) -> rx.Component:
    return rx.box(
        rx.flex(
            rx.center(rx.icon(rx.match(r["kind"], ("voice", "phone"), ("sms", "message-square"), "wifi"), size=16),
                      width="32px", height="32px", border_radius="16px", background="var(--gray-3)", flex_shrink="0"),
            rx.vstack(
                rx.text(r["kind_text"] + rx.cond(r["direction"] != "", " · " + r["direction"], ""),
                        rx.cond(r["peer"] != "", rx.fragment(" · ", rx.el.span(r["peer"], white_space="nowrap",
                                                                               class_name="peer"))),
                        size="2", weight="medium"),
                rx.text(r["when"] + " · " + r["amount"] + " · " + r["zone"] + " · " + r["paid_by"], size="1",
                        color="var(--gray-11)"),
                spacing="0", min_width="0", flex="1"),
            rx.text(r["charged"], size="2", weight="bold", white_space="nowrap",
                    color=rx.cond(r["status"] == "blocked", "var(--gray-9)", "var(--gray-12)")),
            gap="10px", align="center", width="100%",
        ),
        rx.el.details(
            rx.el.summary(T["detail.why"], style={"cursor": "pointer", "color": RED, "font-size": "12px"}),
            rx.text(r["explain"], size="1", color="var(--gray-11)", class_name="explain"),
            margin_left="42px",
        ),
        padding_y="8px", border_bottom="1px solid var(--gray-3)", width="100%", class_name="record",
        id="record-" + r["id"],
    )


def report_row(rep) -> rx.Component:
    """An ordered report: format, period, kept until, download; the address it was mailed to below,
    wrapping anywhere (a 200-character address never widens the page)."""
    return rx.vstack(
        rx.flex(
            rx.badge(rep["fmt"]), rx.text(rep["period"], size="2", white_space="nowrap"),
            rx.spacer(),
            rx.text(T["detail.until"] + " " + rep["until"], size="1", color="var(--gray-11)", white_space="nowrap"),
            rx.icon_button(rx.icon("download", size=16), variant="ghost", size="1",
                           on_click=rx.download(url="/api/v1/reports/" + rep["id"]),
                           id="report-" + rep["id"], aria_label=T["detail.export"]),
            gap="8px", align="center", width="100%", wrap="wrap"),
        rx.cond(rep["email"] != "", rx.text("→ " + rep["email"], size="1", color="var(--gray-11)",
                                            word_break="break-all", width="100%", class_name="report-email")),
        spacing="1", width="100%", min_width="0", class_name="report",
    )


def exports_card() -> rx.Component:
    return card(rx.vstack(
        rx.flex(
            rx.text(T["detail.export"], weight="medium"),
            # each click sends the key the page shows: a double click makes one report (state/detail.py)
            *[rx.button(fmt.upper(), variant="soft", on_click=DetailState.export(fmt, DetailState.request_key),
                        id=f"export-{fmt}", loading=DetailState.exporting) for fmt in ("csv", "html", "pdf")],
            gap="8px", align="center", wrap="wrap"),
        rx.form(rx.flex(
            rx.input(name="email", value=DetailState.email, on_change=DetailState.set_email, type="email",
                     placeholder="e-mail", id="detail-email", aria_label="e-mail", min_width="0", flex="1 1 220px"),
            rx.el.input(type="hidden", name="key", value=DetailState.request_key, read_only=True),
            rx.select.root(rx.select.trigger(id="detail-email-format", aria_label=T["detail.email_format"]),
                           rx.select.content(
                *[rx.select.item(f.upper(), value=f) for f in ("pdf", "csv", "html")]), name="fmt",
                default_value="pdf"),
            rx.button(T["detail.email"], type="submit", id="detail-send-email", loading=DetailState.mailing),
            gap="8px", wrap="wrap", width="100%"), on_submit=DetailState.send_email, width="100%"),
        section_title("detail.reports", size="3"),
        rx.cond(DetailState.reports.length() > 0,
                rx.vstack(rx.foreach(DetailState.reports, report_row), width="100%", min_width="0",
                          spacing="3"),
                empty_note(T["detail.no_reports"])),
        spacing="3", width="100%", min_width="0",
    ), min_width="0")


def detail_page() -> rx.Component:
    return page_frame(
        "/detail",
        filters(),
        totals_card(),
        card(rx.vstack(
            rx.cond(DetailState.rows.length() > 0,
                    rx.vstack(rx.foreach(DetailState.rows, record_row), width="100%", spacing="0", id="records"),
                    empty_note(T["detail.empty"])),
            rx.cond(DetailState.next_cursor != "",
                    rx.button(T["detail.more"], variant="soft", on_click=DetailState.more, id="detail-more")),
            spacing="3", width="100%")),
        exports_card(),
        title_key="detail.title",
    )
