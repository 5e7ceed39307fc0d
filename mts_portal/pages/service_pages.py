"""/services/goodok, /services/memory, /services/parental — the pages behind three services."""

from __future__ import annotations

import reflex as rx

from mts_portal.components.layout import RED, card, page_frame, section_title
from mts_portal.components.widgets import confirm_button, empty_note
from mts_portal.state.base import UiState
from mts_portal.state.service_pages import GoodokState, MemoryState, ParentalState

T = UiState.t


def field_error(state, field_id: str) -> rx.Component:
    """The message about one field, right under it (id: "<field id>-error")."""
    m = state.msg
    return rx.cond(m[field_id], rx.text(m[field_id], color="var(--red-11)", size="1",
                                                 id=f"{field_id}-error", role="alert"))


def labelled(label, control: rx.Component, field_id: str, state, **props) -> rx.Component:
    props = {"min_width": "0", **props}
    return rx.vstack(rx.el.label(rx.text(label, size="2", weight="medium"), html_for=field_id), control,
                     field_error(state, field_id), spacing="1", **props)


def service_intro(state, code: str, title_key: str, hint_key: str, icon: str) -> rx.Component:
    """Back to the services list, what the service does, and (when it is off) connecting it, cost first."""
    return rx.vstack(
        rx.link(rx.hstack(rx.icon("arrow-left", size=16), rx.text(T["svc.back"]), align="center", spacing="1"),
                href="/services", size="2", id="back-to-services"),
        card(rx.flex(
            rx.icon(icon, color=RED, size=28, flex_shrink="0", aria_hidden="true"),
            rx.vstack(rx.heading(T[title_key], size="5", id="service-heading"),
                      rx.text(T[hint_key], size="2", color="var(--gray-11)"),
                      rx.text(state.fee_text, size="2", weight="medium", id="service-fee"),
                      spacing="2", min_width="0", flex="1"),
            gap="12px", width="100%")),
        rx.cond(state.loaded & ~state.connected, rx.callout(
            rx.flex(rx.text(T["svc.connect_first"]),
                    confirm_button(T["svc.connect"], T["svc.connect_q"],
                                   state.fee_text + ". " + T["services.cost_now"] + ": " + state.connect_cost_text,
                                   state.connect_service, "connect-" + code, on_open=state.prepare_connect,
                                   size="1"),
                    gap="12px", align="center", wrap="wrap"),
            icon="info", color_scheme="gray", width="100%", id="service-off")),
        spacing="3", width="100%")


def question(open_, on_open_change, title, body: list[rx.Component], on_confirm, confirm_label, id_: str,
             disabled=False) -> rx.Component:
    """A state-driven confirmation (the cost is worked out when it opens)."""
    return rx.alert_dialog.root(rx.alert_dialog.content(
        rx.alert_dialog.title(title),
        rx.vstack(*body, spacing="2", margin_top="4px"),
        rx.flex(
            rx.alert_dialog.cancel(rx.button(T["cancel"], variant="soft", color_scheme="gray", id="confirm-cancel")),
            rx.button(confirm_label, on_click=on_confirm, id="confirm-ok", disabled=disabled),
            gap="12px", justify="end", margin_top="16px"),
        max_width="480px", id=id_,
    ), open=open_, on_open_change=on_open_change)


# ---------------------------------------------------------------- GOOD'OK


def melody_row(m) -> rx.Component:
    s = GoodokState
    return rx.flex(
        rx.icon("music", color=RED, size=20, flex_shrink="0", aria_hidden="true"),
        rx.vstack(
            rx.text(m["title"], weight="bold"),
            rx.text(m["artist"], size="2", color="var(--gray-11)"),
            rx.hstack(rx.badge(m["genre_name"], variant="soft", color_scheme="gray"),
                      rx.text(m["length"], size="1", color="var(--gray-11)"),
                      rx.text(m["price"], size="2", weight="medium", class_name="melody-price"),
                      wrap="wrap", align="center", spacing="2"),
            spacing="1", min_width="0", flex="1"),
        rx.cond(m["current"] == "1",
                rx.badge(rx.icon("check", size=12), T["goodok.chosen"], color_scheme="green", size="2"),
                rx.button(T["goodok.choose"], size="2", variant=rx.cond(m["paid"] == "1", "solid", "soft"),
                          on_click=s.ask_choose(m["code"]), disabled=~s.connected, id="choose-" + m["code"],
                          aria_label=T["goodok.choose"] + ": " + m["title"])),
        width="100%", gap="12px", align="center", padding_y="10px", border_bottom="1px solid var(--gray-3)",
        id="melody-" + m["code"], class_name="melody",
    )


def goodok_page() -> rx.Component:
    s = GoodokState
    return page_frame(
        "/services",
        service_intro(s, "goodok", "goodok.title", "goodok.hint", "music"),
        card(rx.vstack(
            rx.text(T["goodok.current"], size="2", color="var(--gray-11)"),
            rx.cond(s.current_title != "",
                    rx.vstack(rx.heading(s.current_title, size="4", id="goodok-current"),
                              rx.text(s.current_since, size="1", color="var(--gray-11)"), spacing="1"),
                    rx.text(T["goodok.none"], id="goodok-current")),
            spacing="2", width="100%")),
        card(rx.vstack(
            section_title("goodok.catalogue"),
            rx.flex(
                rx.vstack(rx.el.label(rx.text(T["goodok.genre"], size="2", weight="medium"), id="goodok-genre-label"),
                          rx.select.root(rx.select.trigger(id="goodok-genre", aria_labelledby="goodok-genre-label",
                                                           min_width="180px"),
                                         rx.select.content(rx.foreach(s.genres, lambda g: rx.select.item(
                                             g["name"], value=g["code"]))),
                                         value=s.genre, on_change=s.set_genre),
                          spacing="1"),
                labelled(T["goodok.search"], rx.input(value=s.search, on_change=s.set_search, id="goodok-search",
                                                      width="100%", type="search"), "goodok-search", s,
                         flex="1", min_width="200px"),
                gap="12px", wrap="wrap", width="100%", align="end"),
            rx.cond(s.shown.length() > 0,
                    rx.vstack(rx.foreach(s.shown, melody_row), spacing="0", width="100%", id="melodies"),
                    empty_note(T["goodok.nothing"])),
            spacing="3", width="100%")),
        question(s.ask_open, s.set_ask_open, T["goodok.choose_q"], [
            rx.text(s.ask_name, weight="bold", id="melody-name"),
            rx.text(T["goodok.cost_now"] + ": ", rx.text.strong(s.ask_cost, id="melody-cost"), size="2"),
            rx.text(s.ask_terms, size="2", color="var(--gray-11)", id="melody-terms"),
            field_error(s, "melody"),
        ], s.confirm_choose, T["goodok.choose"], "melody-dialog"),
        title_key="services.title",
    )


# ---------------------------------------------------------------- «Вторая память»


def backup_row(b) -> rx.Component:
    s = MemoryState
    return rx.flex(
        rx.icon("cloud", color=RED, size=20, flex_shrink="0", aria_hidden="true"),
        rx.vstack(rx.text(b["when"], weight="bold"),
                  rx.text(b["what"], size="2"),
                  rx.hstack(rx.text(b["size"], size="1", color="var(--gray-11)", class_name="backup-size"),
                            rx.badge(b["trigger"], variant="soft", color_scheme="gray"), align="center",
                            wrap="wrap"),
                  spacing="1", min_width="0", flex="1"),
        rx.button(T["memory.restore"], size="2", variant="soft", on_click=s.ask_restore(b["id"]),
                  id="restore-" + b["id"], disabled=~s.connected, aria_label=T["memory.restore"] + ": " + b["when"]),
        width="100%", gap="12px", align="center", padding_y="10px", border_bottom="1px solid var(--gray-3)",
        class_name="backup", id="backup-" + b["id"],
    )


def memory_page() -> rx.Component:
    s = MemoryState
    return page_frame(
        "/services",
        service_intro(s, "second_memory", "memory.title", "memory.hint", "cloud"),
        card(rx.vstack(
            rx.flex(section_title("memory.backups"), rx.spacer(),
                    confirm_button(T["memory.backup_now"], T["memory.backup_q"], T["memory.backup_d"], s.backup_now,
                                   "backup-now", on_open=s.prepare_backup, disabled=~s.connected),
                    width="100%", align="center", gap="8px", wrap="wrap"),
            field_error(s, "backup"),
            rx.flex(
                rx.vstack(rx.el.label(rx.text(T["memory.schedule"], size="2", weight="medium"),
                                      id="memory-frequency-label"),
                          rx.select.root(rx.select.trigger(id="memory-frequency", min_width="220px",
                                                           aria_labelledby="memory-frequency-label"),
                                         rx.select.content(*[rx.select.item(T[f"memory.freq.{f}"], value=f)
                                                             for f in ("daily", "weekly", "off")]),
                                         value=s.frequency, on_change=s.set_frequency, disabled=~s.connected),
                          field_error(s, "frequency"), spacing="1"),
                rx.vstack(rx.text(T["memory.next"], size="2", weight="medium"),
                          rx.text(s.next_text, id="memory-next"), spacing="1"),
                gap="24px", wrap="wrap", width="100%"),
            rx.cond(s.backups.length() > 0,
                    rx.vstack(rx.foreach(s.backups, backup_row), spacing="0", width="100%", id="backups"),
                    rx.text(T["memory.no_backups"], size="2", color="var(--gray-11)", id="no-backups")),
            spacing="3", width="100%")),
        card(rx.vstack(
            section_title("memory.phone"),
            rx.text(T["memory.phone_hint"], size="2", color="var(--gray-11)"),
            rx.grid(
                rx.vstack(
                    rx.hstack(rx.text(T["memory.contacts"], weight="bold"),
                              rx.text(s.contacts_count, size="2", color="var(--gray-11)", id="contacts-count"),
                              align="baseline", wrap="wrap"),
                    rx.vstack(rx.foreach(s.contacts, lambda c: rx.flex(
                        rx.vstack(rx.text(c["name"], size="2", weight="medium"),
                                  rx.text(c["number"], size="1", color="var(--gray-11)"), spacing="0", flex="1",
                                  min_width="0"),
                        rx.icon_button(rx.icon("trash-2", size=14), size="1", variant="ghost", color_scheme="gray",
                                       on_click=s.delete_contact(c["id"]), id="delete-contact-" + c["id"],
                                       aria_label=T["memory.delete"] + ": " + c["name"],
                                       title=T["memory.delete"]),
                        width="100%", align="center", gap="8px", padding_y="4px", class_name="contact")),
                        spacing="0", width="100%", id="phone-contacts", max_height="320px", overflow_y="auto"),
                    rx.flex(
                        labelled(T["memory.name"], rx.input(value=s.name, on_change=s.set_name, id="contact-name",
                                                            width="100%"), "contact-name", s, flex="1",
                                 min_width="140px"),
                        labelled(T["memory.number"], rx.input(value=s.number, on_change=s.set_number,
                                                              id="contact-number", type="tel", width="100%"),
                                 "contact-number", s, flex="1", min_width="140px"),
                        rx.button(T["memory.add"], on_click=s.add_contact, id="contact-add", variant="soft"),
                        gap="8px", wrap="wrap", width="100%", align="end"),
                    field_error(s, "contact"),
                    spacing="2", width="100%", min_width="0"),
                rx.vstack(
                    rx.flex(rx.text(T["memory.calls"], weight="bold"),
                            rx.text(s.calls_count, size="2", color="var(--gray-11)", id="calls-count"), rx.spacer(),
                            confirm_button(T["memory.clear"], T["memory.clear_q"], T["memory.clear_d"], s.clear_calls,
                                           "clear-calls", color="gray", variant="soft", size="1"),
                            width="100%", align="center", gap="8px", wrap="wrap"),
                    rx.cond(s.calls.length() > 0,
                            rx.vstack(rx.foreach(s.calls, lambda c: rx.flex(
                                rx.cond(c["out"] == "1", rx.icon("phone-outgoing", size=14, aria_hidden="true"),
                                        rx.icon("phone-incoming", size=14, aria_hidden="true")),
                                rx.text(c["peer"], size="2", flex="1"),
                                rx.text(c["when"] + " · " + c["duration"], size="1", color="var(--gray-11)"),
                                width="100%", align="center", gap="8px", class_name="call",
                                title=c["direction"])), spacing="1", width="100%", id="phone-calls",
                                max_height="320px", overflow_y="auto"),
                            rx.text(T["memory.no_calls"], size="2", color="var(--gray-11)", id="no-calls")),
                    field_error(s, "calls"),
                    spacing="2", width="100%", min_width="0"),
                columns=rx.breakpoints(initial="1", md="2"), spacing="5", width="100%"),
            spacing="3", width="100%")),
        question(s.restore_open, s.set_restore_open, T["memory.restore_q"], [
            rx.text(s.restore_when, weight="bold", id="restore-when"),
            rx.cond(s.restore_empty, rx.text(T["memory.restore_nothing"], size="2", id="restore-nothing"),
                    rx.vstack(
                        rx.text(T["memory.restore_will"] + ":", size="2", weight="medium"),
                        rx.vstack(rx.foreach(s.restore_contacts, lambda c: rx.text(c, size="2", class_name="back")),
                                  rx.foreach(s.restore_calls, lambda c: rx.text(c, size="2", class_name="back")),
                                  spacing="0", id="restore-list", max_height="240px", overflow_y="auto",
                                  width="100%"),
                        rx.cond(s.restore_more != "", rx.text(s.restore_more, size="1", color="var(--gray-11)")),
                        rx.text(T["memory.restore_free"], size="1", color="var(--gray-11)"),
                        spacing="1", width="100%")),
            field_error(s, "restore"),
        ], s.confirm_restore, T["memory.restore"], "restore-dialog", disabled=s.restore_empty),
        title_key="services.title",
    )


# ---------------------------------------------------------------- «Родительский контроль»


def child_card(c) -> rx.Component:
    s = ParentalState
    return rx.box(
        rx.flex(
            rx.vstack(rx.text(c["label"], weight="bold", size="4"),
                      rx.text(c["via"], size="1", color="var(--gray-11)"), spacing="0", min_width="0"),
            rx.spacer(),
            rx.flex(
                rx.button(T["parental.edit"], size="2", variant="soft", on_click=s.open_limits(c["id"]),
                          id="limits-" + c["msisdn"]),
                confirm_button(T["parental.detach"], T["parental.detach_q"], c["label"] + ". " + T["parental.detach_d"],
                               s.detach(c["id"]), "detach-" + c["msisdn"], color="gray", variant="outline"),
                gap="8px", wrap="wrap"),
            width="100%", align="center", gap="8px", wrap="wrap"),
        rx.vstack(
            rx.hstack(rx.text(c["spent_title"] + ":", size="2"),
                      rx.text(c["spent"], weight="bold", id="spent-" + c["msisdn"]),
                      rx.text(c["limit"], size="2", color="var(--gray-11)"),
                      rx.text(c["left"], size="2", color="var(--gray-11)"), wrap="wrap", align="baseline"),
            rx.cond(c["has_limit"] == "1", rx.box(
                rx.box(height="8px", width=c["pct"] + "%", background=RED, border_radius="4px"),
                width="100%", height="8px", background="var(--gray-4)", border_radius="4px", role="progressbar",
                aria_valuenow=c["pct"], aria_valuemin="0", aria_valuemax="100", aria_label=c["spent_title"])),
            rx.text(T["parental.by_cat"] + ": " + c["by_cat"], size="1", color="var(--gray-11)"),
            rx.text(T["parental.limits"] + ": " + c["night"] + " · " + c["blocked"], size="2",
                    id="limits-text-" + c["msisdn"]),
            rx.text(T["parental.subs"] + ": " + c["subs"], size="1", color="var(--gray-11)"),
            rx.text(T["parental.refused"] + ": " + c["refused_count"], size="2", id="refused-" + c["msisdn"]),
            rx.vstack(rx.foreach(s.refused, lambda r: rx.cond(r["link"] == c["id"], rx.text(
                r["when"] + " — " + r["what"], size="1", color="var(--red-11)", class_name="refused"))),
                spacing="0"),
            spacing="1", width="100%", margin_top="8px"),
        width="100%", padding_y="12px", border_bottom="1px solid var(--gray-4)", class_name="child",
        id="child-" + c["msisdn"],
    )


def attach_card() -> rx.Component:
    s = ParentalState
    return card(rx.vstack(
        rx.heading(T["parental.attach_own"], size="4"),
        rx.text(T["parental.attach_own_hint"], size="2", color="var(--gray-11)"),
        rx.cond(s.own.length() > 0,
                rx.flex(
                    rx.select.root(rx.select.trigger(id="own-child", aria_label=T["parental.attach_own"],
                                                     min_width="220px"),
                                   rx.select.content(rx.foreach(s.own, lambda o: rx.select.item(
                                       o["label"], value=o["msisdn"]))),
                                   value=s.own_choice, on_change=s.set_own_choice),
                    confirm_button(T["parental.attach"], T["parental.attach_q"], T["parental.attach_d"],
                                   s.attach_own, "attach-own", disabled=~s.connected),
                    gap="8px", wrap="wrap", align="center"),
                rx.text(T["parental.no_own"], size="2", color="var(--gray-11)", id="no-own")),
        field_error(s, "own"),
        rx.divider(margin_y="8px"),
        rx.heading(T["parental.attach_other"], size="4"),
        rx.text(T["parental.attach_other_hint"], size="2", color="var(--gray-11)"),
        rx.cond(~s.code_step,
                rx.flex(
                    labelled(T["login.phone"], rx.input(value=s.other, on_change=s.set_other, id="other-number",
                                                        type="tel", placeholder="+7 9XX XXX-XX-XX", width="100%"),
                             "other-number", s, flex="1", min_width="200px"),
                    rx.button(T["parental.send_code"], on_click=s.request_code, id="other-send",
                              disabled=~s.connected),
                    gap="8px", wrap="wrap", align="end", width="100%"),
                rx.form(rx.vstack(
                    rx.text(s.code_label, weight="medium", id="other-code-label"),
                    rx.flex(
                        labelled(T["parental.code"], rx.input(name="code", id="other-code", input_mode="numeric",
                                                              max_length=6, width="100%"), "other-code", s,
                                 flex="1", min_width="140px"),
                        rx.button(T["parental.confirm"], type="submit", id="other-confirm"),
                        rx.button(T["cancel"], type="button", variant="soft", on_click=s.cancel_code),
                        gap="8px", wrap="wrap", align="end", width="100%"),
                    spacing="2", width="100%"), on_submit=s.confirm_code, reset_on_submit=True, width="100%")),
        spacing="2", width="100%"), id="attach")


def limits_dialog() -> rx.Component:
    s = ParentalState
    return rx.alert_dialog.root(rx.alert_dialog.content(
        rx.alert_dialog.title(T["parental.limits"] + ": " + s.edit_label),
        rx.vstack(
            labelled(T["parental.limit_field"], rx.input(value=s.edit_limit, on_change=s.set_edit_limit, id="limit",
                                                         input_mode="decimal", width="100%", max_width="200px"),
                     "limit", s),
            rx.text(T["parental.limit_hint"], size="1", color="var(--gray-11)"),
            rx.checkbox(T["parental.night_field"], checked=s.edit_night, on_change=s.set_edit_night, id="night"),
            rx.text(T["parental.block_field"], size="2", weight="medium", margin_top="8px"),
            rx.checkbox(T["parental.block_all"], checked=s.edit_blocked.contains("*"),
                        on_change=lambda on: s.toggle_blocked("*", on), id="block-all"),
            rx.foreach(s.content, lambda c: rx.checkbox(
                c["name"], checked=s.edit_blocked.contains(c["code"]) | s.edit_blocked.contains("*"),
                disabled=s.edit_blocked.contains("*"), on_change=lambda on: s.toggle_blocked(c["code"], on),
                id="block-" + c["code"])),
            field_error(s, "blocked"),
            rx.text(T["parental.save_d"], size="1", color="var(--gray-11)", margin_top="8px"),
            field_error(s, "limits"),
            spacing="2", margin_top="8px", width="100%"),
        rx.flex(
            rx.alert_dialog.cancel(rx.button(T["cancel"], variant="soft", color_scheme="gray", id="limits-cancel")),
            rx.button(T["parental.save"], on_click=s.save_limits, id="limits-save"),
            gap="12px", justify="end", margin_top="16px"),
        max_width="480px", id="limits-dialog",
    ), open=s.edit_open, on_open_change=s.set_edit_open)


def parental_page() -> rx.Component:
    s = ParentalState
    return page_frame(
        "/services",
        service_intro(s, "parental_control", "parental.title", "parental.hint", "shield-check"),
        rx.cond(s.under != "", rx.callout(rx.vstack(rx.text(s.under, weight="bold"),
                                                    rx.text(s.under_limits, size="2"), spacing="1"),
                                          icon="shield", color_scheme="blue", width="100%", id="parental-under")),
        card(rx.vstack(
            section_title("parental.children"),
            rx.cond(s.children.length() > 0,
                    rx.vstack(rx.foreach(s.children, child_card), spacing="0", width="100%", id="children"),
                    rx.text(T["parental.no_children"], size="2", color="var(--gray-11)", id="no-children")),
            field_error(s, "children"),
            spacing="2", width="100%")),
        attach_card(),
        limits_dialog(),
        title_key="services.title",
    )
