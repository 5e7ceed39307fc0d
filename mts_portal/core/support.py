"""Support: FAQ with search, a chat that answers from the FAQ and hands over to a person
(a callback request), and a shop finder by city."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

import snowballstemmer
from sqlmodel import Session

from mts_portal.core import domain, phones
from mts_portal.core.auth import SessionInfo
from mts_portal.core.errors import Invalid
from mts_portal.core.models import SupportRequest


@dataclass(frozen=True)
class Faq:
    id: str
    q_ru: str
    a_ru: str
    q_en: str
    a_en: str
    keywords: str


FAQ = [
    Faq("balance", "Как проверить баланс?", "Баланс виден на главной странице «Мой МТС» и обновляется сам сразу после "
        "каждого звонка, SMS или сессии интернета.", "How do I check my balance?",
        "The balance is on the home page and updates by itself after every call, SMS or data session.",
        "баланс счёт счету деньги денег остаток средств посмотреть узнать balance money left see"),
    Faq("topup", "Как пополнить счёт картой?", "Откройте «Счёт» → «Пополнить», укажите сумму и карту. Платёж "
        "подтверждается в окне; двойное нажатие не спишет деньги дважды.", "How do I top up by card?",
        "Open Money → Top up, enter the amount and a card and confirm. A double click never pays twice.",
        "пополнить пополнение баланс положить закинуть карта картой банковской оплатить платёж top up card pay add"),
    Faq("promise", "Что такое обещанный платёж?", "Деньги в долг на 3 дня, когда на счёте меньше 300 ₽. Плата от 0 до "
        "50 ₽ в зависимости от суммы. Погашается из ближайшего пополнения.", "What is a promised payment?",
        "Credit for 3 days when the balance is below 300 ₽. A fee of 0–50 ₽ by amount; repaid by your next top-up.",
        "обещанный платёж долг кредит занять взаймы пустой promised credit loan borrow empty"),
    Faq("trust", "Как пользоваться связью в минус?", "Подключите «На полном доверии» в «Счёт» → «Обещанный платёж»: "
        "баланс сможет опуститься до −300 ₽.", "Can I go below zero?",
        "Turn on Full trust in Money → Promised payment: the balance may go down to −300 ₽.",
        "минус отрицательный доверие полном кредит ноль звонить продолжать full trust negative credit below zero"),
    Faq("roaming", "Как не переплатить в роуминге?", "Перед поездкой подключите в «Роуминг»: по России — «Везде как дома», "
        "за границей — «Забугорище» (пакеты как дома за суточную плату) или «Ноль без границ» (бесплатные входящие).",
        "How not to overpay in roaming?", "Before a trip, in Roaming: At home everywhere for Russia; Zabugorishche "
        "(your bundles abroad for a daily fee) or Zero without borders (free incoming) abroad.",
        "роуминг заграница граница границу поездка еду путешествие связь роуминге roaming abroad travel trip"),
    Faq("internet", "Закончился интернет, что делать?", "В разделе «Интернет» купите пакет: +1 ГБ за 100 ₽, +5 ГБ за "
        "350 ₽ до конца месяца или «Турбо» 2 ГБ на сутки за 95 ₽.", "I'm out of data. What now?",
        "In Internet buy a package: +1 GB for 100 ₽, +5 GB for 350 ₽ to the month's end, or Turbo 2 GB for 24 h, 95 ₽.",
        "интернет гигабайты закончился трафик пакет data internet package gigabytes"),
    Faq("subscriptions", "Откуда списания за подписки?", "Платные подписки видны в «Услуги» → «Подписки». Отключите "
        "ненужные одним нажатием — плата перестанет списываться со следующих суток.", "Why am I charged for "
        "subscriptions?", "Paid subscriptions are listed in Services → Subscriptions; cancel any in one click.",
        "подписка подписки списания контент отключить гороскоп subscription content cancel charges"),
    Faq("detail", "Как заказать детализацию?", "В «Детализация» выберите период и тип, скачайте CSV, HTML или PDF "
        "или закажите на e-mail. Отчёты хранятся 3 дня.", "How do I get a detailed bill?",
        "In Detail choose the period and type, download CSV, HTML or PDF or order it by e-mail. Kept 3 days.",
        "детализация звонки распечатка выписка отчёт detail statement calls report"),
    Faq("password", "Как сменить пароль?", "В «Настройки» → «Пароль для входа» укажите текущий пароль или код из SMS "
        "и новый пароль (не короче 8 символов).", "How do I change my password?",
        "In Settings → Login password give the current password or an SMS code and the new one (8+ characters).",
        "пароль сменить войти вход логин password login change"),
    Faq("lost", "Потерял телефон, что делать?", "Войдите с другого номера вашего счёта и в «Мои номера» нажмите "
        "«Аппарат утрачен»: связь и вход с утраченного номера будут заблокированы. Разблокировать можно там же.",
        "I lost my phone", "Log in with another number of your account and press Device lost in My numbers.",
        "потерял украли утерян блокировка аппарат утрачен lost stolen block"),
    Faq("family", "Как поделиться интернетом с семьёй?", "На тарифе «МЫ МТС» пригласите до 5 номеров в разделе «МЫ МТС» "
        "и распределите минуты, SMS и гигабайты. Каждый участник — 50 ₽ в месяц.", "How do I share data with family?",
        "On MY MTS invite up to 5 numbers in the Family section and share minutes, SMS and GB; 50 ₽ a month each.",
        "семья семейный поделиться раздать общий дети детям родственники близкие мы мтс family share group kids"),
    Faq("bonus", "Как потратить бонусные баллы?", "За каждые 5 ₽ списаний начисляется 1 балл. В «МТС Бонус» обменяйте "
        "баллы на «Везде как дома», «Ноль без границ», +1 ГБ или GOOD'OK.", "How do I spend bonus points?",
        "1 point for every 5 ₽ charged. In MTS Bonus exchange points for services.",
        "бонус баллы обменять потратить bonus points exchange"),
    Faq("tariff", "Какой тариф мне выгоднее?", "В «Тарифы» нажмите «Подобрать»: ваши звонки, SMS и интернет за 30 дней "
        "пересчитаются по каждому тарифу.", "Which tariff is cheapest for me?",
        "In Tariffs press Find the best: your last 30 days are re-rated under each tariff.",
        "тариф выгодный сменить подобрать дешевле tariff cheaper switch advisor"),
    Faq("block", "Как временно заблокировать номер?", "В «Услуги» включите «Добровольная блокировка». Разблокировать — "
        "там же.", "How do I block my number for a while?", "In Services turn on Voluntary block; turn it off there too.",
        "блокировка заблокировать временно отпуск block suspend"),
]

@dataclass(frozen=True)
class Shop:
    address_ru: str
    address_en: str
    hours: str
    metro_ru: str = ""
    metro_en: str = ""

    def address(self, lang: str = "ru") -> str:
        return self.address_en if lang == "en" else self.address_ru

    def metro(self, lang: str = "ru") -> str:
        return self.metro_en if lang == "en" else self.metro_ru


SHOPS: dict[str, list[Shop]] = {
    "Москва": [Shop("ул. Тверская, 6", "6 Tverskaya St", "10:00–22:00", "Охотный Ряд", "Okhotny Ryad"),
               Shop("Ленинградский пр-т, 62", "62 Leningradsky Ave", "09:00–21:00", "Аэропорт", "Aeroport"),
               Shop("ул. Мясницкая, 24", "24 Myasnitskaya St", "10:00–21:00", "Чистые пруды", "Chistye Prudy"),
               Shop("ТЦ «Европейский», пл. Киевского Вокзала, 2", "Evropeisky mall, 2 Kievskogo Vokzala Sq",
                    "10:00–22:00", "Киевская", "Kievskaya")],
    "Санкт-Петербург": [Shop("Невский пр-т, 54", "54 Nevsky Ave", "10:00–22:00", "Гостиный двор", "Gostiny Dvor"),
                        Shop("Московский пр-т, 220", "220 Moskovsky Ave", "10:00–21:00", "Московская",
                             "Moskovskaya")],
    "Новосибирск": [Shop("Красный пр-т, 29", "29 Krasny Ave", "09:00–20:00", "Площадь Ленина", "Ploshchad Lenina")],
    "Екатеринбург": [Shop("ул. Вайнера, 9", "9 Vainera St", "10:00–21:00", "Площадь 1905 года",
                          "Ploshchad 1905 Goda")],
    "Казань": [Shop("ул. Баумана, 44", "44 Baumana St", "10:00–21:00", "Кремлёвская", "Kremlyovskaya")],
    "Нижний Новгород": [Shop("ул. Большая Покровская, 18", "18 Bolshaya Pokrovskaya St", "10:00–21:00",
                             "Горьковская", "Gorkovskaya")],
    "Краснодар": [Shop("ул. Красная, 109", "109 Krasnaya St", "10:00–21:00")],
    "Сочи": [Shop("Курортный пр-т, 16", "16 Kurortny Ave", "10:00–22:00")],
}
CITIES_EN = {"Москва": "Moscow", "Санкт-Петербург": "Saint Petersburg", "Новосибирск": "Novosibirsk",
             "Екатеринбург": "Yekaterinburg", "Казань": "Kazan", "Нижний Новгород": "Nizhny Novgorod",
             "Краснодар": "Krasnodar", "Сочи": "Sochi"}


def city_name(city: str, lang: str = "ru") -> str:
    """A city of SHOPS (keyed by its Russian name) in the reader's language."""
    return CITIES_EN.get(city, city) if lang == "en" else city


_WORD = re.compile(r"[а-яёa-z0-9]+", re.IGNORECASE)
# words that say nothing about what a question is about
_STOP = set("""как что где мне мой моя мои меня это если или так уже еще ещё для при про над под без чем чтобы
можно нужно нужна хочу могу какой какая какие какую куда когда почему зачем сколько есть был была было будет
the and for how can what where which why when who does did my me you your our with from into this that are was
is do to of on in at an it be am not too get out""".split())
_STEMMERS = {"ru": snowballstemmer.stemmer("russian"), "en": snowballstemmer.stemmer("english")}
# how much a query word counts, by where the entry has it: its question, its keywords, its answer
_FIELD_WEIGHT = {"q": 3.0, "k": 2.0, "a": 1.0}


def _stem(word: str) -> str:
    """A word's stem (Snowball, Russian or English by its letters), cut to 5 letters so that word forms
    the stemmer leaves apart («пополнить» / «пополнение») still meet."""
    word = word.lower().replace("ё", "е")
    lang = "ru" if any("а" <= ch <= "я" for ch in word) else "en"
    return _STEMMERS[lang].stemWord(word)[:5]


def _stems(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text or "") if len(w) > 2 and w.lower() not in _STOP}


def _index() -> tuple[list[dict[str, set[str]]], dict[str, float]]:
    fields = [{"q": _stems(f.q_ru + " " + f.q_en), "k": _stems(f.keywords), "a": _stems(f.a_ru + " " + f.a_en)}
              for f in FAQ]
    df: dict[str, int] = {}
    for entry in fields:
        for stem in set().union(*entry.values()):
            df[stem] = df.get(stem, 0) + 1
    # a word found in every entry tells nothing; one found in a single entry tells the most
    idf = {stem: math.log((len(FAQ) + 1) / n) for stem, n in df.items()}
    return fields, idf


_FIELDS, _IDF = _index()


def search(query: str, limit: int = 20) -> list[tuple[Faq, int]]:
    """FAQ entries ranked by meaning: each query word (stemmed) counts by how rare it is among the entries
    (idf) and by where the entry has it (its question counts most, then its keywords, then its answer).
    The score is a whole number (×100) so that ties keep the FAQ's order."""
    words = _stems(query)
    if not words:
        return [(f, 0) for f in FAQ][:limit]
    scored = []
    for f, entry in zip(FAQ, _FIELDS, strict=True):
        score = 0.0
        for w in words:
            weight = max((_FIELD_WEIGHT[name] for name, stems in entry.items() if w in stems), default=0.0)
            score += weight * _IDF.get(w, 0.0)
        if score > 0:
            scored.append((f, round(score * 100)))
    scored.sort(key=lambda x: -x[1])
    return scored[:limit]


@dataclass
class ChatReply:
    text: str
    faq_id: str | None
    handover: bool


def chat_answer(message: str, lang: str = "ru") -> ChatReply:
    """The best FAQ answer, or an offer to hand over to a person (a callback)."""
    text = (message or "").strip()
    low = text.lower()
    if any(w in low for w in ("оператор", "человек", "специалист", "позвоните", "operator", "human", "agent")):
        return ChatReply("Передаю специалисту: оставьте номер, и мы перезвоним." if lang == "ru" else
                         "Handing over to a specialist: leave a number and we will call you back.", None, True)
    hits = search(text, 1)
    if hits and hits[0][1] > 0:
        f = hits[0][0]
        return ChatReply(f.a_en if lang == "en" else f.a_ru, f.id, False)
    return ChatReply("Не нашёл ответа на этот вопрос. Оставьте номер — специалист перезвонит." if lang == "ru" else
                     "I could not find an answer. Leave a number and a specialist will call you back.", None, True)


def request_callback(session: Session, info: SessionInfo, phone: str, topic: str, preferred: str | None,
                     now: datetime) -> SupportRequest:
    number = phones.normalize_russian(phone)  # a landline may be called back too
    topic = (topic or "").strip()
    if not 3 <= len(topic) <= 500:
        raise Invalid("topic: 3–500 characters", "Опишите вопрос (от 3 до 500 символов)")
    if domain.has_control(topic, multiline=True):
        raise Invalid("topic: control characters are not allowed", "Текст вопроса содержит недопустимые символы")
    req = SupportRequest(line_id=info.selected_line_id, kind="callback", phone=number, topic=topic,
                         preferred_time=(preferred or "")[:40] or None, created_at=now)
    session.add(req)
    session.flush()
    return req


def shops(city: str) -> list[Shop]:
    for name, items in SHOPS.items():
        if city and (city.strip().lower() in (name.lower(), CITIES_EN[name].lower())):
            return items
    return []
