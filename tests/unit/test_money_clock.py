from datetime import UTC, date, datetime

import pytest

from mts_portal.core.clock import moscow_date, period_of, prorate_down, prorate_up
from mts_portal.core.money import MoneyFormatError, format_data, format_rub, parse_rub


def test_format_rub_ru_and_en():
    assert format_rub(123456) == "1\u00a0234,56\u00a0₽"
    assert format_rub(-5) == "\u22120,05\u00a0₽"
    assert format_rub(100000000, "en") == "1,000,000.00\u00a0₽"
    assert format_rub(0) == "0,00\u00a0₽"


@pytest.mark.parametrize("text,kopecks", [("100", 10000), ("100,5", 10050), ("1 000.25", 100025), ("0.01", 1),
                                          ("250 ₽", 25000)])
def test_parse_rub(text, kopecks):
    assert parse_rub(text) == kopecks


@pytest.mark.parametrize("text", ["", "abc", "1.234", "NaN", "inf", "1e3.5"])
def test_parse_rub_rejects(text):
    with pytest.raises(MoneyFormatError):
        parse_rub(text)


def test_format_data_rounds_down():
    assert format_data(512) == "512\u00a0КБ"
    assert format_data(1536) == "1,5\u00a0МБ"
    assert format_data(15 * 1024 * 1024) == "15\u00a0ГБ"
    assert format_data(1024 * 1024 - 1) == "1023,9\u00a0МБ"
    assert format_data(1024 * 1024 * 3 // 2, "en") == "1.5\u00a0GB"


def test_moscow_period_bounds():
    # 2026-11-30 21:30 UTC is already December 1st in Moscow
    p = period_of(datetime(2026, 11, 30, 21, 30, tzinfo=UTC))
    assert moscow_date(p.start) == date(2026, 12, 1)
    assert p.start == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    assert p.days == 31
    nov = period_of(datetime(2026, 11, 22, 12, tzinfo=UTC))
    assert nov.days == 30 and nov.remaining_days(datetime(2026, 11, 22, 12, tzinfo=UTC)) == 9
    assert nov.next().start == p.start


def test_proration_rounding():
    assert prorate_up(55000, 9, 30) == 16500
    assert prorate_up(55000, 1, 31) == 1775  # 1774.19 -> up
    assert prorate_down(500, 1, 31) == 16  # 16.1 -> down
