"""/family — «МЫ МТС»."""

from __future__ import annotations

import reflex as rx

from mts_portal.components.layout import RED, card, page_frame, section_title
from mts_portal.components.widgets import confirm_button, empty_note
from mts_portal.state.base import UiState
from mts_portal.state.family import FamilyState

T = UiState.t


def share_line(sh) -> rx.Component:
    return rx.box(
        rx.hstack(rx.text(sh.label, size="2", weight="medium"), rx.spacer(),
                  rx.text(T["family.used"] + " " + sh.used, size="2", class_name="share-used"),
                  width="100%"),
        rx.progress(value=sh.pct, max=100, size="1", margin_y="4px", aria_label=sh.label),
        rx.hstack(rx.text(sh.quota, size="1", color="var(--gray-11)"), rx.spacer(),
                  rx.text(T["family.left"] + " " + sh.remaining, size="1", color="var(--gray-11)"), width="100%"),
        width="100%", class_name="share share-" + sh.kind,
    )


def invitations() -> rx.Component:
    return rx.cond(FamilyState.invitations.length() > 0, card(rx.vstack(
        rx.foreach(FamilyState.invitations, lambda inv: rx.flex(
            rx.text(T["family.invitation"] + " ", rx.el.span(inv["owner"], white_space="nowrap", class_name="invite-owner"), weight="medium",
                    flex="1", min_width="0"),
            rx.button(T["family.accept"], on_click=FamilyState.accept(inv["id"]), id="accept-" + inv["id"]),
            rx.button(T["family.decline"], variant="soft", color_scheme="gray", on_click=FamilyState.decline(inv["id"]),
                      id="decline-" + inv["id"]),
            gap="8px", align="center", width="100%", wrap="wrap", class_name="invitation")),
        width="100%"), id="invitations"))


def member_card(m) -> rx.Component:
    return card(rx.vstack(
        rx.flex(
            rx.hstack(rx.icon("user", size=18), rx.text(m.label, weight="bold", white_space="nowrap"),
                      rx.match(m.status,
                               ("pending", rx.badge(T["family.pending"], color_scheme="amber")),
                               ("expired", rx.badge(T["family.expired"], color_scheme="gray", id="expired-" + m.msisdn)),
                               rx.fragment()),
                      align="center", wrap="wrap"),
            rx.spacer(),
            rx.match(
                m.status,
                ("pending", rx.button(T["family.cancel_invite"], size="1", variant="soft", color_scheme="gray",
                                      on_click=FamilyState.cancel_invite(m.id), id="cancel-" + m.msisdn)),
                ("expired", rx.hstack(
                    rx.button(T["family.reinvite"], size="1", variant="soft", on_click=FamilyState.reinvite(m.msisdn),
                              id="reinvite-" + m.msisdn),
                    rx.button(T["family.dismiss"], size="1", variant="outline", color_scheme="gray",
                              on_click=FamilyState.cancel_invite(m.id), id="dismiss-" + m.msisdn))),
                rx.hstack(
                    rx.button(T["family.set_quota"], size="1", variant="soft", on_click=FamilyState.open_quota(m.id),
                              id="quota-" + m.msisdn),
                    confirm_button(T["family.remove"], T["family.remove_q"], T["family.remove_d"],
                                   FamilyState.remove(m.id), "remove-" + m.msisdn, color="gray",
                                   variant="outline", size="1"))),
            width="100%", align="center", gap="8px", wrap="wrap"),
        rx.cond(m.status == "active",
                rx.grid(rx.foreach(m.shares, share_line), columns=rx.breakpoints(initial="1", md="3"), spacing="4",
                        width="100%")),
        spacing="3", width="100%",
    ), id="member-" + m.msisdn, class_name="member")


def quota_dialog() -> rx.Component:
    return rx.dialog.root(rx.dialog.content(
        rx.dialog.title(T["family.quota_title"] + " " + FamilyState.quota_label),
        rx.text(T["family.quota_hint"], size="2", color="var(--gray-11)"),
        rx.form(rx.vstack(
            rx.hstack(
                rx.vstack(rx.text(T["family.minutes"], size="1"), rx.input(
                    name="minutes", default_value=FamilyState.quota_values["minutes"], id="quota-minutes",
                    input_mode="numeric", width="100%"), spacing="1", flex="1"),
                rx.vstack(rx.text(T["family.sms"], size="1"), rx.input(
                    name="sms", default_value=FamilyState.quota_values["sms"], id="quota-sms", input_mode="numeric",
                    width="100%"), spacing="1", flex="1"),
                rx.vstack(rx.text(T["family.gb"], size="1"), rx.input(
                    name="gb", default_value=FamilyState.quota_values["gb"], id="quota-gb", input_mode="decimal",
                    width="100%"), spacing="1", flex="1"),
                width="100%"),
            rx.cond(FamilyState.quota_error != "", rx.text(FamilyState.quota_error, color="red", size="2",
                                                           id="quota-error")),
            rx.hstack(rx.dialog.close(rx.button(T["cancel"], variant="soft", color_scheme="gray", type="button")),
                      rx.button(T["save"], type="submit", id="quota-save"), justify="end", width="100%"),
            spacing="3", margin_top="12px"), on_submit=FamilyState.save_quota),
        max_width="480px"), open=FamilyState.quota_open, on_open_change=FamilyState.set_quota_open)


def invite_dialog() -> rx.Component:
    """Before an invitation goes out: the member fee (50 ₽ a month, the first month prorated)."""
    return rx.alert_dialog.root(rx.alert_dialog.content(
        rx.alert_dialog.title(T["family.invite_q"] + " ", rx.el.span(FamilyState.invite_label, white_space="nowrap"),
                              "?"),
        rx.alert_dialog.description(FamilyState.invite_terms, size="2", id="invite-terms"),
        rx.flex(
            rx.alert_dialog.cancel(rx.button(T["cancel"], variant="soft", color_scheme="gray", id="confirm-cancel")),
            rx.alert_dialog.action(rx.button(T["family.invite_ok"], on_click=FamilyState.invite, id="confirm-ok")),
            gap="12px", justify="end", margin_top="16px"),
        max_width="460px", id="invite-dialog",
    ), open=FamilyState.invite_open, on_open_change=FamilyState.set_invite_open)


def owner_view() -> rx.Component:
    return rx.vstack(
        card(rx.vstack(
            rx.hstack(section_title("family.pool"), rx.spacer(), rx.badge(T["family.fee"], variant="soft"),
                      width="100%", wrap="wrap"),
            rx.grid(rx.foreach(FamilyState.pool, lambda sh: rx.vstack(
                rx.text(sh.label, size="2", color="var(--gray-11)"),
                rx.text(sh.remaining, size="5", weight="bold"),
                rx.text(T["family.of"] + " " + sh.quota, size="1", color="var(--gray-11)"),
                spacing="0", class_name="pool-" + sh.kind)), columns="3", spacing="4", width="100%", id="pool"),
            section_title("family.you", size="3"),
            rx.grid(rx.foreach(FamilyState.owner_use, share_line), columns=rx.breakpoints(initial="1", md="3"),
                    spacing="4", width="100%", id="owner-use"),
            spacing="3", width="100%")),
        section_title("family.members"),
        rx.cond(FamilyState.members.length() > 0,
                rx.vstack(rx.foreach(FamilyState.members, member_card), width="100%", spacing="3", id="members"),
                empty_note(T["family.no_members"])),
        card(rx.vstack(
            rx.text(T["family.invite_hint"], size="2", color="var(--gray-11)", id="invite-hint"),
            rx.form(rx.flex(
                rx.input(name="msisdn", placeholder="+7 9XX XXX-XX-XX", type="tel", id="invite-msisdn", flex="1",
                         min_width="200px", value=FamilyState.invite_msisdn,
                         on_change=FamilyState.set_invite_msisdn),
                rx.button(T["family.invite"], type="submit", id="invite-send"),
                gap="8px", wrap="wrap", width="100%"), on_submit=FamilyState.ask_invite, width="100%"),
            rx.cond(FamilyState.invite_error != "", rx.callout(FamilyState.invite_error, color_scheme="red",
                                                               icon="triangle-alert", id="invite-error", width="100%")),
            spacing="3", width="100%")),
        invite_dialog(),
        quota_dialog(),
        spacing="4", width="100%",
    )


def member_view() -> rx.Component:
    return rx.vstack(
        card(rx.vstack(
            rx.hstack(rx.icon("users", color=RED), rx.text(T["family.member_of"] + " " + FamilyState.owner_label,
                                                          weight="medium", id="member-of"), wrap="wrap"),
            section_title("family.your_share", size="3"),
            rx.foreach(FamilyState.members, lambda m: rx.grid(rx.foreach(m.shares, share_line),
                                                              columns=rx.breakpoints(initial="1", md="3"),
                                                              spacing="4", width="100%", id="my-share")),
            spacing="3", width="100%")),
        confirm_button(T["family.leave"], T["family.leave_q"], T["family.leave_d"], FamilyState.leave, "family-leave",
                       color="gray", variant="outline"),
        spacing="4", width="100%",
    )


def family_page() -> rx.Component:
    return page_frame(
        "/family",
        invitations(),
        rx.match(
            FamilyState.role,
            ("owner", owner_view()),
            ("member", member_view()),
            card(rx.vstack(rx.text(T["family.none"]), rx.link(rx.button(T["family.to_tariffs"]), href="/tariffs"),
                           spacing="3"), id="family-none"),
        ),
        title_key="family.title",
    )
