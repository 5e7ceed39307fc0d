"""The cabinet's frame: header (logo, number switcher, language, logout), a side
navigation on desktop and a bottom bar on phones; the header of public pages (login,
demo phone, 404). Stateless functions."""

from __future__ import annotations

import reflex as rx

from mts_portal.state.base import SessionState, UiState
from mts_portal.state.store import StoreState

RED = "#E30611"

NAV = [
    ("/", "house", "nav.home"),
    ("/money", "wallet", "nav.money"),
    ("/tariffs", "layers", "nav.tariffs"),
    ("/services", "puzzle", "nav.services"),
    ("/internet", "wifi", "nav.internet"),
    ("/roaming", "plane", "nav.roaming"),
    ("/bonus", "gift", "nav.bonus"),
    ("/detail", "list", "nav.detail"),
    ("/family", "users", "nav.family"),
    ("/notifications", "bell", "nav.notifications"),
    ("/sms", "message-square", "nav.sms"),
    ("/numbers", "smartphone", "nav.numbers"),
    ("/internet-tv", "tv", "nav.home_tv"),
    ("/settings", "settings", "nav.settings"),
    ("/support", "life-buoy", "nav.support"),
]
MOBILE_MAIN = ["/", "/money", "/tariffs", "/services"]


def logo(brand_on_phones: bool = False) -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.center(rx.text("МТС", weight="bold", size="2", color="white"), width="40px", height="40px",
                      background=RED, border_radius="10px"),
            rx.text(UiState.t["brand"], weight="bold", size="4",
                    display="block" if brand_on_phones else ["none", "none", "block"], white_space="nowrap"),
            align="center", spacing="2",
        ),
        href="/", underline="none", color="inherit", id="logo",
    )


# the choice is written to localStorage in the browser at the click, before the server round trip: a page
# loaded right after the click (a link, a reload) hydrates in the chosen language
_OTHER = rx.cond(UiState.lang == "en", "ru", "en")
LANG_CLICK = [rx.call_script("try { window.localStorage.setItem('mts_lang', " + rx.cond(UiState.lang == "en", "'ru'", "'en'")
                             + "); } catch (e) {}"), UiState.set_lang(_OTHER)]


def lang_button() -> rx.Component:
    """The language switch: «English» / «Русский» (on a phone: EN / RU)."""
    return rx.button(rx.text(UiState.t["lang.switch"], display=["none", "inline"]),
                     rx.text(rx.cond(UiState.lang == "en", "RU", "EN"), display=["inline", "none"]),
                     variant="ghost", size="2", on_click=LANG_CLICK, id="lang-toggle",
                     title=UiState.t["lang.switch"], lang=rx.cond(UiState.lang == "en", "ru", "en"))


def public_header(*extra: rx.Component) -> rx.Component:
    """The header of the pages outside the cabinet: the logo, `extra` (links) and the language switch."""
    return rx.box(
        rx.hstack(
            logo(brand_on_phones=True),
            rx.spacer(),
            *extra,
            lang_button(),
            align="center", spacing=rx.breakpoints(initial="2", sm="3"), width="100%", max_width="1280px",
            margin="0 auto", padding_x=["10px", "16px", "24px"], height="64px",
        ),
        background="white", border_bottom="1px solid var(--gray-4)", width="100%", id="public-header",
    )


def line_switcher() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(placeholder=SessionState.msisdn_label, id="line-switcher", variant="soft",
                          aria_label=UiState.t["header.switch_line"]),
        rx.select.content(
            rx.foreach(SessionState.lines,
                       lambda ln: rx.select.item(ln["label"], value=ln["msisdn"], id="line-" + ln["msisdn"])),
            rx.foreach(SessionState.homes,
                       lambda h: rx.select.item(h["label"], value=h["value"], id="line-" + h["value"].replace(":", "-"))),
        ),
        value=SessionState.msisdn,
        on_change=SessionState.switch_line,
        size="2",
    )


def header() -> rx.Component:
    return rx.box(
        rx.hstack(
            logo(),
            rx.spacer(),
            # the badge keeps its word on a phone too (an icon alone said nothing); its colours reach 4.5:1
            rx.cond(UiState.is_demo, rx.link(rx.badge(rx.icon("smartphone", size=12, display=["none", "inline"]),
                                                      rx.text(UiState.t["demo.badge"]),
                                                      color_scheme="amber", variant="soft",
                                                      style={"color": "var(--amber-12)"}),
                                             href="/phone", is_external=True, id="demo-phone-link",
                                             title=UiState.t["phone.title"])),
            line_switcher(),
            lang_button(),
            rx.icon_button(rx.icon("log-out", size=18), variant="ghost", size="2", on_click=SessionState.logout,
                           id="logout", title=UiState.t["logout"], aria_label=UiState.t["logout"]),
            align="center", spacing=rx.breakpoints(initial="2", sm="3"), width="100%", max_width="1280px",
            margin="0 auto", padding_x=["10px", "16px", "24px"], height="64px",
        ),
        position="sticky", top="0", z_index="10", background="white",
        border_bottom="1px solid var(--gray-4)",
    )


def nav_item(route: str, icon: str, key: str, active: str) -> rx.Component:
    selected = active == route
    return rx.link(
        rx.hstack(rx.icon(icon, size=18), rx.text(UiState.t[key], size="2"), align="center", spacing="3"),
        href=route, underline="none", id="nav" + route.replace("/", "-") if route != "/" else "nav-home",
        # the active item's red on its pale red background: the darker MTS red (#B5040D) for 4.5:1 and more
        color="var(--red-11)" if selected else "var(--gray-12)",
        background="var(--red-3)" if selected else "transparent",
        **({"aria_current": "page"} if selected else {}),
        padding="10px 12px", border_radius="10px", width="100%",
        _hover={"background": "var(--gray-3)"},
        weight="medium" if selected else "regular",
    )


def _mobile_only(route: str, item: rx.Component) -> rx.Component:
    """A home login (contract number) has no line: of the navigation it sees only «Интернет и ТВ»."""
    return item if route == "/internet-tv" else rx.cond(SessionState.is_home, rx.fragment(), item)


def sidebar(active: str) -> rx.Component:
    return rx.el.nav(rx.vstack(
        *[_mobile_only(r, nav_item(r, i, k, active)) for r, i, k in NAV],
        spacing="1", width="232px", min_width="232px", padding_y="16px",
    ), display=["none", "none", "block"], position="sticky", top="64px", align_self="flex-start",
        aria_label=UiState.t["nav.label"])


def bottom_bar(active: str) -> rx.Component:
    items = [n for n in NAV if n[0] in MOBILE_MAIN]
    more = [n for n in NAV if n[0] not in MOBILE_MAIN]
    return rx.hstack(
        *[
            _mobile_only(r, rx.link(
                rx.vstack(rx.icon(i, size=20), rx.text(UiState.t[k], size="1"), align="center", spacing="1"),
                href=r, underline="none", color=RED if active == r else "var(--gray-11)", flex="1",
                id="tab" + r.replace("/", "-") if r != "/" else "tab-home",
            ))
            for r, i, k in items
        ],
        rx.menu.root(
            rx.menu.trigger(
                rx.el.button(rx.vstack(rx.icon("menu", size=20), rx.text(UiState.t["nav.more"], size="1"),
                                       align="center", spacing="1"),
                             id="tab-more", type="button", cursor="pointer", color="var(--gray-11)",
                             background="transparent", border="none", padding="0", font="inherit"),
            ),
            rx.menu.content(
                *[_mobile_only(r, rx.menu.item(rx.hstack(rx.icon(i, size=16), rx.text(UiState.t[k])),
                                               on_click=rx.redirect(r), id="more" + r.replace("/", "-")))
                  for r, i, k in more],
            ),
        ),
        position="fixed", bottom="0", left="0", right="0", height="64px", background="white",
        border_top="1px solid var(--gray-4)", justify="between", align="center", padding_x="8px",
        display=["flex", "flex", "none"], z_index="10",
    )


def store_banner() -> rx.Component:
    """Shown while the store cannot take writes (state/store.py); it hides by itself when it can."""
    return rx.cond(
        StoreState.store_down,
        rx.box(
            rx.callout.root(
                rx.callout.icon(rx.icon("triangle-alert")),
                rx.vstack(rx.text(UiState.t["store.banner_title"], weight="bold"),
                          rx.text(UiState.t["store.banner_text"], size="2"), spacing="1"),
                color_scheme="amber", role="alert", width="100%",
            ),
            width="100%", max_width="1280px", margin="0 auto", padding_x=["10px", "16px", "24px"], padding_top="12px",
            id="store-banner",
        ),
    )


def page_frame(active: str, *content: rx.Component, title_key: str | None = None) -> rx.Component:
    """A private page: header, navigation, and the page body (shown once the session is checked)."""
    body = rx.vstack(
        rx.cond(title_key is not None, rx.heading(UiState.t[title_key or "brand"], size="6", id="page-title")),
        *content,
        spacing="4", width="100%", min_width="0",
    )
    return rx.box(
        header(),
        store_banner(),
        rx.hstack(
            sidebar(active),
            rx.el.main(
                rx.cond(SessionState.authed, body,
                        rx.center(rx.spinner(size="3"), width="100%", padding="64px", id="page-loading")),
                flex="1", min_width="0", padding=["12px", "16px", "24px"], padding_bottom=["88px", "88px", "24px"],
                id="main",
            ),
            width="100%", max_width="1280px", margin="0 auto", align="start", spacing="4",
        ),
        bottom_bar(active),
        min_height="100vh", background="var(--gray-2)",
    )


def card(*children, **props) -> rx.Component:
    style = dict(background="white", border_radius="16px", padding=["16px", "20px"], width="100%",
                 box_shadow="0 1px 2px rgba(16,24,40,.06)", border="1px solid var(--gray-4)")
    style.update(props)
    return rx.box(*children, **style)


def section_title(key: str, size: str = "4", **props) -> rx.Component:
    return rx.heading(UiState.t[key], size=size, **props)
