"""Detail reports: CSV, HTML and PDF files of a line's records for a period, downloaded or
ordered to e-mail (the simulated mailbox); every ordered report is kept 3 days."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace
from sqlalchemy import select
from sqlmodel import Session

from mts_portal.core import detail, notify
from mts_portal.core.auth import SessionInfo, can_access, format_msisdn, require_line
from mts_portal.core.clock import fmt_date, fmt_datetime, moscow_date
from mts_portal.core.errors import Invalid, NotFound, parse_id
from mts_portal.core.explain import describe
from mts_portal.core.models import Account, Bucket, Line, MailMessage, Report, UsageRecord
from mts_portal.core.money import format_amount, format_data, format_rub
from mts_portal.core.settings import get_settings
from mts_portal.core.words import plural_category

KEEP = timedelta(days=notify.KEEP_DAYS)
FORMATS = ("csv", "html", "pdf")
MAX_PRINTED = 10_000  # rows in HTML/PDF (a CSV has them all)
FONTS = Path(__file__).resolve().parents[1] / "fonts"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
HEADER = {"ru": ["Дата и время", "Тип", "Направление", "Номер", "Длительность/объём", "Зона", "Чем оплачено",
                 "Списано", "Пояснение"],
          "en": ["Date and time", "Type", "Direction", "Number", "Duration/volume", "Zone", "Paid by", "Charged",
                 "Explanation"]}
CHARGED_COL, AMOUNT_COL = 7, 4  # where the totals row puts the money and the minutes/SMS/data
PDF_PAD = 1.0  # mm of padding on each side of a PDF table cell
# the narrowest each PDF column may be (mm), before the header's longest word widens it; the explanation
# takes the rest of the landscape page
PDF_MIN_WIDTHS = (25, 15, 20, 26, 21, 11, 18, 17)
PDF_MAX_WORD = 30.0  # mm: a longer word in a cell may be split rather than squeeze the explanation


@dataclass
class ReportFile:
    report_id: int
    path: Path
    filename: str
    rows: int
    media_type: str


def _records(session: Session, line: Line, start: datetime, end: datetime, kind: str | None):
    q = select(UsageRecord).where(UsageRecord.line_id == line.id, UsageRecord.started_at >= start,
                                  UsageRecord.started_at < end)
    if kind:
        q = q.where(UsageRecord.kind == kind)
    return session.exec(q.order_by(UsageRecord.started_at, UsageRecord.id).execution_options(yield_per=2000)).scalars()


def _buckets(session: Session, line: Line) -> dict[int, tuple[str, str, str | None]]:
    return {b.id: (b.kind, b.source, b.product_code) for b in session.exec(
        select(Bucket).where(Bucket.line_id == line.id)).scalars()}


def records_text(n: int, lang: str) -> str:
    """'1 запись', '3 записи', '174 записи', '1 record', '5 records' (digits grouped)."""
    if lang == "en":
        return f"{n:,}\u00a0{'record' if n == 1 else 'records'}"
    word = {"one": "запись", "few": "записи"}.get(plural_category(n, "ru"), "записей")
    return f"{n:,}".replace(",", "\u00a0") + f"\u00a0{word}"


def totals_row(totals: detail.Totals, lang: str) -> list[str]:
    """The totals as a row of the table: 'Итого' and the count under the first columns, the minutes,
    SMS and data under «Длительность/объём», the money under «Списано»."""
    row = [""] * len(HEADER[lang])
    row[0] = "Итого" if lang == "ru" else "Total"
    row[1] = records_text(totals.count, lang)
    row[AMOUNT_COL] = " · ".join((format_amount(totals.minutes, "min", lang), format_amount(totals.sms, "sms", lang),
                                  format_data(totals.kb, lang)))
    row[CHARGED_COL] = format_rub(totals.charged_kopecks, lang)
    return row


def _cells(e) -> list[str]:
    return [e.when, e.kind, e.direction, e.peer, e.amount, e.zone, e.paid_by, e.charged, e.explain]


def period_text(start: datetime, end: datetime) -> str:
    return f"{fmt_date(start)} — {fmt_date(end - timedelta(seconds=1))}"


def build(session: Session, line: Line, fmt: str, start: datetime, end: datetime, kind: str | None,
          lang: str, dest: Path) -> int:
    """Write the report file; returns how many records it covers."""
    buckets = _buckets(session, line)
    totals = detail.totals(session, line.id, start, end, kind)
    title = ("Детализация" if lang == "ru" else "Detail") + f" {format_msisdn(line.msisdn)}: {period_text(start, end)}"
    total_row = totals_row(totals, lang)
    rows = (describe(detail.to_view(r), lang, buckets) for r in _records(session, line, start, end, kind))
    if fmt == "csv":
        n = 0
        with open(dest, "w", newline="", encoding="utf-8-sig") as f:  # BOM: Excel opens Cyrillic right
            w = csv.writer(f, delimiter=";")
            w.writerow([title])
            w.writerow(HEADER[lang])
            for e in rows:
                w.writerow(_cells(e))
                n += 1
            w.writerow(total_row)
        return n
    printed = []
    for e in rows:
        if len(printed) >= MAX_PRINTED:
            break
        printed.append(e)
    cut = totals.count > len(printed)
    if fmt == "html":
        _html(dest, title, printed, total_row, lang, cut)
    else:
        _pdf(dest, title, printed, total_row, lang, cut)
    return len(printed)


def _summary(total_row: list[str]) -> str:
    """The totals row as one line of text: 'Итого · 41 запись · 123 мин · 1 SMS · 0 КБ · 1 234,00 ₽'."""
    return " · ".join(v for v in total_row if v)


def _html(dest: Path, title: str, rows, total_row, lang: str, cut: bool) -> None:
    esc = html.escape
    out = io.StringIO()
    out.write(f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><title>{esc(title)}</title><style>"
              "body{font-family:Arial,sans-serif;margin:24px;color:#1c1c1c}h1{font-size:20px}"
              "table{border-collapse:collapse;width:100%;font-size:12px}th,td{border:1px solid #ddd;padding:4px 6px;"
              "text-align:left;vertical-align:top}th{background:#f4f4f4}.total{font-weight:bold;margin-top:12px}"
              "tr.total td{background:#fafafa}"
              ".logo{background:#E30611;color:#fff;font-weight:bold;padding:6px 10px;border-radius:8px;"
              "display:inline-block}</style></head><body>")
    out.write(f"<div class='logo'>МТС</div><h1>{esc(title)}</h1><table><tr>")
    out.write("".join(f"<th>{esc(h)}</th>" for h in HEADER[lang]) + "</tr>")
    for e in rows:
        out.write("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in _cells(e)) + "</tr>")
    out.write("<tr class='total'>" + "".join(f"<td>{esc(v)}</td>" for v in total_row) + "</tr></table>")
    if cut:
        out.write(f"<p>{'Показаны первые' if lang == 'ru' else 'First'} {MAX_PRINTED} "
                  f"{'записей; полный список — в CSV.' if lang == 'ru' else 'records; the CSV has them all.'}</p>")
    out.write(f"<p class='total'>{esc(_summary(total_row))}</p></body></html>")
    dest.write_text(out.getvalue(), encoding="utf-8")


def add_fonts(pdf: FPDF) -> None:
    """The portal's typeface, Inter (scripts/fonts.py makes these TrueType files from the same npm package
    as the web font): its Latin subset, then its Cyrillic and Latin-extended (₽) subsets as fallbacks,
    then DejaVu Sans for any sign Inter's subsets lack."""
    for family, stem in (("Inter", "Inter-latin"), ("InterCyr", "Inter-cyrillic"), ("InterExt", "Inter-latin-ext")):
        pdf.add_font(family, "", str(FONTS / f"{stem}-400.ttf"))
        pdf.add_font(family, "B", str(FONTS / f"{stem}-700.ttf"))
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_fallback_fonts(["InterCyr", "InterExt", "DejaVu"])


def pdf_widths(pdf: FPDF, header: list[str], rows: list[list[str]] = ()) -> tuple[float, ...]:
    """Column widths (mm) in which no word is split: each column is at least as wide as its longest
    word — of the header (bold) and of its cells (a country, a number) — with the cell padding; the
    explanation takes what is left (and wraps at spaces)."""
    def widest(words: set[str], style: str) -> float:
        pdf.set_font("Inter", style, 7)
        return max((pdf.get_string_width(w) for w in words), default=0.0)

    widths = []
    for i, h in enumerate(header[:-1]):
        words = {w for row in rows for w in row[i].split()}
        need = max(widest(set(_pdf_header(h).split()), "B"), min(widest(words, ""), PDF_MAX_WORD))
        widths.append(max(PDF_MIN_WIDTHS[i], round(need + 2 * PDF_PAD + 1.5, 1)))
    widths.append(pdf.epw - sum(widths))
    pdf.set_font("Inter", "", 7)
    return tuple(widths)


def _pdf_header(h: str) -> str:
    """A header as printed in the PDF: 'Длительность/объём' may wrap after the slash."""
    return h.replace("/", "/ ")


def _pdf(dest: Path, title: str, rows, total_row, lang: str, cut: bool) -> None:
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    add_fonts(pdf)
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_fill_color(227, 6, 17)
    pdf.set_text_color(255, 255, 255)
    pdf.set_font("Inter", "B", 11)
    pdf.cell(18, 8, "МТС", fill=True, align="C")
    pdf.set_text_color(0, 0, 0)
    pdf.set_fill_color(255, 255, 255)  # the logo's red must not fill the table
    pdf.ln(10)
    pdf.set_font("Inter", "B", 13)
    pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    cells = [_cells(e) for e in rows]
    widths = pdf_widths(pdf, HEADER[lang], cells)
    grey = FontFace(emphasis="BOLD", fill_color=(240, 240, 240))
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=4, first_row_as_headings=True,
                   headings_style=grey, padding=(0.8, PDF_PAD)) as table:
        header = table.row()
        for h in HEADER[lang]:
            header.cell(_pdf_header(h))
        for row in cells:
            r = table.row()
            for v in row:
                r.cell(v)
        r = table.row()
        # in the PDF the count goes under «Итого» (the narrow «Тип» column would split '15 записей')
        for v in [f"{total_row[0]}: {total_row[1]}", "", *total_row[2:]]:
            r.cell(v, style=grey)
    pdf.ln(4)
    if cut:
        pdf.multi_cell(0, 5, (f"Показаны первые {MAX_PRINTED} записей; полный список — в CSV." if lang == "ru" else
                              f"First {MAX_PRINTED} records; the CSV has them all."), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Inter", "B", 9)
    pdf.multi_cell(0, 6, _summary(total_row))
    pdf.output(str(dest))


def reports_dir() -> Path:
    path = get_settings().data_dir / "reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def make(session: Session, info: SessionInfo, msisdn: str, fmt: str, start: datetime, end: datetime,
         kind: str | None, lang: str, now: datetime, email: str | None = None) -> ReportFile:
    """Build a report for a number of the account; it is kept 3 days (and mailed if asked)."""
    line = require_line(session, info, msisdn)
    if fmt not in FORMATS:
        raise Invalid("format: csv, html or pdf", "Формат: CSV, HTML или PDF")
    if kind not in (None, "voice", "sms", "data"):
        raise Invalid("kind: voice, sms or data", "Тип: звонки, SMS или интернет")
    if start >= end:
        raise Invalid("the period is empty", "Начало периода должно быть раньше конца")
    if end - start > timedelta(days=186):
        raise Invalid("a report covers at most 6 months", "Отчёт — не больше чем за 6 месяцев")
    if email is not None:
        email = email.strip()
        if not EMAIL.match(email) or len(email) > 200:
            raise Invalid("e-mail: not an address", "Неверный адрес электронной почты")
    dest = reports_dir() / f"{uuid.uuid4().hex}.{fmt}"
    rows = build(session, line, fmt, start, end, kind, lang, dest)
    name = filename(line.msisdn, fmt, start, end)
    report = Report(line_id=line.id, fmt=fmt, period_from=start, period_to=end, kind=kind, path=str(dest),
                    to_email=email, created_at=now, expires_at=now + KEEP)
    session.add(report)
    session.flush()
    if email:
        number, period, until = format_msisdn(line.msisdn), period_text(start, end), fmt_datetime(report.expires_at)
        if lang == "en":
            subject = f"Detail {number}"
            body = (f"Hello! Attached is the detail of {number} for {period} ({records_text(rows, lang)}). "
                    f"The report is kept until {until}.")
        else:
            subject = f"Детализация {number}"
            body = (f"Здравствуйте! Во вложении детализация номера {number} за период {period} "
                    f"({records_text(rows, lang)}). Отчёт хранится до {until}.")
        session.add(MailMessage(to_email=email, subject=subject, body=body, attachment_path=str(dest),
                                attachment_name=name, created_at=now))
    return ReportFile(report.id, dest, name, rows, MEDIA[fmt])


def filename(msisdn: str, fmt: str, start: datetime, end: datetime) -> str:
    """'detail_79161234567_20261201-20261231.csv': the period's first and last days, Moscow dates (a
    period starts at 00:00 Moscow time, which is the evening before in UTC)."""
    first, last = moscow_date(start), moscow_date(end - timedelta(seconds=1))
    return f"detail_{msisdn}_{first:%Y%m%d}-{last:%Y%m%d}.{fmt}"


MEDIA = {"csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8", "pdf": "application/pdf"}


def get(session: Session, info: SessionInfo, report_id, now: datetime) -> ReportFile:
    report = session.get(Report, parse_id(report_id))
    if report is None or report.expires_at <= now or not can_access(session, info.account_id,
                                                                     session.get(Line, report.line_id)):
        raise NotFound("no such report (reports are kept 3 days)", "Отчёт не найден: отчёты хранятся 3 дня")
    line = session.get(Line, report.line_id)
    name = filename(line.msisdn, report.fmt, report.period_from, report.period_to)
    return ReportFile(report.id, Path(report.path), name, 0, MEDIA[report.fmt])


def listed(session: Session, info: SessionInfo, msisdn: str, now: datetime) -> list[Report]:
    line = require_line(session, info, msisdn)
    return list(session.exec(select(Report).where(Report.line_id == line.id, Report.expires_at > now)
                             .order_by(Report.created_at.desc())).scalars())


def account_email(session: Session, info: SessionInfo) -> str:
    account = session.get(Account, info.account_id)
    return (account.email or "") if account else ""
