"""Phone numbers people type: parsed, classified and formatted by `phonenumbers` (the Python port of
Google's libphonenumber), not by hand-written digit rules.

A subscriber's number on this network is a Russian mobile number (+7 9XX): the login form, adding a
number, transfers, family invitations, call forwarding and SMS recipients take only those. A landline
(+7 495 …), a toll-free number (+7 800 …) or a Kazakh mobile (+7 7XX) is a format error, said as such.
Whether a mobile number is one of ours is not said here (no enumeration: an unknown mobile number gets
the same answer as a known one). A callback may go to any Russian number, landlines included.

The ingestion hot path keeps its own cheap check (`auth.is_msisdn`: 11 digits starting with 7)."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from mts_portal.core.errors import Invalid

_MOBILE = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
FORMAT_RU = "Введите номер в формате +7 9XX XXX-XX-XX"
FORMAT_EN = "phone number: a Russian mobile number, +7 9XX XXX-XX-XX"


def _parse(text: str) -> phonenumbers.PhoneNumber:
    raw = str(text or "").strip()
    digits = "".join(ch for ch in raw if ch.isdigit())
    if not digits or len(raw) > 40:
        raise Invalid(FORMAT_EN, FORMAT_RU)
    # '79161234567' typed without '+': an 11-digit number starting with 7 is already international
    if not raw.startswith("+") and len(digits) == 11 and digits[0] == "7":
        raw = "+" + digits
    try:
        number = phonenumbers.parse(raw, "RU")
    except NumberParseException as exc:
        raise Invalid(FORMAT_EN, FORMAT_RU) from exc
    if not phonenumbers.is_valid_number(number):
        raise Invalid(FORMAT_EN, FORMAT_RU)
    return number


def _digits(number: phonenumbers.PhoneNumber) -> str:
    return f"{number.country_code}{number.national_number}"


def normalize_mobile(text: str) -> str:
    """'+7 (916) 123-45-67', '89161234567', '9161234567', '79161234567' -> '79161234567'.
    Raises Invalid for anything that is not a valid Russian mobile number."""
    number = _parse(text)
    if phonenumbers.region_code_for_number(number) != "RU":
        raise Invalid("phone number: not a Russian number", "Это номер не российского оператора: "
                      "введите номер в формате +7 9XX XXX-XX-XX")
    if phonenumbers.number_type(number) not in _MOBILE:
        raise Invalid("phone number: not a mobile number (a landline or a service number)",
                      "Это не мобильный номер: введите номер в формате +7 9XX XXX-XX-XX")
    return _digits(number)


def normalize_russian(text: str) -> str:
    """Any valid Russian number (mobile or landline) as 11 digits: where a person may be called back."""
    number = _parse(text)
    if phonenumbers.region_code_for_number(number) != "RU":
        raise Invalid("phone number: not a Russian number", "Укажите российский номер: +7 XXX XXX-XX-XX")
    return _digits(number)


def format_number(msisdn: str) -> str:
    """'79161234567' -> '+7 916 123-45-67' (libphonenumber's international format); anything it cannot
    read is shown as it is."""
    if not msisdn or not msisdn.isdigit():
        return msisdn
    try:
        number = phonenumbers.parse("+" + msisdn, None)
    except NumberParseException:
        return msisdn
    if not phonenumbers.is_possible_number(number):
        return msisdn
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
