"""Detail («Детализация»): filters, paging, what paid for each record and why, totals,
exports (CSV, HTML, PDF), ordering to e-mail and the reports kept 3 days."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import reflex as rx
from sqlalchemy import select

from mts_portal.core import cabinet, detail, reports, runtime
from mts_portal.core.clock import fmt_date, fmt_datetime, moscow_date, period_of
from mts_portal.core.errors import DomainError
from mts_portal.core.explain import describe
from mts_portal.core.models import Bucket
from mts_portal.core.money import format_amount, format_data, format_rub
from mts_portal.i18n import add, tr
from mts_portal.state.base import SessionState, query, write
from mts_portal.state.views import day_text

add({
    "detail.title": ("Детализация", "Detail"),
    "detail.period": ("Период", "Period"),
    "detail.p.month": ("Этот месяц", "This month"),
    "detail.p.last": ("Прошлый месяц", "Last month"),
    "detail.p.7": ("7 дней", "7 days"),
    "detail.p.custom": ("Свой период", "Custom"),
    "detail.email_format": ("Формат файла", "File format"),
    "detail.date_hint": ("ДД.ММ.ГГГГ", "1 Dec 2026"),
    "detail.from": ("С", "From"),
    "detail.to": ("По", "To"),
    "detail.kind": ("Тип", "Type"),
    "detail.k.all": ("Все", "All"),
    "detail.k.voice": ("Звонки", "Calls"),
    "detail.k.sms": ("SMS", "SMS"),
    "detail.k.data": ("Интернет", "Internet"),
    "detail.show": ("Показать", "Show"),
    "detail.totals": ("Итого за период", "Period totals"),
    "detail.records": ("записей", "records"),
    "detail.sending": ("Отправляем…", "Sending…"),
    "detail.charged": ("списано", "charged"),
    "detail.empty": ("За этот период ничего нет", "Nothing in this period"),
    "detail.more": ("Показать ещё", "Show more"),
    "detail.why": ("Почему столько?", "Why this much?"),
    "detail.export": ("Скачать", "Download"),
    "detail.email": ("Отправить на e-mail", "Send by e-mail"),
    "detail.email_sent": ("Детализация отправлена на", "Detail sent to"),
    "detail.reports": ("Заказанные отчёты (хранятся 3 дня)", "Ordered reports (kept 3 days)"),
    "detail.no_reports": ("Отчётов нет", "No reports"),
    "detail.until": ("до", "until"),
    "detail.bad_dates": ("Укажите даты периода", "Give the period's dates"),
})

PAGE = 30
NO_TOTALS = {"count": "", "charged": "", "minutes": "", "sms": "", "data": "", "period": ""}


def field_day(day: date, lang: str) -> str:
    """A day as the period fields show it: '01.12.2026' (ru) / '1 Dec 2026' (en), as every date on screen."""
    return day_text(day, lang) if lang == "en" else day.strftime("%d.%m.%Y")


def parse_day(text: str) -> date:
    """A typed day: '01.12.2026', '1.12.2026', '2026-12-01', '01/12/2026' (day first) or '1 Dec 2026'.
    Raises ValueError."""
    raw = " ".join(str(text or "").split())
    for fmt in ("%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%d %b %Y", "%d %B %Y"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a day: {text!r}")


class DetailState(SessionState):
    preset: str = "month"
    kind: str = "all"
    date_from: str = ""  # ISO days, what the period is computed from
    date_to: str = ""
    from_text: str = ""  # the same days as the fields show them, in the interface language
    to_text: str = ""
    rows: list[dict[str, str]] = []
    next_cursor: str = ""
    totals: dict[str, str] = dict(NO_TOTALS)  # every key present: nothing 'undefined' while loading
    totals_ready: bool = False
    error: str = ""
    email: str = ""
    reports: list[dict[str, str]] = []
    exporting: bool = False
    mailing: bool = False
    # one request per click: the page sends the key it shows with each export or e-mail order; the
    # first request with the current key is done and the key renewed, so the second click of a double
    # click (which carries the old key and runs after the first) does nothing
    request_key: str = ""

    def _range(self, now: datetime) -> tuple[datetime, datetime]:
        if self.preset == "last":
            p = period_of(period_of(now).start - timedelta(seconds=1))
            return p.start, p.end
        if self.preset == "7":
            return now - timedelta(days=7), now + timedelta(minutes=1)
        if self.preset == "custom":
            first, last = parse_day(self.from_text), parse_day(self.to_text)
            if last < first:
                raise ValueError("the period ends before it starts")
            self.date_from, self.date_to = first.isoformat(), last.isoformat()
            return detail.day_window(self.date_from, self.date_to)  # the input domain: dates of 2000–2099
        p = period_of(now)
        return p.start, p.end

    def _kind(self) -> str | None:
        return self.kind if self.kind in ("voice", "sms", "data") else None

    async def _reload(self, info, append: bool = False) -> None:
        lang, now = self._lang(), runtime.now()
        try:
            start, end = self._range(now)
        except (ValueError, DomainError):
            self.error = tr("detail.bad_dates", lang)
            return
        cursor = self.next_cursor if append else None
        kind = self._kind()

        def fn(s):
            line = cabinet.selected_line(s, info)
            page = detail.records_page(session=s, msisdn=line.msisdn, now=now, start=start, end=end, kind=kind,
                                       cursor=cursor, page_size=PAGE, with_totals=not append)
            ids = {d["bucket_id"] for r in page.records for d in r.drawn}
            buckets = {b.id: (b.kind, b.source, b.product_code) for b in s.exec(
                select(Bucket).where(Bucket.id.in_(ids))).scalars()} if ids else {}
            return page, buckets, reports.listed(s, info, line.msisdn, now), reports.account_email(s, info)

        try:
            page, buckets, listed, email = await query(fn)
        except DomainError as exc:
            self.error = self._msg(exc)
            return
        self.error = ""
        rows = []
        for r in page.records:
            e = describe(r, lang, buckets)
            rows.append({"id": str(r.id), "when": e.when, "kind": r.kind, "kind_text": e.kind,
                         "direction": e.direction, "peer": e.peer, "amount": e.amount, "zone": e.zone,
                         "paid_by": e.paid_by, "charged": e.charged, "explain": e.explain, "status": r.status})
        self.rows = (self.rows + rows) if append else rows
        self.next_cursor = page.next_cursor or ""
        if not append:
            t = page.totals
            self.totals = {"count": reports.records_text(t.count, lang), "charged": format_rub(t.charged_kopecks, lang),
                           "minutes": format_amount(t.minutes, "min", lang), "sms": format_amount(t.sms, "sms", lang),
                           "data": format_data(t.kb, lang),
                           "period": f"{fmt_date(start)} — {fmt_date(end - timedelta(seconds=1))}"}
            self.totals_ready = True
        self._list_reports(listed)
        if not self.email:
            self.email = email

    def _list_reports(self, listed) -> None:
        self.reports = [{"id": str(rep.id), "fmt": rep.fmt.upper(), "period": f"{fmt_date(rep.period_from)} — "
                         f"{fmt_date(rep.period_to - timedelta(seconds=1))}", "until": fmt_datetime(rep.expires_at),
                         "email": rep.to_email or ""} for rep in listed]

    async def _reload_reports(self, info) -> None:
        now = runtime.now()
        self._list_reports(await query(lambda s: reports.listed(s, info, info.selected_msisdn, now)))

    def _take_key(self, key) -> bool:
        """True for the first request carrying the current key (which is then renewed)."""
        if not self.request_key or str(key) != self.request_key:
            return False
        self.request_key = uuid.uuid4().hex
        return True

    @rx.event
    async def load(self):
        info = await self._begin()
        if info is None:
            return await self._gone()
        today = moscow_date(runtime.now())
        self.request_key = uuid.uuid4().hex
        self.exporting = self.mailing = False
        if not self.date_from:
            self.date_from = today.replace(day=1).isoformat()
            self.date_to = today.isoformat()
        lang = self._lang()  # the fields in the interface language (a language change loads the page again)
        self.from_text = field_day(date.fromisoformat(self.date_from), lang)
        self.to_text = field_day(date.fromisoformat(self.date_to), lang)
        self.next_cursor = ""
        await self._reload(info)

    @rx.event
    async def set_preset(self, value: str | list[str]):
        self.preset = value if value in ("month", "last", "7", "custom") else "month"
        if self.preset != "custom":
            return DetailState.apply

    @rx.event
    async def set_kind(self, value: str | list[str]):
        self.kind = value if value in ("all", "voice", "sms", "data") else "all"
        return DetailState.apply

    @rx.event
    def set_date_from(self, value: str):
        self.from_text = str(value)[:24]

    @rx.event
    def set_date_to(self, value: str):
        self.to_text = str(value)[:24]

    @rx.event
    def set_email(self, value: str):
        self.email = str(value)[:200]

    @rx.event
    async def apply(self):
        info = await self._session()
        if info is None:
            return await self._gone()
        self.next_cursor = ""
        await self._reload(info)

    @rx.event
    async def more(self):
        info = await self._session()
        if info is None:
            return await self._gone()
        if self.next_cursor:
            await self._reload(info, append=True)

    async def _make(self, fmt: str, email: str | None):
        info = await self._session()
        if info is None:
            return None, await self._gone()
        lang, now = self._lang(), runtime.now()
        try:
            start, end = self._range(now)
        except (ValueError, DomainError):
            return None, rx.toast.error(tr("detail.bad_dates", lang))
        kind = self._kind()
        try:
            rep = await write(lambda s: reports.make(s, info, info.selected_msisdn, fmt, start, end, kind, lang, now,
                                                     email=email))
        except DomainError as exc:
            return None, rx.toast.error(self._msg(exc))
        await self._reload_reports(info)
        return rep, None

    @rx.event
    async def export(self, fmt: str, key: str = ""):
        if self.exporting or not self._take_key(key):
            return
        self.exporting = True
        yield
        try:
            rep, problem = await self._make(str(fmt), None)
        finally:
            self.exporting = False
        if problem is not None:
            yield problem
            return
        yield rx.download(url=f"/api/v1/reports/{rep.report_id}", filename=rep.filename)

    @rx.event
    async def send_email(self, form: dict):
        if self.mailing or not self._take_key(form.get("key", "")):
            return
        email = str(form.get("email", "") or self.email).strip()
        fmt = str(form.get("fmt", "pdf") or "pdf")
        self.mailing = True
        yield
        try:
            rep, problem = await self._make(fmt if fmt in reports.FORMATS else "pdf", email)
        finally:
            self.mailing = False
        if problem is not None:
            yield problem
            return
        yield rx.toast.success(f"{self.t['detail.email_sent']} {email}",
                               style={"overflow-wrap": "anywhere", "word-break": "break-word"})
