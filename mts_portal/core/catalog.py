"""The catalogue of DESIGN §3: tariffs, services, options, add-ons, content.

The codes are part of the API. The catalogue is code-owned data, synced into
the store by `sync_catalog()` right after migrations (idempotent upsert), and
read back as an immutable in-memory `Catalog` for the rater.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session

from mts_portal.core.models import HomeProduct, HomeTariff, Product, Tariff
from mts_portal.core.money import KB_PER_GB, rub

POPULAR_COUNTRIES = frozenset(
    "TR AE TH EG GE AM KZ UZ KG TJ AZ BY CN VN IN LK MV ID CY GR IT ES FR DE CZ RS ME IL TN CU".split()
)
assert len(POPULAR_COUNTRIES) == 30

# Roaming rates (DESIGN §4), kopecks
ABROAD_VOICE_PER_MIN = rub(49)
ABROAD_SMS = rub(19)
ABROAD_DATA_PER_MB = rub(150)
RUSSIA_VOICE_OUT_PER_MIN = rub(5)
RUSSIA_VOICE_IN_PER_MIN = rub(3)
NBG_FREE_MINUTES_PER_CALL = 10
NBG_FREE_MINUTES_PER_PERIOD = 200
FAMILY_MEMBER_FEE = rub(50)
FAMILY_MAX_MEMBERS = 5
FULL_TRUST_CREDIT = rub(300)

TARIFFS: list[dict] = [
    dict(code="minimum", name_ru="Минимум", name_en="Minimum", fee_kopecks=0, minutes=0, sms=0, data_kb=0,
         rate_voice_kopecks=250, rate_sms_kopecks=200, rate_mb_kopecks=500, sort=10,
         description_ru="Без абонентской платы: платите только за то, чем пользуетесь.",
         description_en="No monthly fee: pay only for what you use."),
    dict(code="smart", name_ru="Smart", name_en="Smart", fee_kopecks=rub(550), minutes=500, sms=500,
         data_kb=15 * KB_PER_GB, rate_voice_kopecks=200, rate_sms_kopecks=150, rate_mb_kopecks=500, sort=20,
         description_ru="500 минут, 500 SMS и 15 ГБ в месяц.",
         description_en="500 minutes, 500 SMS and 15 GB a month."),
    dict(code="tarifische", name_ru="Тарифище", name_en="Tarifische", fee_kopecks=rub(800), minutes=1000,
         sms=1000, data_kb=30 * KB_PER_GB, rate_voice_kopecks=150, rate_sms_kopecks=150, rate_mb_kopecks=500,
         sort=30, description_ru="1000 минут, 1000 SMS и 30 ГБ в месяц.",
         description_en="1000 minutes, 1000 SMS and 30 GB a month."),
    dict(code="my_mts", name_ru="МЫ МТС", name_en="MY MTS (family)", fee_kopecks=rub(1000), minutes=1500,
         sms=500, data_kb=50 * KB_PER_GB, rate_voice_kopecks=150, rate_sms_kopecks=150, rate_mb_kopecks=500,
         family_owner=True, sort=40,
         description_ru="1500 минут, 500 SMS и 50 ГБ на всю семью: делитесь с пятью близкими, 50 ₽ в месяц за участника.",
         description_en="1500 minutes, 500 SMS and 50 GB for the whole family: share with up to five, 50 ₽ a month per member."),
    dict(code="my_mts_member", name_ru="МЫ МТС Участник", name_en="MY MTS member", fee_kopecks=0, minutes=0,
         sms=0, data_kb=0, rate_voice_kopecks=250, rate_sms_kopecks=200, rate_mb_kopecks=500, public=False,
         family_member=True, sort=50,
         description_ru="Минуты, SMS и интернет — из общего пакета владельца группы.",
         description_en="Minutes, SMS and data come from the group owner's shared bundle."),
]

PRODUCTS: list[dict] = [
    # services, monthly fee
    dict(code="goodok", category="service", name_ru="GOOD'OK", name_en="GOOD'OK ringback tones", fee_kopecks=rub(60),
         bonus_price_points=100, sort=10,
         description_ru="Мелодия вместо гудков для тех, кто вам звонит.",
         description_en="A melody instead of the ringing tone for your callers."),
    dict(code="second_memory", category="service", name_ru="Вторая память", name_en="Second memory (backup)",
         fee_kopecks=rub(50), sort=20,
         description_ru="Резервная копия контактов и журнала звонков телефона: по расписанию и по запросу.",
         description_en="A backup of the phone's contacts and call log, on a schedule and on demand."),
    dict(code="blacklist", category="service", name_ru="Чёрный список", name_en="Blacklist", fee_kopecks=rub(45),
         sort=30, description_ru="Звонки и SMS от выбранных номеров не доходят до вас.",
         description_en="Calls and SMS from chosen numbers never reach you."),
    dict(code="voicemail", category="service", name_ru="Голосовая почта", name_en="Voicemail", fee_kopecks=rub(30),
         sort=40, description_ru="Сообщения, когда вы недоступны.",
         description_en="Messages when you cannot answer."),
    dict(code="parental_control", category="service", name_ru="Родительский контроль", name_en="Parental control",
         fee_kopecks=rub(100), sort=50,
         description_ru="Номер ребёнка под присмотром: лимит расходов, запрет подписок, ночной интернет.",
         description_en="Your child's number in view: a spending limit, blocked subscriptions, no data at night."),
    dict(code="sms_notify", category="service", name_ru="SMS-уведомления о списаниях",
         name_en="SMS notices of debits", fee_kopecks=0, sort=60,
         description_ru="SMS о каждом списании со счёта.", description_en="An SMS about every debit."),
    dict(code="full_trust", category="service", name_ru="На полном доверии", name_en="Full trust (credit)",
         fee_kopecks=0, sort=70,
         description_ru="Пользуйтесь связью в долг: баланс может опуститься до −300 ₽.",
         description_en="Keep talking on credit: the balance may go down to −300 ₽."),
    dict(code="number_management", category="service", name_ru="Управление номерами",
         name_en="Number management", fee_kopecks=0, sort=80,
         description_ru="Несколько номеров в одном личном кабинете.",
         description_en="Several numbers in one account."),
    # paid content, daily fee
    dict(code="content_horoscope", category="content", name_ru="Гороскоп на каждый день",
         name_en="Daily horoscope", fee_kopecks=rub(10), fee_unit="day", sort=10,
         description_ru="SMS с гороскопом каждое утро.", description_en="A horoscope SMS every morning."),
    dict(code="content_news", category="content", name_ru="Новости+", name_en="News+", fee_kopecks=rub(7),
         fee_unit="day", sort=20, description_ru="Главные новости дня в SMS.",
         description_en="The day's top news by SMS."),
    dict(code="content_games", category="content", name_ru="Игровой клуб", name_en="Games club",
         fee_kopecks=rub(15), fee_unit="day", sort=30, description_ru="Доступ к каталогу мобильных игр.",
         description_en="Access to a catalogue of mobile games."),
    dict(code="content_music", category="content", name_ru="Музыка+", name_en="Music+", fee_kopecks=rub(199),
         fee_unit="month", sort=40, description_ru="Музыка без рекламы в приложении, офлайн-прослушивание.",
         description_en="Ad-free music in the app, offline listening."),
    dict(code="content_kino", category="content", name_ru="Кинозал", name_en="Cinema hall", fee_kopecks=rub(299),
         fee_unit="month", sort=50, description_ru="Фильмы и сериалы на телефоне и ТВ.",
         description_en="Films and series on the phone and TV."),
    # roaming
    dict(code="vezde_kak_doma", category="roaming", name_ru="Везде как дома", name_en="At home everywhere",
         fee_kopecks=0, bonus_price_points=400, sort=10,
         description_ru="Поездки по России: звонки и SMS по условиям домашнего региона, входящие бесплатно.",
         description_en="Travel in Russia: calls and SMS as in your home region, incoming calls free."),
    dict(code="nol_bez_granits", category="roaming", name_ru="Ноль без границ", name_en="Zero without borders",
         fee_kopecks=rub(60), fee_unit="usage_day", bonus_price_points=950, sort=20,
         description_ru="За границей первые 10 минут каждого входящего звонка бесплатно (до 200 минут в месяц). "
                        "60 ₽ в сутки, только в дни с входящим звонком.",
         description_en="Abroad, the first 10 minutes of each incoming call are free (up to 200 a month). "
                        "60 ₽ a day, only on days with an incoming call."),
    dict(code="zabugorishche", category="roaming", name_ru="Забугорище", name_en="Zabugorishche",
         fee_kopecks=rub(490), popular_countries_fee_kopecks=rub(350), fee_unit="usage_day", sort=30,
         description_ru="За границей минуты, SMS и интернет из пакета тарифа, как дома. 350 ₽ в сутки в 30 "
                        "популярных странах, 490 ₽ в остальных — только в дни, когда вы пользуетесь связью.",
         description_en="Abroad, use your tariff's minutes, SMS and data as at home. 350 ₽ a day in 30 popular "
                        "countries, 490 ₽ elsewhere, only on days you use it."),
    # internet add-ons
    dict(code="internet_1gb", category="addon", name_ru="Интернет +1 ГБ", name_en="Internet +1 GB",
         fee_kopecks=rub(100), fee_unit="once", data_kb=1 * KB_PER_GB, bonus_price_points=150, sort=10,
         description_ru="1 ГБ до конца расчётного периода.", description_en="1 GB to the end of the period."),
    dict(code="internet_5gb", category="addon", name_ru="Интернет +5 ГБ", name_en="Internet +5 GB",
         fee_kopecks=rub(350), fee_unit="once", data_kb=5 * KB_PER_GB, sort=20,
         description_ru="5 ГБ до конца расчётного периода.", description_en="5 GB to the end of the period."),
    dict(code="turbo_2gb", category="addon", name_ru="Турбо 2 ГБ", name_en="Turbo 2 GB", fee_kopecks=rub(95),
         fee_unit="once", data_kb=2 * KB_PER_GB, validity_hours=24, sort=30,
         description_ru="2 ГБ на 24 часа.", description_en="2 GB for 24 hours."),
]


@dataclass(frozen=True, slots=True)
class TariffInfo:
    code: str
    name_ru: str
    name_en: str
    fee_kopecks: int
    minutes: int
    sms: int
    data_kb: int
    rate_voice_kopecks: int
    rate_sms_kopecks: int
    rate_mb_kopecks: int
    public: bool
    family_owner: bool
    family_member: bool
    sort: int
    description_ru: str
    description_en: str

    def name(self, lang: str = "ru") -> str:
        return self.name_en if lang == "en" else self.name_ru

    def bundle(self, kind: str) -> int:
        return {"voice": self.minutes, "sms": self.sms, "data": self.data_kb}[kind]


@dataclass(frozen=True, slots=True)
class ProductInfo:
    code: str
    category: str
    name_ru: str
    name_en: str
    fee_kopecks: int
    fee_unit: str
    data_kb: int
    validity_hours: int | None
    bonus_price_points: int | None
    popular_countries_fee_kopecks: int | None
    public: bool
    sort: int
    description_ru: str
    description_en: str

    def name(self, lang: str = "ru") -> str:
        return self.name_en if lang == "en" else self.name_ru


_TARIFF_DEFAULTS = dict(public=True, family_owner=False, family_member=False, sort=0,
                        description_ru="", description_en="")
_PRODUCT_DEFAULTS = dict(fee_unit="month", data_kb=0, validity_hours=None, bonus_price_points=None,
                         popular_countries_fee_kopecks=None, public=True, sort=0,
                         description_ru="", description_en="")


@dataclass(frozen=True)
class Catalog:
    tariffs: dict[str, TariffInfo] = field(default_factory=dict)
    products: dict[str, ProductInfo] = field(default_factory=dict)

    def tariff(self, code: str) -> TariffInfo:
        return self.tariffs[code]

    def product(self, code: str) -> ProductInfo:
        return self.products[code]


@functools.lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The catalogue as code defines it (what sync_catalog writes to the store)."""
    return Catalog(
        tariffs={t["code"]: TariffInfo(**{**_TARIFF_DEFAULTS, **t}) for t in TARIFFS},
        products={p["code"]: ProductInfo(**{**_PRODUCT_DEFAULTS, **p}) for p in PRODUCTS},
    )


# ---- home internet and TV (issue 17): stable codes of the API; fees per month

HOME_TARIFFS: list[dict] = [
    dict(code="home_lite", name_ru="Домашний Лайт", name_en="Home Lite", down_mbps=50, up_mbps=20,
         tv_package_code=None, fee_kopecks=rub(350), cap_kb=100 * KB_PER_GB, sort=10,
         description_ru="50 Мбит/с, 100 ГБ в месяц, дальше 1 Мбит/с",
         description_en="50 Mbit/s, 100 GB a month, then 1 Mbit/s"),
    dict(code="home_100", name_ru="Домашний интернет 100", name_en="Home internet 100", down_mbps=100,
         up_mbps=100, tv_package_code=None, fee_kopecks=rub(550), cap_kb=None, sort=20,
         description_ru="100 Мбит/с без ограничений трафика", description_en="100 Mbit/s, unlimited"),
    dict(code="home_300_tv", name_ru="Интернет + ТВ 300", name_en="Internet + TV 300", down_mbps=300,
         up_mbps=300, tv_package_code="tv_basic", fee_kopecks=rub(850), cap_kb=None, sort=30,
         description_ru="300 Мбит/с и «Базовый» пакет ТВ", description_en="300 Mbit/s and the Basic TV package"),
    dict(code="home_500_tv", name_ru="Максимум 500 + ТВ", name_en="Maximum 500 + TV", down_mbps=500,
         up_mbps=500, tv_package_code="tv_basic", fee_kopecks=rub(1100), cap_kb=None, sort=40,
         description_ru="500 Мбит/с и «Базовый» пакет ТВ", description_en="500 Mbit/s and the Basic TV package"),
]
HOME_PRODUCTS: list[dict] = [
    dict(code="tv_basic", kind="tv_package", name_ru="Базовый", name_en="Basic", fee_kopecks=rub(190),
         channels=180, sort=10, description_ru="180 каналов", description_en="180 channels"),
    dict(code="tv_kino", kind="tv_package", name_ru="Кино", name_en="Cinema", fee_kopecks=rub(299),
         channels=25, sort=20, description_ru="25 киноканалов", description_en="25 film channels"),
    dict(code="tv_sport", kind="tv_package", name_ru="Спорт", name_en="Sport", fee_kopecks=rub(249),
         channels=12, sort=30, description_ru="12 спортивных каналов", description_en="12 sports channels"),
    dict(code="tv_kids", kind="tv_package", name_ru="Детский", name_en="Kids", fee_kopecks=rub(99),
         channels=15, sort=40, description_ru="15 детских каналов", description_en="15 children's channels"),
    dict(code="static_ip", kind="option", name_ru="Статический IP-адрес", name_en="Static IP address",
         fee_kopecks=rub(150), sort=50, description_ru="Постоянный внешний адрес",
         description_en="A permanent public address"),
    dict(code="antivirus", kind="option", name_ru="Антивирус", name_en="Antivirus", fee_kopecks=rub(99),
         sort=60, description_ru="Защита трёх устройств", description_en="Protection for three devices"),
    dict(code="router_rent", kind="option", name_ru="Аренда Wi-Fi роутера", name_en="Wi-Fi router rent",
         fee_kopecks=rub(100), sort=70, description_ru="Роутер Wi-Fi 6 в аренду",
         description_en="A Wi-Fi 6 router to rent"),
    dict(code="tv_box_rent", kind="option", name_ru="Аренда ТВ-приставки", name_en="TV set-top box rent",
         fee_kopecks=rub(120), sort=80, description_ru="Приставка 4K в аренду",
         description_en="A 4K set-top box to rent"),
]
_HOME_TARIFF_DEFAULTS = dict(public=True, description_ru="", description_en="")
_HOME_PRODUCT_DEFAULTS = dict(channels=0, public=True, description_ru="", description_en="")


def _upsert(session: Session, model, rows: list[dict], defaults: dict) -> int:
    existing = {o.code: o for o in session.exec(select(model)).scalars()}
    changed = 0
    for data in rows:
        row = {**defaults, **data}
        obj = existing.get(row["code"])
        if obj is None:
            session.add(model(**row))
            changed += 1
        elif any(getattr(obj, k) != v for k, v in row.items()):
            for k, v in row.items():
                setattr(obj, k, v)
            changed += 1
    return changed


def sync_catalog(session: Session) -> int:
    """Upsert the catalogue into the store; returns how many rows changed."""
    changed = _upsert(session, HomeProduct, HOME_PRODUCTS, _HOME_PRODUCT_DEFAULTS)
    changed += _upsert(session, HomeTariff, HOME_TARIFFS, _HOME_TARIFF_DEFAULTS)
    changed += _upsert(session, Tariff, TARIFFS, _TARIFF_DEFAULTS)
    changed += _upsert(session, Product, PRODUCTS, _PRODUCT_DEFAULTS)
    return changed
