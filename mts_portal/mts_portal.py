"""App assembly only: the Reflex app, its pages, the API and background services."""

from __future__ import annotations

import reflex as rx

from mts_portal import services
from mts_portal.api import app as api
from mts_portal.pages.console import console_page
from mts_portal.pages.detail import detail_page
from mts_portal.pages.family import family_page
from mts_portal.pages.home import home_page
from mts_portal.pages.home_tv import home_tv_page
from mts_portal.pages.login import login_page
from mts_portal.pages.messages import mailbox_page, notifications_page, sms_page, support_page
from mts_portal.pages.money import money_page
from mts_portal.pages.not_found import not_found_page
from mts_portal.pages.numbers import numbers_page
from mts_portal.pages.phone import phone_page
from mts_portal.pages.service_pages import goodok_page, memory_page, parental_page
from mts_portal.pages.services import bonus_page, internet_page, roaming_page, services_page
from mts_portal.pages.settings import settings_page
from mts_portal.pages.tariffs import tariffs_page
from mts_portal.state.base import RELANG_EVENTS, SessionState, UiState
from mts_portal.state.console import ConsoleState
from mts_portal.state.detail import DetailState
from mts_portal.state.family import FamilyState
from mts_portal.state.home import HomeState
from mts_portal.state.home_tv import HomeTvState
from mts_portal.state.login import LoginState, PhoneState
from mts_portal.state.messages import MailboxState, NotificationsState, SmsState, SupportState
from mts_portal.state.money import MoneyState
from mts_portal.state.numbers import NumbersState
from mts_portal.state.service_pages import GoodokState, MemoryState, ParentalState
from mts_portal.state.services import BonusState, InternetState, RoamingState, ServicesState
from mts_portal.state.settings import SettingsState
from mts_portal.state.store import StoreState, on_backend_error
from mts_portal.state.tariffs import TariffsState

app = rx.App(
    api_transformer=api,
    # store trouble: the layout's banner, anything else: a toast with a correlation id (never a stack trace)
    backend_exception_handler=on_backend_error,
    html_lang="ru",
    # top-centre, below the sticky header (assets/styles.css moves the toaster down): on a phone the
    # bottom edge holds the tab bar and the page's last controls, which a bottom toast would cover
    toaster=rx.toast.provider(position="top-center", close_button=True),
    head_components=[
        rx.el.meta(name="theme-color", content="#E30611"),
        rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
    ],
    # one typeface everywhere, pages and dialogs alike: Inter, shipped with the app (assets/fonts, from the npm
    # package @fontsource/inter by scripts/fonts.py) and served by the portal itself; styles.css sets Radix's
    # font variables to it
    stylesheets=["/fonts/inter.css", "/styles.css"],
    style={"font_family": "var(--default-font-family)"},
)
app.register_lifespan_task(services.lifespan)


def title(key: str) -> rx.Var:
    """The browser tab's title in the interface language («Счёт — Мой МТС» / "Money — My MTS")."""
    return UiState.t[key]


# route, page, title text key, on_load, what rebuilds the page's data after a language change
# (None: its on_load handlers again, see UiState.toggle_lang); private pages also start the tab's
# session watcher (idle logout on every private page)
PUBLIC = [
    ("/login", login_page, "title.login", LoginState.load, LoginState.relang),
    ("/phone", phone_page, "title.phone", PhoneState.load, PhoneState.relang),
    ("/mailbox", mailbox_page, "title.mailbox", MailboxState.load, None),
    # the product team's control room: its own operator session, checked by every handler (state/console.py)
    ("/console", console_page, "title.console", ConsoleState.load, ConsoleState.relang),
]
PRIVATE = [
    ("/", home_page, "title.home", HomeState.load, None),
    ("/money", money_page, "title.money", MoneyState.load, MoneyState.relang),
    ("/tariffs", tariffs_page, "title.tariffs", TariffsState.load, None),
    ("/services", services_page, "title.services", ServicesState.load, None),
    ("/services/goodok", goodok_page, "title.goodok", GoodokState.load, None),
    ("/services/memory", memory_page, "title.memory", MemoryState.load, None),
    ("/services/parental", parental_page, "title.parental", ParentalState.load, None),
    ("/internet", internet_page, "title.internet", InternetState.load, None),
    ("/roaming", roaming_page, "title.roaming", RoamingState.load, None),
    ("/bonus", bonus_page, "title.bonus", BonusState.load, None),
    ("/detail", detail_page, "title.detail", DetailState.load, None),
    ("/family", family_page, "title.family", FamilyState.load, None),
    ("/notifications", notifications_page, "title.notifications", NotificationsState.load, None),
    ("/sms", sms_page, "title.sms", SmsState.load, None),
    ("/support", support_page, "title.support", SupportState.load, None),
    ("/numbers", numbers_page, "title.numbers", NumbersState.load, NumbersState.relang),
    ("/internet-tv", home_tv_page, "title.home_tv", HomeTvState.load, None),
    ("/settings", settings_page, "title.settings", SettingsState.load, SettingsState.relang),
]
for route, page, title_key, on_load, _ in PUBLIC:
    app.add_page(page, route=route, title=title(title_key), on_load=on_load)
for route, page, title_key, on_load, _ in PRIVATE:
    app.add_page(page, route=route, title=title(title_key),
                 on_load=[on_load, SessionState.watch_session, StoreState.check_store])
for route, *_, relang in PUBLIC + PRIVATE:
    if relang is not None:
        RELANG_EVENTS[route] = (relang,)
# unknown addresses: a page of our own (Reflex serves it for every route it does not know)
app.add_page(not_found_page, route="404", title=title("title.not_found"), on_load=SessionState.load_if_logged_in)
