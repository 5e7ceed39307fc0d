"""GOOD'OK: a melody instead of the ringing tone for the line's callers (DESIGN §3 `goodok`).

The service's monthly fee (catalogue) includes a part of the catalogue; other melodies have a price,
charged once when a line first chooses one (through the ledger, like any other charge): a melody
bought once can be chosen again later for nothing. Choosing needs GOOD'OK connected; the choice is
what callers hear while it stays connected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from mts_portal.core import billing
from mts_portal.core.auth import SessionInfo, require_line
from mts_portal.core.errors import Conflict, InsufficientFunds, Invalid
from mts_portal.core.models import LedgerEntry, Line, MelodyChoice, MelodyPurchase, Subscription
from mts_portal.core.money import format_rub, rub

SERVICE = "goodok"


@dataclass(frozen=True, slots=True)
class Melody:
    code: str
    title_ru: str
    title_en: str
    artist_ru: str
    artist_en: str
    genre: str  # a GENRES key
    price_kopecks: int  # 0: included in the service's monthly fee
    seconds: int  # length of the ringback loop

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" else self.title_ru

    def artist(self, lang: str) -> str:
        return self.artist_en if lang == "en" else self.artist_ru


GENRES = {
    "classic": ("Классика", "Classical"),
    "pop": ("Поп", "Pop"),
    "rock": ("Рок", "Rock"),
    "jazz": ("Джаз", "Jazz"),
    "folk": ("Народные", "Folk"),
    "fun": ("Юмор и звуки", "Fun and sounds"),
}

# The catalogue (codes are stable: they are kept in the store). Classical pieces are the composers'
# own; the rest are the catalogue's in-house recordings.
MELODIES: tuple[Melody, ...] = (
    Melody("vivaldi_spring", "Весна (Времена года)", "Spring (The Four Seasons)", "Антонио Вивальди",
           "Antonio Vivaldi", "classic", 0, 30),
    Melody("tchaikovsky_flowers", "Вальс цветов", "Waltz of the Flowers", "Пётр Чайковский", "Pyotr Tchaikovsky",
           "classic", 0, 30),
    Melody("mozart_serenade", "Маленькая ночная серенада", "Eine kleine Nachtmusik", "Вольфганг Амадей Моцарт",
           "Wolfgang Amadeus Mozart", "classic", 0, 25),
    Melody("beethoven_elise", "К Элизе", "Für Elise", "Людвиг ван Бетховен", "Ludwig van Beethoven", "classic", 0,
           25),
    Melody("grieg_morning", "Утро (Пер Гюнт)", "Morning Mood (Peer Gynt)", "Эдвард Григ", "Edvard Grieg", "classic",
           rub(19), 30),
    Melody("kalinka", "Калинка", "Kalinka", "Оркестр народных инструментов «Раздолье»",
           "Razdolye folk orchestra", "folk", 0, 20),
    Melody("korobeiniki", "Коробейники", "Korobeiniki", "Ансамбль «Сударушка»", "Sudarushka ensemble", "folk",
           rub(15), 20),
    Melody("summer_evening", "Летний вечер", "Summer Evening", "Группа «Северный ветер»", "Severny Veter",
           "pop", rub(25), 30),
    Melody("city_lights", "Огни большого города", "City Lights", "Алина Звонарёва", "Alina Zvonaryova", "pop",
           rub(25), 30),
    Melody("morning_coffee", "Утренний кофе", "Morning Coffee", "Дуэт «Полдень»", "Polden duo", "pop", rub(19), 25),
    Melody("road_home", "Дорога домой", "The Road Home", "Группа «Перекрёсток»", "Perekryostok", "rock", rub(29), 30),
    Melody("thunder", "Гроза", "Thunderstorm", "Группа «Сталь»", "Stal", "rock", rub(29), 30),
    Melody("blue_note", "Синяя нота", "Blue Note", "Квартет Андрея Лебедева", "Andrey Lebedev Quartet", "jazz",
           rub(35), 30),
    Melody("rainy_bossa", "Босса под дождём", "Rainy Bossa", "Ирина Светлова", "Irina Svetlova", "jazz", rub(35),
           30),
    Melody("birds", "Пение птиц", "Birdsong", "Звуки природы", "Sounds of nature", "fun", 0, 20),
    Melody("cat_answer", "Кот берёт трубку", "The Cat Answers", "Студия «Весёлый звонок»", "Vesyoly Zvonok studio",
           "fun", rub(15), 15),
)
BY_CODE = {m.code: m for m in MELODIES}


def melody(code: str) -> Melody:
    m = BY_CODE.get(str(code or ""))
    if m is None:
        raise Invalid(f"melody: unknown melody {code!r}", "Такой мелодии нет в каталоге", field="melody")
    return m


def connected(session: Session, line: Line) -> bool:
    return session.exec(select(Subscription.id).where(
        Subscription.line_id == line.id, Subscription.code == SERVICE, Subscription.active == True)  # noqa: E712
    ).first() is not None


def owned(session: Session, line: Line) -> set[str]:
    return set(session.exec(select(MelodyPurchase.melody_code).where(MelodyPurchase.line_id == line.id)).scalars())


def current(session: Session, line: Line) -> MelodyChoice | None:
    return session.get(MelodyChoice, line.id)


def price_for(session: Session, line: Line, m: Melody) -> int:
    """What choosing `m` costs this line now: 0 when included or bought before."""
    if not m.price_kopecks:
        return 0
    return 0 if m.code in owned(session, line) else m.price_kopecks


@dataclass
class GoodokView:
    connected: bool
    current: str | None  # melody code
    chosen_at: datetime | None
    owned: set[str]


def view(session: Session, info: SessionInfo, msisdn: str) -> GoodokView:
    line = require_line(session, info, msisdn)
    choice = current(session, line)
    return GoodokView(connected(session, line), choice.melody_code if choice else None,
                      choice.chosen_at if choice else None, owned(session, line))


@dataclass
class ChooseResult:
    melody_code: str
    charged_kopecks: int
    balance_kopecks: int


def choose(session: Session, info: SessionInfo, msisdn: str, code: str, now: datetime) -> ChooseResult:
    """Set the line's melody. A paid melody not bought before is charged now (refused, changing nothing,
    when money + credit do not cover it); a melody is bought once (its ledger cause is unique), so a
    double click charges once and its second click is answered `already_set`."""
    m = melody(code)
    require_line(session, info, msisdn)
    return set_melody(session, billing.get_line_for_update(session, msisdn), m, now)


def set_melody(session: Session, line: Line, m: Melody, now: datetime) -> ChooseResult:
    """`choose` on a line already checked and locked (seeding calls it directly)."""
    billing.rollover_line(session=session, line=line, now=now)
    if not connected(session, line):
        raise Conflict("connect GOOD'OK first", "Сначала подключите услугу GOOD'OK", field="melody")
    if line.status in ("lost", "blocked"):
        raise Conflict(f"line is {line.status}", "Номер заблокирован: смена мелодии недоступна")
    choice = current(session, line)
    if choice is not None and choice.melody_code == m.code:
        raise Conflict("this melody is already set", "Эта мелодия уже установлена", field="melody",
                       code="already_set")
    price = price_for(session, line, m)
    if price:
        ref = f"goodok:{m.code}"
        if session.exec(select(LedgerEntry.id).where(LedgerEntry.line_id == line.id, LedgerEntry.cause_ref == ref)
                        ).first() is not None:
            raise Conflict("this melody was already bought", "Мелодия уже куплена", code="duplicate_request")
        if line.status == "suspended":
            raise Conflict("line is suspended", "Номер приостановлен: сначала оплатите абонентскую плату")
        limit = billing.credit_limit(session, line, now)
        if line.balance_kopecks - price < -limit:
            raise InsufficientFunds(
                f"not enough money: {price} kopecks needed, {line.balance_kopecks + limit} available",
                f"Недостаточно средств: нужно {format_rub(price)}, доступно "
                f"{format_rub(line.balance_kopecks + limit)}", field="melody")
        billing.post_money(session, line, -price, kind="service_fee", category="service", cause_type="fee",
                           cause_ref=ref, description=f"GOOD'OK: мелодия «{m.title_ru}»",
                           description_en=f"GOOD'OK: melody “{m.title_en}”", at=now)
        session.add(MelodyPurchase(line_id=line.id, melody_code=m.code, price_kopecks=price, bought_at=now))
    if choice is None:
        session.add(MelodyChoice(line_id=line.id, melody_code=m.code, chosen_at=now))
    else:
        choice.melody_code = m.code
        choice.chosen_at = now
        session.add(choice)
    billing.touch(session, line, now)
    session.flush()
    return ChooseResult(m.code, price, line.balance_kopecks)

