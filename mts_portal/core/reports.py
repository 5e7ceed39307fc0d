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
from sqlalchemy import select
from sqlmodel import Session

from mts_portal.core import detail, notify
from mts_portal.core.auth import SessionInfo, can_access, format_msisdn, require_line
from mts_portal.core.clock import fmt_date, fmt_datetime
from mts_portal.core.errors import Invalid, NotFound, parse_id
from mts_portal.core.explain import describe
from mts_portal.core.models import Account, Bucket, Line, MailMessage, Report, UsageRecord
from mts_portal.core.money import format_data, format_rub
from mts_portal.core.settings import get_settings

KEEP = timedelta(days=notify.KEEP_DAYS)
FORMATS = ("csv", "html", "pdf")
MAX_PRINTED = 10_000  # rows in HTML/PDF (a CSV has them all)
FONTS = Path(__file__).resolve().parents[1] / "fonts"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
HEADER = {"ru": ["Дата и время", "Тип", "Направление", "Номер", "Длительность/объём", "Зона", "Чем оплачено",
                 "Списано", "Пояснение"],
          "en": ["Date and time", "Type", "Direction", "Number", "Duration/volume", "Zone", "Paid by", "Charged",
                 "Explanation"]}


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


def build(session: Session, line: Line, fmt: str, start: datetime, end: datetime, kind: str | None,
          lang: str, dest: Path) -> int:
    """Write the report file; returns how many records it covers."""
    buckets = _buckets(session, line)
    totals = detail.totals(session, line.id, start, end, kind)
    title = ("Детализация" if lang == "ru" else "Detail") + f" {format_msisdn(line.msisdn)}: " \
        f"{fmt_date(start)} — {fmt_date(end - timedelta(seconds=1))}"
    total_line = [("Итого" if lang == "ru" else "Total"), f"{totals.count}", format_rub(totals.charged_kopecks, lang),
                  f"{totals.minutes} мин" if lang == "ru" else f"{totals.minutes} min", f"{totals.sms} SMS",
                  format_data(totals.kb, lang)]
    rows = (describe(detail.to_view(r), lang, buckets) for r in _records(session, line, start, end, kind))
    if fmt == "csv":
        n = 0
        with open(dest, "w", newline="", encoding="utf-8-sig") as f:  # BOM: Excel opens Cyrillic right
            w = csv.writer(f, delimiter=";")
            w.writerow([title])
            w.writerow(HEADER[lang])
            for e in rows:
                w.writerow([e.when, e.kind, e.direction, e.peer, e.amount, e.zone, e.paid_by, e.charged, e.explain])
                n += 1
            w.writerow(total_line)
        return n
    printed = []
    for e in rows:
        if len(printed) >= MAX_PRINTED:
            break
        printed.append(e)
    cut = totals.count > len(printed)
    if fmt == "html":
        _html(dest, title, printed, total_line, lang, cut)
    else:
        _pdf(dest, title, printed, total_line, lang, cut)
    return len(printed)


def _html(dest: Path, title: str, rows, total_line, lang: str, cut: bool) -> None:
    esc = html.escape
    out = io.StringIO()
    out.write(f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><title>{esc(title)}</title><style>"
              "body{font-family:Arial,sans-serif;margin:24px;color:#1c1c1c}h1{font-size:20px}"
              "table{border-collapse:collapse;width:100%;font-size:12px}th,td{border:1px solid #ddd;padding:4px 6px;"
              "text-align:left;vertical-align:top}th{background:#f4f4f4}.total{font-weight:bold;margin-top:12px}"
              ".logo{background:#E30611;color:#fff;font-weight:bold;padding:6px 10px;border-radius:8px;"
              "display:inline-block}</style></head><body>")
    out.write(f"<div class='logo'>МТС</div><h1>{esc(title)}</h1><table><tr>")
    out.write("".join(f"<th>{esc(h)}</th>" for h in HEADER[lang]) + "</tr>")
    for e in rows:
        out.write("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in (e.when, e.kind, e.direction, e.peer, e.amount,
                                                                   e.zone, e.paid_by, e.charged, e.explain)) + "</tr>")
    out.write("</table>")
    if cut:
        out.write(f"<p>{'Показаны первые' if lang == 'ru' else 'First'} {MAX_PRINTED} "
                  f"{'записей; полный список — в CSV.' if lang == 'ru' else 'records; the CSV has them all.'}</p>")
    out.write(f"<p class='total'>{esc(' · '.join(total_line))}</p></body></html>")
    dest.write_text(out.getvalue(), encoding="utf-8")


def _pdf(dest: Path, title: str, rows, total_line, lang: str, cut: bool) -> None:
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_fill_color(227, 6, 17)
    pdf.set_text_color(255, 255, 255)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(18, 8, "МТС", fill=True, align="C")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(10)
    pdf.set_font("DejaVu", "B", 13)
    pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 7)
    widths = (27, 16, 18, 28, 20, 14, 22, 18, 114)
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=4, first_row_as_headings=True) as table:
        header = table.row()
        for h in HEADER[lang]:
            header.cell(h)
        for e in rows:
            r = table.row()
            for v in (e.when, e.kind, e.direction, e.peer, e.amount, e.zone, e.paid_by, e.charged, e.explain):
                r.cell(v)
    pdf.ln(4)
    if cut:
        pdf.multi_cell(0, 5, (f"Показаны первые {MAX_PRINTED} записей; полный список — в CSV." if lang == "ru" else
                              f"First {MAX_PRINTED} records; the CSV has them all."), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 9)
    pdf.multi_cell(0, 6, " · ".join(total_line))
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
    filename = f"detail_{line.msisdn}_{start.strftime('%Y%m%d')}-{(end - timedelta(seconds=1)).strftime('%Y%m%d')}.{fmt}"
    report = Report(line_id=line.id, fmt=fmt, period_from=start, period_to=end, kind=kind, path=str(dest),
                    to_email=email, created_at=now, expires_at=now + KEEP)
    session.add(report)
    session.flush()
    if email:
        session.add(MailMessage(
            to_email=email, subject=f"Детализация {format_msisdn(line.msisdn)}",
            body=(f"Здравствуйте! Во вложении детализация номера {format_msisdn(line.msisdn)} за период "
                  f"{fmt_date(start)} — {fmt_date(end - timedelta(seconds=1))} ({rows} записей). "
                  f"Ссылка действует до {fmt_datetime(report.expires_at)}."),
            attachment_path=str(dest), attachment_name=filename, created_at=now))
    return ReportFile(report.id, dest, filename, rows, MEDIA[fmt])


MEDIA = {"csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8", "pdf": "application/pdf"}


def get(session: Session, info: SessionInfo, report_id, now: datetime) -> ReportFile:
    report = session.get(Report, parse_id(report_id))
    if report is None or report.expires_at <= now or not can_access(session, info.account_id,
                                                                     session.get(Line, report.line_id)):
        raise NotFound("no such report (reports are kept 3 days)", "Отчёт не найден: отчёты хранятся 3 дня")
    line = session.get(Line, report.line_id)
    name = f"detail_{line.msisdn}_{report.period_from.strftime('%Y%m%d')}.{report.fmt}"
    return ReportFile(report.id, Path(report.path), name, 0, MEDIA[report.fmt])


def listed(session: Session, info: SessionInfo, msisdn: str, now: datetime) -> list[Report]:
    line = require_line(session, info, msisdn)
    return list(session.exec(select(Report).where(Report.line_id == line.id, Report.expires_at > now)
                             .order_by(Report.created_at.desc())).scalars())


def account_email(session: Session, info: SessionInfo) -> str:
    account = session.get(Account, info.account_id)
    return (account.email or "") if account else ""
