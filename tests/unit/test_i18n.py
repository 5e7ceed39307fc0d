"""Texts: both languages for every key, and Russian plural forms."""

import pytest

from mts_portal.i18n import TEXTS, count_text, plural


@pytest.mark.parametrize("n,form", [(0, "минут"), (1, "минута"), (2, "минуты"), (4, "минуты"), (5, "минут"),
                                    (11, "минут"), (12, "минут"), (14, "минут"), (21, "минута"), (22, "минуты"),
                                    (101, "минута"), (111, "минут"), (112, "минут"), (1_000_002, "минуты")])
def test_russian_plural_forms(n, form):
    assert plural(n, "минута", "минуты", "минут") == form


def test_count_text_groups_digits_in_both_languages():
    assert count_text(1496, "ru", ("минута", "минуты", "минут"), ("minute", "minutes")) == "1\u00a0496\u00a0минут"
    assert count_text(1, "en", ("минута", "минуты", "минут"), ("minute", "minutes")) == "1\u00a0minute"
    assert count_text(1496, "en", ("минута", "минуты", "минут"), ("minute", "minutes")) == "1,496\u00a0minutes"


def test_every_text_exists_in_both_languages():
    import mts_portal.mts_portal  # noqa: F401  (pages register their texts on import)

    assert TEXTS["ru"].keys() == TEXTS["en"].keys()
    empty = [k for k in TEXTS["en"] if not TEXTS["en"][k].strip() or not TEXTS["ru"][k].strip()]
    assert empty == []
