"""Numbers people type are parsed and classified by phonenumbers; every code field has one rule;
typed days follow the interface's formats."""

from __future__ import annotations

from datetime import date

import pytest

from mts_portal.core import auth, phones
from mts_portal.core.errors import Invalid


@pytest.mark.parametrize("text", ["+7 (916) 123-45-67", "89161234567", "9161234567", "79161234567",
                                  "+7 916 123 45 67", " 8-916-123-45-67 "])
def test_a_mobile_number_in_every_usual_spelling(text):
    assert auth.normalize_msisdn(text) == "79161234567"


@pytest.mark.parametrize("text,words", [
    ("74951234567", "не мобильный"),  # a Moscow landline
    ("+7 800 555-35-35", "не мобильный"),  # toll-free
    ("+7 701 123-45-67", "не российского"),  # a Kazakh mobile number (+7 as well)
    ("+1 212 555 0100", "не российского"),
    ("12345", "формате"), ("", "формате"), ("абв", "формате"), ("7916123456789", "формате"),
])
def test_what_is_not_a_russian_mobile_number_is_a_format_error(text, words):
    with pytest.raises(Invalid) as err:
        auth.normalize_msisdn(text)
    assert words in err.value.message("ru")


def test_a_callback_may_go_to_a_landline():
    assert phones.normalize_russian("+7 (495) 123-45-67") == "74951234567"
    with pytest.raises(Invalid):
        phones.normalize_russian("+1 212 555 0100")


def test_numbers_are_formatted_by_the_library():
    assert auth.format_msisdn("79161234567") == "+7 916 123-45-67"
    assert auth.format_msisdn("74951234567") == "+7 495 123-45-67"
    assert auth.format_msisdn("garbage") == "garbage"


@pytest.mark.parametrize("text,code", [("123456", "123456"), ("123 456", "123456"), ("123-456", "123456"),
                                       ("abcdef", None), ("12345", None), ("", None), (None, None),
                                       ("１２３４５６", None), ("1234567", None)])
def test_one_rule_for_every_code_field(text, code):
    assert auth.typed_code(text) == code


def test_contract_number():
    assert auth.contract_number(1234) == "770000001234"


def test_typed_days():
    from mts_portal.state.detail import field_day, parse_day

    d = date(2026, 12, 1)
    assert field_day(d, "ru") == "01.12.2026" and field_day(d, "en") == "1 Dec 2026"
    for text in ("01.12.2026", "1.12.2026", "2026-12-01", "01/12/2026", "1 Dec 2026", " 1  December 2026 "):
        assert parse_day(text) == d
    with pytest.raises(ValueError):
        parse_day("12/31/2026")  # month first is not a format of either language
