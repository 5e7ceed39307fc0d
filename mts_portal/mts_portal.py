"""App assembly only: the Reflex app, its pages, the API and background services."""

from __future__ import annotations

import reflex as rx

from mts_portal import services
from mts_portal.api import app as api
from mts_portal.pages.detail import detail_page
from mts_portal.pages.family import family_page
from mts_portal.pages.home import home_page
from mts_portal.pages.login import login_page
from mts_portal.pages.messages import mailbox_page, notifications_page, sms_page, support_page
from mts_portal.pages.money import money_page
from mts_portal.pages.numbers import numbers_page
from mts_portal.pages.phone import phone_page
from mts_portal.pages.services import bonus_page, internet_page, roaming_page, services_page
from mts_portal.pages.settings import settings_page
from mts_portal.pages.tariffs import tariffs_page
from mts_portal.state.detail import DetailState
from mts_portal.state.family import FamilyState
from mts_portal.state.home import HomeState
from mts_portal.state.login import LoginState, PhoneState
from mts_portal.state.messages import MailboxState, NotificationsState, SmsState, SupportState
from mts_portal.state.money import MoneyState
from mts_portal.state.numbers import NumbersState
from mts_portal.state.services import BonusState, InternetState, RoamingState, ServicesState
from mts_portal.state.settings import SettingsState
from mts_portal.state.tariffs import TariffsState

app = rx.App(
    api_transformer=api,
    html_lang="ru",
    # top-centre: on a phone the bottom edge holds the tab bar and the page's last controls,
    # which a bottom toast would cover (and a hovered toast never times out)
    toaster=rx.toast.provider(position="top-center", close_button=True),
    head_components=[
        rx.el.meta(name="theme-color", content="#E30611"),
        rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
    ],
    stylesheets=["/styles.css"],
    style={"font_family": "Inter, 'Segoe UI', Roboto, Arial, sans-serif"},
)
app.register_lifespan_task(services.lifespan)

PAGES = [
    ("/login", login_page, "Вход — Мой МТС", LoginState.load),
    ("/phone", phone_page, "Телефон (демо)", PhoneState.load),
    ("/", home_page, "Мой МТС", HomeState.load),
    ("/money", money_page, "Счёт — Мой МТС", MoneyState.load),
    ("/tariffs", tariffs_page, "Тарифы — Мой МТС", TariffsState.load),
    ("/services", services_page, "Услуги — Мой МТС", ServicesState.load),
    ("/internet", internet_page, "Интернет — Мой МТС", InternetState.load),
    ("/roaming", roaming_page, "Роуминг — Мой МТС", RoamingState.load),
    ("/bonus", bonus_page, "МТС Бонус — Мой МТС", BonusState.load),
    ("/detail", detail_page, "Детализация — Мой МТС", DetailState.load),
    ("/family", family_page, "МЫ МТС — Мой МТС", FamilyState.load),
    ("/notifications", notifications_page, "Уведомления — Мой МТС", NotificationsState.load),
    ("/sms", sms_page, "Отправить SMS — Мой МТС", SmsState.load),
    ("/support", support_page, "Поддержка — Мой МТС", SupportState.load),
    ("/mailbox", mailbox_page, "Почта (демо)", MailboxState.load),
    ("/numbers", numbers_page, "Мои номера — Мой МТС", NumbersState.load),
    ("/settings", settings_page, "Настройки — Мой МТС", SettingsState.load),
]
for route, page, title, on_load in PAGES:
    app.add_page(page, route=route, title=title, on_load=on_load)
