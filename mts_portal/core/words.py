"""Words the domain writes into statements, in Russian and English: months, countries, numbers.

Names come from the CLDR data in Babel, not from hand-kept lists.
"""

from __future__ import annotations

import functools
from datetime import date

from babel import Locale
from babel.dates import format_date

LOCALES = {"ru": "ru_RU", "en": "en_GB"}


@functools.cache
def _locale(lang: str) -> Locale:
    return Locale.parse(LOCALES["en" if lang == "en" else "ru"])


def month_name(day: date, lang: str = "ru") -> str:
    """'декабрь 2026' / 'December 2026' (the nominative: «плата за декабрь 2026»)."""
    return format_date(day, "LLLL y", locale=_locale(lang))


def country(code: str, lang: str = "ru") -> str:
    """An ISO-3166 alpha-2 code by its name: 'TR' -> 'Турция' / 'Turkey' (the code itself if unknown)."""
    return _locale(lang).territories.get(code, code)


def zone_name(zone: str, lang: str = "ru") -> str:
    """A rating zone for people: home, national roaming, or the country."""
    if zone == "home":
        return "домашний регион" if lang != "en" else "home region"
    if zone == "russia":
        return "роуминг по России" if lang != "en" else "roaming in Russia"
    return country(zone, lang)


def phone(number: str) -> str:
    """+7 916 123-45-67 for a Russian 11-digit number; other numbers as they are."""
    if len(number) == 11 and number[0] == "7" and number.isdigit():
        return f"+7 {number[1:4]} {number[4:7]}-{number[7:9]}-{number[9:]}"
    return number


def plural_category(n: int, lang: str = "ru") -> str:
    """CLDR plural category of n: one | few | many | other."""
    return _locale(lang).plural_form(abs(n))


def pick(ru: str, en: str, lang: str) -> str:
    """The text in the reader's language; rows written before English texts existed show Russian."""
    return en if lang == "en" and en else ru
