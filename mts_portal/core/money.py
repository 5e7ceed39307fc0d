"""Money is integer kopecks; data is integer KB; one formatter for each.

No floats anywhere in a money path: parsing goes through Decimal.
"""

from __future__ import annotations

import re
from decimal import Decimal

KOPECKS_PER_RUB = 100
KB_PER_MB = 1024
KB_PER_GB = 1024 * 1024

NBSP = "\u00a0"
MINUS = "\u2212"


class MoneyFormatError(ValueError):
    """A user-typed amount could not be read."""


def ceil_div(numerator: int, denominator: int) -> int:
    """Exact ceiling division of integers (denominator > 0)."""
    return -(-numerator // denominator)


def rub(kopecks: int) -> int:
    """Whole roubles to kopecks: rub(550) == 55000."""
    return kopecks * KOPECKS_PER_RUB


def _group(n: int, sep: str) -> str:
    s = str(n)
    parts = []
    while len(s) > 3:
        parts.append(s[-3:])
        s = s[:-3]
    parts.append(s)
    return sep.join(reversed(parts))


def format_rub(kopecks: int, lang: str = "ru", *, sign: bool = False) -> str:
    """1234567 -> '12 345,67 ₽' (ru) or '12,345.67 ₽' (en). Whole amounts keep ',00'."""
    negative = kopecks < 0
    whole, frac = divmod(abs(kopecks), KOPECKS_PER_RUB)
    if lang == "en":
        body = f"{_group(whole, ',')}.{frac:02d}"
    else:
        body = f"{_group(whole, NBSP)},{frac:02d}"
    prefix = MINUS if negative else ("+" if sign and kopecks > 0 else "")
    return f"{prefix}{body}{NBSP}₽"


_AMOUNT = re.compile(r"([0-9]{1,9})(?:[.,]([0-9]+))?")


def parse_rub(text: str) -> int:
    """'100', '100,5', '1 000.25', '100 ₽' -> kopecks. Raises MoneyFormatError with a reason.

    Only plain decimals: no signs, exponents ('1e3'), underscores or other digit systems."""
    if text is None:
        raise MoneyFormatError("empty amount")
    cleaned = str(text).replace("₽", "").replace(NBSP, "").replace("\u202f", "").replace(" ", "").strip()
    if not cleaned:
        raise MoneyFormatError("empty amount")
    match = _AMOUNT.fullmatch(cleaned)
    if match is None:
        raise MoneyFormatError(f"not a number: {text!r}")
    whole, frac = match.group(1), match.group(2) or ""
    if len(frac) > 2:
        raise MoneyFormatError("at most two digits after the decimal point")
    return int(whole) * KOPECKS_PER_RUB + int(frac.ljust(2, "0"))


_DATA_UNITS = {"ru": ("КБ", "МБ", "ГБ"), "en": ("KB", "MB", "GB")}


def _decimal_str(value: Decimal, lang: str) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if lang == "ru" else text


def format_data(kb: int, lang: str = "ru") -> str:
    """KB to a short human string: 512 -> '512 КБ', 1536 -> '1,5 МБ', 15728640 -> '15 ГБ'.

    Rounds down, so a remaining amount is never overstated.
    """
    units = _DATA_UNITS.get(lang, _DATA_UNITS["ru"])
    sign = MINUS if kb < 0 else ""
    kb = abs(kb)
    if kb >= KB_PER_GB:
        value = (Decimal(kb) / KB_PER_GB).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
        return f"{sign}{_decimal_str(value, lang)}{NBSP}{units[2]}"
    if kb >= KB_PER_MB:
        value = (Decimal(kb) / KB_PER_MB).quantize(Decimal("0.1"), rounding="ROUND_DOWN")
        return f"{sign}{_decimal_str(value, lang)}{NBSP}{units[1]}"
    return f"{sign}{kb}{NBSP}{units[0]}"


def format_amount(amount: int, unit: str, lang: str = "ru") -> str:
    """A bucket amount in its own unit: min, sms or KB."""
    if unit == "KB":
        return format_data(amount, lang)
    sep = "," if lang == "en" else NBSP
    sign = MINUS if amount < 0 else ""
    if unit == "min":
        return f"{sign}{_group(abs(amount), sep)}{NBSP}{'min' if lang == 'en' else 'мин'}"
    return f"{sign}{_group(abs(amount), sep)}{NBSP}SMS"
