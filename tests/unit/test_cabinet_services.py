"""Services, roaming, bonus, detail exports, SMS sending, notifications and support."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from mts_portal.core import bonus, cabinet, charging, jobs, reports, support
from mts_portal.core.db import read, transact
from mts_portal.core.errors import Conflict, Invalid, NotFound
from mts_portal.core.models import BonusEntry, MailMessage, Report, SmsMessage, UsageRecord
from tests.conftest import T0
from tests.helpers import ev, line_state, make_line
from tests.unit.test_access_matrix import session_for

A, B = "79210000001", "79210000002"
BORN = T0 - timedelta(days=2)


@pytest.fixture
def world(store, tmp_path, monkeypatch):
    from mts_portal.core.settings import get_settings

    monkeypatch.setattr(get_settings(), "data_dir", tmp_path)
    make_line(store, A, "smart", balance=100_000, now=BORN)
    make_line(store, B, "minimum", balance=0, now=BORN)
    _, info = session_for(store, A)
    return store, info


def test_a_roaming_toggle_changes_the_next_events_charge(world):
    store, info = world
    call = lambda i: ev(A, "voice", T0 - timedelta(minutes=i), duration_s=60, zone="russia")  # noqa: E731
    [r] = charging.ingest(store, [call(1)], now=T0)
    assert r.charged_kopecks == 500 and r.drawn == []  # 5 ₽/min, not from the bundle
    transact(store, lambda s: cabinet.connect(s, info, A, "vezde_kak_doma", T0))
    [r] = charging.ingest(store, [call(2)], now=T0)
    assert r.charged_kopecks == 0 and r.drawn[0]["amount"] == 1  # as at home: from the bundle
    transact(store, lambda s: cabinet.disconnect(s, info, A, "vezde_kak_doma", T0))
    [r] = charging.ingest(store, [call(3)], now=T0)
    assert r.charged_kopecks == 500


def test_zabugorishche_toggle(world):
    store, info = world
    [r] = charging.ingest(store, [ev(A, "data", T0 - timedelta(minutes=5), bytes=1024 * 1024, zone="TR")], now=T0)
    assert r.charged_kopecks == 15_000
    transact(store, lambda s: cabinet.connect(s, info, A, "zabugorishche", T0))
    [r] = charging.ingest(store, [ev(A, "data", T0 - timedelta(minutes=4), bytes=1024 * 1024, zone="TR")], now=T0)
    assert r.charged_kopecks == 35_000 and r.drawn  # the daily fee, the MB from the bundle


def test_bonus_exchange(world):
    store, info = world
    assert line_state(store, A).bonus_points == 40  # 201,67 ₽ fee at provisioning (11 of 30 days)
    with pytest.raises(Conflict):
        transact(store, lambda s: bonus.exchange(s, info, A, "internet_1gb", T0))  # 150 points needed
    charging.ingest(store, [ev(A, "voice", T0 - timedelta(minutes=i), duration_s=60, zone="TR") for i in range(30)],
                    now=T0)  # 30 × 49 ₽ = 1470 ₽ -> 294 more points
    points = line_state(store, A).bonus_points
    transact(store, lambda s: bonus.exchange(s, info, A, "internet_1gb", T0))
    assert line_state(store, A).bonus_points == points - 150
    with pytest.raises(Invalid):
        transact(store, lambda s: bonus.exchange(s, info, A, "internet_5gb", T0))  # not in the bonus catalogue
    hist = read(store, lambda s: bonus.history(s, info, A))
    assert hist[0].points == -150 and hist[0].reason == "exchange"


def test_a_repeated_bonus_exchange_spends_once(world):
    """A double click sends the same request key twice: the repeat is a duplicate_request, not
    «Недостаточно баллов» or a second exchange."""
    store, info = world

    def grant(s):
        line = s.get(cabinet.Line, line_state(store, A).id)
        s.add(BonusEntry(line_id=line.id, points=1000, reason="earned", description="test", created_at=T0))
        line.bonus_points += 1000
        s.add(line)
        cabinet.billing.touch(s, line, T0)

    transact(store, grant)
    points = line_state(store, A).bonus_points
    transact(store, lambda s: bonus.exchange(s, info, A, "goodok", T0, request_key="k-1"))
    with pytest.raises(Conflict) as err:
        transact(store, lambda s: bonus.exchange(s, info, A, "goodok", T0, request_key="k-1"))
    assert err.value.code == "duplicate_request"
    assert line_state(store, A).bonus_points == points - 100
    transact(store, lambda s: bonus.exchange(s, info, A, "internet_1gb", T0, request_key="k-2"))
    with pytest.raises(Conflict) as err:
        transact(store, lambda s: bonus.exchange(s, info, A, "internet_1gb", T0, request_key="k-2"))
    assert err.value.code == "duplicate_request"
    assert line_state(store, A).bonus_points == points - 250
    assert read(store, lambda s: cabinet.billing.check_invariants(session=s)) == []


def test_points_prepay_the_daily_fee_of_zero_without_borders(world):
    store, info = world
    transact(store, lambda s: s.add(BonusEntry(line_id=line_state(store, A).id, points=1000, reason="earned",
                                               description="test", created_at=T0)))

    def grant(s):
        line = s.get(cabinet.Line, line_state(store, A).id)
        line.bonus_points += 1000
        s.add(line)
        cabinet.billing.touch(s, line, T0)

    transact(store, grant)
    transact(store, lambda s: bonus.exchange(s, info, A, "nol_bez_granits", T0))
    [r] = charging.ingest(store, [ev(A, "voice", T0 - timedelta(minutes=1), duration_s=120, zone="TR",
                                     direction="in")], now=T0)
    assert r.status == "rated" and r.charged_kopecks == 0  # free minutes, and no 60 ₽ daily fee
    assert read(store, lambda s: cabinet.billing.check_invariants(session=s)) == []


def _usage(store):
    events = [ev(A, "voice", T0 - timedelta(hours=i), duration_s=61 + i) for i in range(1, 6)]
    events += [ev(A, "data", T0 - timedelta(hours=i, minutes=30), bytes=10_000 * i) for i in range(1, 4)]
    events += [ev(A, "sms", T0 - timedelta(hours=3, minutes=10), zone="TR")]
    charging.ingest(store, events, now=T0)
    return events


def test_csv_export_equals_the_store(world):
    store, info = world
    _usage(store)
    rep = transact(store, lambda s: reports.make(s, info, A, "csv", T0 - timedelta(days=1), T0, None, "ru", T0))
    text = rep.path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    body = rows[2:-1]
    records = read(store, lambda s: list(s.exec(select(UsageRecord).order_by(UsageRecord.started_at)).scalars()))
    assert len(body) == len(records) == rep.rows == 9
    charged = sum(int(r[7].replace("\u00a0₽", "").replace(",", "").replace("\u00a0", "")) for r in body)
    assert charged == sum(r.charged_kopecks for r in records) == 1900
    assert any("из пакета минут" in r[8] and "округление" in r[8] for r in body)
    # the totals row lines up with the header: money under «Списано», units under «Длительность/объём»
    header, total = rows[1], rows[-1]
    assert len(total) == len(header) == 9
    assert header[reports.CHARGED_COL] == "Списано" and total[reports.CHARGED_COL] == "19,00\u00a0₽"
    assert header[reports.AMOUNT_COL] == "Длительность/объём"
    assert total[reports.AMOUNT_COL] == "10\u00a0мин · 1\u00a0SMS · 60\u00a0КБ"
    assert total[0] == "Итого" and total[1] == "9\u00a0записей" and total[2:4] == ["", ""] and total[8] == ""


def test_pdf_and_html_exports(world):
    store, info = world
    _usage(store)
    pdf = transact(store, lambda s: reports.make(s, info, A, "pdf", T0 - timedelta(days=1), T0, None, "ru", T0))
    text = "".join(p.extract_text() for p in PdfReader(pdf.path).pages)
    assert "Детализация" in text and "Звонок" in text and "Итого" in text and "19,00" in text
    page = transact(store, lambda s: reports.make(s, info, A, "html", T0 - timedelta(days=1), T0, "data", "en", T0))
    html = page.path.read_text()
    assert html.count("<tr>") == 1 + 3 and "Internet" in html
    assert html.count("<tr class='total'>") == 1 and "3\u00a0records" in html


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_pdf_header_words_are_never_split(world, lang):
    """Every header word is whole in the PDF's text (fpdf2 splits a word wider than its column)."""
    from fpdf import FPDF

    store, info = world
    _usage(store)
    pdf = transact(store, lambda s: reports.make(s, info, A, "pdf", T0 - timedelta(days=1), T0, None, lang, T0))
    words = set(PdfReader(pdf.path).pages[0].extract_text().split())
    for header in reports.HEADER[lang]:
        for word in header.replace("/", "/ ").split():
            assert word in words, (word, sorted(words)[:40])
    assert ("Турция" if lang == "ru" else "Türkiye") in words  # a cell's word is not split either
    # the portal's one typeface: Inter's Latin and Cyrillic subsets, DejaVu only for signs Inter lacks
    fonts = {str(f["/BaseFont"]) for f in PdfReader(pdf.path).pages[0]["/Resources"]["/Font"].values()}
    assert any("Inter-Regular" in f or "Inter" in f for f in fonts), fonts
    if lang == "ru":
        assert sum("Inter" in f for f in fonts) >= 2, fonts  # Cyrillic comes from Inter's Cyrillic subset
    probe = FPDF(orientation="L", unit="mm", format="A4")
    reports.add_fonts(probe)
    probe.add_page()
    widths = reports.pdf_widths(probe, reports.HEADER[lang])
    assert abs(sum(widths) - probe.epw) < 0.01 and widths[-1] > 100  # the explanation keeps most of the page
    probe.set_font("Inter", "", 7)
    assert probe.get_string_width("+7 999 999-99-99") + 2 * reports.PDF_PAD <= widths[3]  # a number on one line


def test_export_file_names_carry_the_moscow_dates_of_the_period(world):
    """A period starts at 00:00 Moscow time (21:00 UTC the day before): the name has the Moscow days,
    the first and the last, for downloads and mail attachments alike."""
    from mts_portal.core.clock import period_of

    store, info = world
    p = period_of(T0)  # November 2026: 31.10 21:00 UTC — 30.11 21:00 UTC
    assert reports.filename(A, "csv", p.start, p.end) == f"detail_{A}_20261101-20261130.csv"
    rep = transact(store, lambda s: reports.make(s, info, A, "pdf", p.start, p.end, None, "ru", T0,
                                                 email="anna@example.com"))
    assert rep.filename == f"detail_{A}_20261101-20261130.pdf"
    assert read(store, lambda s: reports.get(s, info, rep.report_id, T0)).filename == rep.filename
    mail = read(store, lambda s: s.exec(select(MailMessage)).scalars().one())
    assert mail.attachment_name == rep.filename


def test_an_english_report_has_no_russian_left(world):
    """Every cell of an English export is English: the explanation's units ('2 min × 5.00 ₽'), the
    daily fee's date as on screen, countries by name."""
    import re

    store, info = world
    transact(store, lambda s: cabinet.connect(s, info, A, "zabugorishche", T0 - timedelta(hours=5)))
    charging.ingest(store, [ev(A, "voice", T0 - timedelta(hours=2), duration_s=120, zone="russia"),
                            ev(A, "sms", T0 - timedelta(hours=1), zone="TR")], now=T0)
    rep = transact(store, lambda s: reports.make(s, info, A, "csv", T0 - timedelta(days=1), T0, None, "en", T0))
    rows = list(csv.reader(io.StringIO(rep.path.read_text(encoding="utf-8-sig")), delimiter=";"))
    cyrillic = [c for r in rows[1:] for c in r if re.search("[а-яёА-ЯЁ]", c)]
    assert cyrillic == []
    text = " ".join(c for r in rows for c in r)
    assert "2 min × 5.00" in text.replace("\u00a0", " ") and "Türkiye" in text
    assert "for 22.11.2026" in text  # the daily fee's day, not '2026-11-22'


def test_records_are_counted_in_words(world):
    assert [reports.records_text(n, "ru") for n in (1, 3, 5, 21, 174, 1496)] == [
        "1\u00a0запись", "3\u00a0записи", "5\u00a0записей", "21\u00a0запись", "174\u00a0записи",
        "1\u00a0496\u00a0записей"]
    assert [reports.records_text(n, "en") for n in (1, 2, 1496)] == ["1\u00a0record", "2\u00a0records",
                                                                     "1,496\u00a0records"]


def test_an_order_in_english_is_mailed_in_english(world):
    store, info = world
    _usage(store)
    transact(store, lambda s: reports.make(s, info, A, "csv", T0 - timedelta(days=1), T0, None, "en", T0,
                                           email="anna@example.com"))
    mail = read(store, lambda s: s.exec(select(MailMessage)).scalars().one())
    assert mail.subject.startswith("Detail +7") and "9\u00a0records" in mail.body and "Детализация" not in mail.body


def test_order_to_email_kept_three_days(world):
    store, info = world
    _usage(store)
    with pytest.raises(Invalid):
        transact(store, lambda s: reports.make(s, info, A, "csv", T0 - timedelta(days=1), T0, None, "ru", T0,
                                               email="not-an-address"))
    rep = transact(store, lambda s: reports.make(s, info, A, "pdf", T0 - timedelta(days=1), T0, None, "ru", T0,
                                                 email="anna@example.com"))
    mail = read(store, lambda s: s.exec(select(MailMessage)).scalars().one())
    assert mail.to_email == "anna@example.com" and mail.attachment_name.endswith(".pdf")
    assert read(store, lambda s: reports.get(s, info, rep.report_id, T0 + timedelta(days=2))).path.exists()
    _, info_b = session_for(store, B)
    with pytest.raises(NotFound):
        read(store, lambda s: reports.get(s, info_b, rep.report_id, T0))
    jobs.run_due(store, T0 + timedelta(days=3, minutes=1))
    with pytest.raises(NotFound):
        read(store, lambda s: reports.get(s, info, rep.report_id, T0 + timedelta(days=3, minutes=1)))
    assert not rep.path.exists()
    assert read(store, lambda s: s.exec(select(func.count()).select_from(Report)).scalar_one()) == 0


def test_send_sms_is_rated_delivered_once(world):
    store, info = world
    sent = cabinet.send_sms(store, info, B, "Привет! Как дела?", T0, "req-1")
    assert sent.status == "rated" and sent.charged_kopecks == 0  # from the SMS bundle
    again = cabinet.send_sms(store, info, B, "Привет! Как дела?", T0, "req-1")
    assert again.status == "duplicate"
    inbox = read(store, lambda s: list(s.exec(select(SmsMessage).where(SmsMessage.to_msisdn == B,
                                                                        SmsMessage.sender == A)).scalars()))
    assert len(inbox) == 1 and inbox[0].text == "Привет! Как дела?"
    with pytest.raises(Invalid):
        cabinet.send_sms(store, info, B, "я" * 71, T0, "req-2")
    assert len("a" * 160) <= cabinet.sms_limit("a" * 160)
    with pytest.raises(Invalid):
        cabinet.send_sms(store, info, B, "  ", T0, "req-3")


def test_send_sms_with_the_longest_request_key_and_keys_of_other_accounts(world):
    store, info = world
    key = "k" * 128  # the longest key a client may send: the event id stays within its 128 characters
    assert cabinet.send_sms(store, info, B, "one", T0, key).status == "rated"
    assert cabinet.send_sms(store, info, B, "one", T0, key).status == "duplicate"
    inbox = read(store, lambda s: list(s.exec(select(SmsMessage).where(SmsMessage.to_msisdn == B,
                                                                        SmsMessage.sender == A)).scalars()))
    assert [m.text for m in inbox] == ["one"]


def test_send_sms_is_charged_and_delivered_in_one_transaction(world, monkeypatch):
    """A failure while storing the batch leaves neither the charge nor the message."""
    store, info = world
    from mts_portal.core import fastsql

    original = fastsql.FastSQL.insert

    def failing_insert(self, table, columns, rows):
        if table == "sms_messages" and rows:
            raise RuntimeError("disk full")
        return original(self, table, columns, rows)

    monkeypatch.setattr(fastsql.FastSQL, "insert", failing_insert)
    before = line_state(store, A)
    with pytest.raises(RuntimeError):
        cabinet.send_sms(store, info, B, "lost?", T0, "req-crash")
    after = line_state(store, A)
    assert (after.balance_kopecks, after.version) == (before.balance_kopecks, before.version)
    assert read(store, lambda s: s.exec(select(func.count()).select_from(SmsMessage)
                                        .where(SmsMessage.sender == A)).scalar_one()) == 0
    monkeypatch.setattr(fastsql.FastSQL, "insert", original)
    assert cabinet.send_sms(store, info, B, "lost?", T0, "req-crash").status == "rated"  # the retry sends it


def test_send_sms_without_money_is_blocked_and_not_delivered(store):
    make_line(store, B, "minimum", balance=0, now=BORN)
    make_line(store, A, "minimum", balance=100, now=BORN)
    _, info = session_for(store, A)
    sent = cabinet.send_sms(store, info, B, "hi", T0, "req")
    assert sent.status == "blocked"
    assert read(store, lambda s: s.exec(select(func.count()).select_from(SmsMessage)
                                        .where(SmsMessage.sender == A)).scalar_one()) == 0


def test_voluntary_block_blocks_usage(world):
    store, info = world
    transact(store, lambda s: cabinet.voluntary_block(s, info, A, True, T0))
    assert line_state(store, A).status == "blocked"
    [r] = charging.ingest(store, [ev(A, "sms", T0 - timedelta(minutes=1))], now=T0)
    assert r.status == "blocked"
    with pytest.raises(Conflict):
        transact(store, lambda s: cabinet.voluntary_block(s, info, A, True, T0))
    transact(store, lambda s: cabinet.voluntary_block(s, info, A, False, T0))
    assert line_state(store, A).status == "active"


def test_content_subscription_daily_fees_and_cancel(world):
    store, info = world
    transact(store, lambda s: cabinet.connect(s, info, A, "content_horoscope", T0))
    assert line_state(store, A).balance_kopecks == 100_000 - 1_000
    jobs.run_due(store, T0 + timedelta(days=2))  # two more Moscow days started
    assert line_state(store, A).balance_kopecks == 100_000 - 3_000
    transact(store, lambda s: cabinet.disconnect(s, info, A, "content_horoscope", T0 + timedelta(days=2)))
    jobs.run_due(store, T0 + timedelta(days=4))
    assert line_state(store, A).balance_kopecks == 100_000 - 3_000


def test_notifications_listed_and_marked_read(world):
    store, info = world
    transact(store, lambda s: cabinet.billing.top_up(session=s, msisdn=A, amount_kopecks=1_000, key="n", now=T0))
    notes = read(store, lambda s: cabinet.notifications(s, info, A, T0))
    assert notes and all(n.read_at is None for n in notes)
    n = transact(store, lambda s: cabinet.mark_all_read(s, info, A, T0))
    assert n == len(notes)
    assert read(store, lambda s: cabinet.notifications(s, info, A, T0 + timedelta(days=4))) == []  # kept 3 days


def test_support_search_chat_and_callback(world):
    store, info = world
    assert support.search("роуминг за границей")[0][0].id == "roaming"
    assert support.search("how to top up")[0][0].id == "topup"
    reply = support.chat_answer("Как пополнить счёт?")
    assert reply.faq_id == "topup" and not reply.handover
    assert support.chat_answer("хочу поговорить с оператором").handover
    assert support.chat_answer("абракадабра").handover
    with pytest.raises(Invalid):
        transact(store, lambda s: support.request_callback(s, info, "123", "вопрос", None, T0))
    req = transact(store, lambda s: support.request_callback(s, info, A, "Не работает интернет", "после 18:00", T0))
    assert req.phone == A
    assert support.shops("Москва") and support.shops("moscow") == support.shops("Москва")
    assert support.shops("Атлантида") == []
    kazan = support.shops("Казань")[0]
    assert (kazan.address("en"), kazan.metro("en")) == ("44 Baumana St", "Kremlyovskaya")
    assert (kazan.address("ru"), kazan.metro("ru")) == ("ул. Баумана, 44", "Кремлёвская")
    assert support.city_name("Нижний Новгород", "en") == "Nizhny Novgorod"
    assert all(sh.address_en.isascii() and sh.metro_en.isascii() for shops in support.SHOPS.values() for sh in shops)


def test_roaming_terms_state_the_price_and_when_it_is_charged():
    on = cabinet.option_terms("zabugorishche", True)
    assert "350,00\u00a0₽ в сутки в 30 популярных странах" in on.ru and "490,00\u00a0₽" in on.ru
    assert "при первом исходящем звонке, SMS или интернет-сессии за границей" in on.ru
    assert "350.00\u00a0₽ a day in the 30 popular countries" in on.en and "490.00\u00a0₽ a day elsewhere" in on.en
    nbg = cabinet.option_terms("nol_bez_granits", True)
    assert "60,00\u00a0₽ в сутки" in nbg.ru and "входящ" in nbg.ru and "60.00\u00a0₽ a day" in nbg.en
    assert "Бесплатно" in cabinet.option_terms("vezde_kak_doma", True).ru
    assert "49,00\u00a0₽/мин" in cabinet.option_terms("zabugorishche", False).ru
    with pytest.raises(Invalid):
        cabinet.option_terms("nope", True)


def test_the_family_invite_terms_prorate_the_member_fee():
    terms = cabinet.family_invite_terms(T0)  # 22 November: 9 days of 30 left
    assert "50,00\u00a0₽ в месяц" in terms.ru and "15,00\u00a0₽ за 9\u00a0дней из 30" in terms.ru
    assert "15.00\u00a0₽ for 9\u00a0days of 30" in terms.en
    first = cabinet.family_invite_terms(T0.replace(day=1) - timedelta(hours=9) + timedelta(days=30))  # 1 Dec MSK
    assert "50,00\u00a0₽ за 31\u00a0день из 31" in first.ru

