"""What a logged-in subscriber can do, as functions of (store session, SessionInfo, ...).

The portal's event handlers call these and nothing else that changes the store.
Every function first checks that each object its arguments name (a number, a
card, a record, a member, a notification, a report) belongs to the session's
account; arguments come from the browser and are untrusted. A refusal is
NotFound — the same answer as for an object that does not exist.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from mts_portal.core import auth, billing, domain, family, notify
from mts_portal.core.auth import SessionInfo, require_line
from mts_portal.core.catalog import (
    ABROAD_DATA_PER_MB,
    ABROAD_SMS,
    ABROAD_VOICE_PER_MIN,
    FAMILY_MEMBER_FEE,
    NBG_FREE_MINUTES_PER_CALL,
    NBG_FREE_MINUTES_PER_PERIOD,
    POPULAR_COUNTRIES,
    RUSSIA_VOICE_IN_PER_MIN,
    RUSSIA_VOICE_OUT_PER_MIN,
    default_catalog,
)
from mts_portal.core.clock import period_of, prorate_up
from mts_portal.core.errors import Conflict, Invalid, NotFound, parse_id
from mts_portal.core.models import Account, LedgerEntry, Line, Notification
from mts_portal.core.money import format_rub
from mts_portal.core.words import plural_category

FORWARD_MODES = ("always", "busy", "no_answer", "unreachable")


def selected_line(session: Session, info: SessionInfo) -> Line:
    """The number the session has selected (re-checked: it may have been removed meanwhile)."""
    return require_line(session, info, info.selected_msisdn)


def line_for_update(session: Session, info: SessionInfo, msisdn: str) -> Line:
    require_line(session, info, msisdn)
    return billing.get_line_for_update(session, msisdn)


# ---------------------------------------------------------------- services and options


def connect(session: Session, info: SessionInfo, msisdn: str, code: str, now: datetime,
            request_key: str | None = None) -> billing.OptionResult:
    line = line_for_update(session, info, msisdn)
    return billing.connect_option(session=session, line=line, code=str(code), now=now, request_key=request_key)


def disconnect(session: Session, info: SessionInfo, msisdn: str, code: str, now: datetime) -> billing.OptionResult:
    line = line_for_update(session, info, msisdn)
    return billing.disconnect_option(session=session, line=line, code=str(code), now=now)


def voluntary_block(session: Session, info: SessionInfo, msisdn: str, blocked: bool, now: datetime) -> Line:
    line = line_for_update(session, info, msisdn)
    if line.is_blocked == blocked:
        raise Conflict("already so", "Номер уже " + ("заблокирован" if blocked else "разблокирован"))
    line.is_blocked = blocked
    billing.recompute_status(line)
    billing.touch(session, line, now)
    billing.notify_line(session, line, notify.notification(
        line.id, "info",
        "Номер добровольно заблокирован: связь приостановлена до разблокировки." if blocked else
        "Номер разблокирован: связь снова доступна.",
        "Number blocked at your request." if blocked else "Number unblocked.", now), also_sms=True)
    return line


# ---------------------------------------------------------------- what a confirmation says


@dataclass(frozen=True)
class Terms:
    """A text in both languages: the conditions a confirmation states before money can move."""

    ru: str
    en: str

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.ru


def days_text(n: int, lang: str) -> str:
    """'1 день', '3 дня', '31 день', '1 day', '31 days'."""
    if lang == "en":
        return f"{n}\u00a0{'day' if n == 1 else 'days'}"
    return f"{n}\u00a0" + {"one": "день", "few": "дня"}.get(plural_category(n, "ru"), "дней")


def option_terms(code: str, on: bool) -> Terms:
    """What a roaming option costs and when it is charged (turning it on), or what the calls cost
    without it (turning it off). The figures come from the catalogue the rater uses."""
    product = default_catalog().products.get(str(code))
    if product is None:
        raise Invalid(f"code: unknown service or option {code!r}", f"Неизвестная услуга {code!r}")
    r = format_rub
    if code == "zabugorishche":
        popular, other = product.popular_countries_fee_kopecks, product.fee_kopecks
        n = len(POPULAR_COUNTRIES)
        if on:
            return Terms(
                f"{r(popular)} в сутки в {n} популярных странах, {r(other)} в сутки — в остальных. Плата "
                "списывается один раз за сутки (по московскому времени) — при первом исходящем звонке, SMS или "
                "интернет-сессии за границей в эти сутки; в сутки без связи за границей — 0 ₽. Минуты, SMS и "
                "интернет расходуются из пакетов тарифа, как дома; входящие бесплатно. Сейчас ничего не спишется.",
                f"{r(popular, 'en')} a day in the {n} popular countries, {r(other, 'en')} a day elsewhere. It is "
                "charged once a day (Moscow time), on the first outgoing call, SMS or data session abroad that "
                "day; a day without using the phone abroad costs 0 ₽. Minutes, SMS and data come from your "
                "tariff's bundles, as at home; incoming calls are free. Nothing is charged now.")
        return Terms(
            f"Без опции за границей: звонки {r(ABROAD_VOICE_PER_MIN)}/мин, SMS {r(ABROAD_SMS)}, интернет "
            f"{r(ABROAD_DATA_PER_MB)}/МБ. Уже списанная суточная плата не возвращается.",
            f"Without the option, abroad: calls {r(ABROAD_VOICE_PER_MIN, 'en')}/min, SMS {r(ABROAD_SMS, 'en')}, data "
            f"{r(ABROAD_DATA_PER_MB, 'en')}/MB. A daily fee already charged is not refunded.")
    if code == "nol_bez_granits":
        fee = product.fee_kopecks
        if on:
            return Terms(
                f"{r(fee)} в сутки — только в сутки (по московскому времени), когда вам звонят за границей: плата "
                "списывается при первом входящем звонке за границей в эти сутки. Первые "
                f"{NBG_FREE_MINUTES_PER_CALL} минут каждого входящего бесплатно (до {NBG_FREE_MINUTES_PER_PERIOD} "
                f"минут в месяц), дальше {r(ABROAD_VOICE_PER_MIN)}/мин. Сейчас ничего не спишется.",
                f"{r(fee, 'en')} a day, only on days (Moscow time) with an incoming call abroad: it is charged on "
                f"the first incoming call abroad that day. The first {NBG_FREE_MINUTES_PER_CALL} minutes of each "
                f"incoming call are free (up to {NBG_FREE_MINUTES_PER_PERIOD} minutes a month), then "
                f"{r(ABROAD_VOICE_PER_MIN, 'en')}/min. Nothing is charged now.")
        return Terms(
            f"Без опции входящие за границей — {r(ABROAD_VOICE_PER_MIN)}/мин с первой минуты. Уже списанная "
            "суточная плата не возвращается.",
            f"Without the option, incoming calls abroad cost {r(ABROAD_VOICE_PER_MIN, 'en')}/min from the first "
            "minute. A daily fee already charged is not refunded.")
    if code == "vezde_kak_doma":
        if on:
            return Terms(
                "Бесплатно. В поездках по России звонки и SMS — как в домашнем регионе, из пакетов тарифа; "
                "входящие бесплатно.",
                "Free. Travelling in Russia, calls and SMS are as in your home region, from your tariff's "
                "bundles; incoming calls are free.")
        return Terms(
            f"Без опции в поездках по России: исходящие {r(RUSSIA_VOICE_OUT_PER_MIN)}/мин, входящие "
            f"{r(RUSSIA_VOICE_IN_PER_MIN)}/мин, не из пакета.",
            f"Without the option, in Russia: outgoing calls {r(RUSSIA_VOICE_OUT_PER_MIN, 'en')}/min, incoming "
            f"{r(RUSSIA_VOICE_IN_PER_MIN, 'en')}/min, not from the bundle.")
    return Terms(product.description_ru, product.description_en)


def family_invite_terms(now: datetime) -> Terms:
    """What inviting a member costs the owner: 50 ₽ a month, the first month prorated from the day
    the member accepts (charged then), then 50 ₽ at each period start while the member stays."""
    period = period_of(now)
    part, whole = period.remaining_days(now), period.days
    today = prorate_up(FAMILY_MEMBER_FEE, part, whole)
    fee = format_rub(FAMILY_MEMBER_FEE)
    return Terms(
        f"Участник — {fee} в месяц с вашего счёта. Плата спишется, когда участник примет приглашение: за "
        f"оставшиеся дни месяца (если примет сегодня — {format_rub(today)} за {days_text(part, 'ru')} из {whole}), "
        f"дальше — {fee} в начале каждого месяца, пока он в группе. Сейчас ничего не спишется.",
        f"A member costs {format_rub(FAMILY_MEMBER_FEE, 'en')} a month, paid by you. It is charged when the "
        f"member accepts, for the rest of the month (accepted today: {format_rub(today, 'en')} for "
        f"{days_text(part, 'en')} of {whole}), then {format_rub(FAMILY_MEMBER_FEE, 'en')} at the start of each "
        "month while they stay. Nothing is charged now.")


def family_invite_precheck(session: Session, info: SessionInfo, owner_msisdn: str, invitee_text: str,
                           now: datetime) -> str:
    """Before the invite confirmation opens: the number as family.invite reads it, refused at once (with
    family.invite's own words) when it is malformed, the owner's own, not on the network, already in the
    group or invited, a group's owner, in another group, or the group is full. Read-only;
    family.invite checks everything again, under lock, when the owner confirms."""
    owner = require_line(session, info, owner_msisdn)
    msisdn = auth.normalize_msisdn(invitee_text)
    if msisdn == owner.msisdn:
        raise Invalid("you cannot invite yourself", "Нельзя пригласить самого себя")
    invitee = session.exec(select(Line).where(Line.msisdn == msisdn)).scalars().first()
    if invitee is None:
        raise Invalid("this number is not on our network",
                      "Это номер другого оператора: пригласить можно только абонента МТС")
    family.check_invitee(session, owner, invitee, now)  # already in the group, invited, group full …
    return msisdn


def tariff_switch_block(session: Session, line: Line) -> Terms | None:
    """Why this line cannot switch tariff on its own (the same rules as billing.preview_tariff_switch),
    or None: a family member's tariff belongs to the group, an owner with members keeps «МЫ МТС»."""
    tariff = default_catalog().tariffs[line.tariff_code]
    if tariff.family_member:
        return Terms("Вы участник «МЫ МТС»: ваш тариф оплачивает владелец группы. Чтобы перейти на другой тариф, "
                     "сначала выйдите из группы в разделе «МЫ МТС».",
                     "You are a MY MTS member: the group's owner pays for your tariff. To switch, leave the group "
                     "first (Family page).")
    if tariff.family_owner:
        group = family.group_of_owner(session, line.id)
        active = len(family.members(session, group.id, ("active",))) if group is not None else 0
        if active:
            word = {"one": "участник", "few": "участника"}.get(plural_category(active, "ru"), "участников")
            return Terms(f"В вашей группе «МЫ МТС» {active} {word}: пока они в группе, тариф сменить нельзя. "
                         "Сначала исключите их в разделе «МЫ МТС».",
                         f"Your MY MTS group has {active} member{'s' if active != 1 else ''}: while they are in it, "
                         "the tariff cannot change. Remove them first (Family page).")
    if line.status in ("lost", "blocked"):
        return Terms("Номер заблокирован: смена тарифа недоступна.", "The number is blocked: no tariff switch.")
    if line.status == "suspended":
        return Terms("Номер приостановлен: сначала оплатите абонентскую плату.",
                     "The number is suspended: pay the fees owed first.")
    return None


@dataclass
class SwitchTerms:
    preview: billing.SwitchPreview
    current_fee_kopecks: int  # the current tariff's monthly fee
    paid_this_period_kopecks: int  # monthly fees already charged this period (not refunded on a switch)
    whole_period: bool  # the switch is on the period's first day: the new fee is the whole month's
    pending_invitations: int  # an owner leaving «МЫ МТС»: invitations that will be cancelled


def switch_terms(session: Session, info: SessionInfo, msisdn: str, code: str, now: datetime) -> SwitchTerms:
    """The switch preview and what the confirmation must say around it: what is charged now, and
    that the fee already paid this period for the current tariff stays paid (no refund)."""
    line = require_line(session, info, msisdn)
    preview = billing.preview_tariff_switch(session=session, line=line, new_code=str(code), now=now)
    period = period_of(now)
    paid = -int(session.exec(select(func.coalesce(func.sum(LedgerEntry.amount_kopecks), 0)).where(
        LedgerEntry.line_id == line.id, LedgerEntry.kind == "fee", LedgerEntry.amount_kopecks < 0,
        LedgerEntry.created_at >= period.start, LedgerEntry.created_at < period.end)).scalar_one())
    catalog = default_catalog()
    pending = 0
    if catalog.tariffs[line.tariff_code].family_owner and not catalog.tariffs[preview.to_tariff].family_owner:
        group = family.group_of_owner(session, line.id)
        pending = sum(1 for m in family.live_members(session, group.id, now) if m.status == "pending") if group else 0
    return SwitchTerms(preview, catalog.tariffs[line.tariff_code].fee_kopecks, paid,
                       preview.remaining_days == preview.period_days, pending)


# ---------------------------------------------------------------- settings


def set_call_forwarding(session: Session, info: SessionInfo, msisdn: str, to: str | None, mode: str | None,
                        now: datetime) -> Line:
    line = line_for_update(session, info, msisdn)
    if not to:
        line.call_forward_to = None
        line.call_forward_mode = None
    else:
        target = auth.normalize_msisdn(to)
        if target == line.msisdn:
            raise Invalid("cannot forward calls to the same number", "Нельзя переадресовать звонки на этот же номер")
        if mode not in FORWARD_MODES:
            raise Invalid("mode: always, busy, no_answer or unreachable", "Выберите условие переадресации")
        line.call_forward_to = target
        line.call_forward_mode = mode
    billing.touch(session, line, now)
    return line


def set_language(session: Session, info: SessionInfo, lang: str) -> None:
    if lang not in ("ru", "en"):
        raise Invalid("language: ru or en", "Язык: русский или английский")
    account = session.get(Account, info.account_id)
    account.lang = lang
    session.add(account)


# ---------------------------------------------------------------- notifications


def notifications(session: Session, info: SessionInfo, msisdn: str, now: datetime) -> list[Notification]:
    line = require_line(session, info, msisdn)
    keep = now - timedelta(days=notify.KEEP_DAYS)
    return list(session.exec(
        select(Notification).where(Notification.line_id == line.id, Notification.created_at >= keep)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(200)
    ).scalars())


def mark_notification_read(session: Session, info: SessionInfo, notification_id: int, now: datetime) -> None:
    note = session.get(Notification, parse_id(notification_id))
    if note is None or not auth.can_access(session, info.account_id, session.get(Line, note.line_id)):
        raise NotFound("no such notification", "Уведомление не найдено")
    note.read_at = note.read_at or now
    session.add(note)


def mark_all_read(session: Session, info: SessionInfo, msisdn: str, now: datetime) -> int:
    n = 0
    for note in notifications(session, info, msisdn, now):
        if note.read_at is None:
            note.read_at = now
            session.add(note)
            n += 1
    return n


# ---------------------------------------------------------------- send an SMS

GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
           "¿abcdefghijklmnopqrstuvwxyzäöñüà")


def sms_limit(text: str) -> int:
    """One SMS holds 160 GSM-7 characters, or 70 when it has Cyrillic (UCS-2)."""
    return 160 if set(text) <= GSM7 else 70


@dataclass
class SentSms:
    status: str  # rated | duplicate | blocked
    charged_kopecks: int
    reason: str | None
    to: str = ""


MAX_RECIPIENTS = 5


def recipient_problems(texts: list[str], own_msisdn: str) -> tuple[list[str], dict[int, Invalid]]:
    """The recipients as typed (one per field; blank fields are skipped): the numbers, and what is wrong
    with each field that is wrong (shown beside that field)."""
    msisdns: list[str] = []
    problems: dict[int, Invalid] = {}
    filled = [(i, str(t or "").strip()) for i, t in enumerate(texts) if str(t or "").strip()]
    if not filled:
        problems[0] = Invalid("to: give a recipient", "Введите номер получателя", field="to-0")
        return msisdns, problems
    if len(filled) > MAX_RECIPIENTS:
        problems[filled[MAX_RECIPIENTS][0]] = Invalid(
            f"to: at most {MAX_RECIPIENTS} recipients", f"Не больше {MAX_RECIPIENTS} получателей за раз",
            field=f"to-{filled[MAX_RECIPIENTS][0]}")
    for i, text in filled[:MAX_RECIPIENTS]:
        try:
            msisdn = auth.normalize_msisdn(text)
        except Invalid as exc:
            problems[i] = Invalid(exc.message_en, exc.message_ru, field=f"to-{i}")
            continue
        if msisdn == own_msisdn:
            problems[i] = Invalid("that is your own number", "Это ваш собственный номер", field=f"to-{i}")
        elif msisdn in msisdns:
            problems[i] = Invalid("this number is in the list already", "Этот номер уже есть в списке",
                                  field=f"to-{i}")
        else:
            msisdns.append(msisdn)
    return msisdns, problems


def check_sms_text(text: str) -> str:
    text = str(text or "").strip()
    if not text:
        raise Invalid("text: empty message", "Введите текст сообщения", field="text")
    if domain.has_control(text, multiline=True):  # the input domain (core/domain.py): no control characters
        raise Invalid("text: control characters are not allowed", "Текст содержит недопустимые символы", field="text")
    if len(text) > sms_limit(text):
        raise Invalid(f"text: at most {sms_limit(text)} characters in one SMS",
                      f"Не больше {sms_limit(text)} символов в одном SMS", field="text")
    return text


@dataclass
class SmsCost:
    count: int
    from_bundle: int  # SMS the bundles still cover
    paid: int  # SMS charged at the tariff's rate
    rate_kopecks: int
    total_kopecks: int


def sms_cost(session: Session, info: SessionInfo, count: int, now: datetime) -> SmsCost:
    """What sending `count` SMS from the selected number would cost now (what the confirmation shows):
    the SMS bundles first (a family pool included), the rest at the tariff's rate. The rater decides
    when they are sent; this is the same rule on the same figures."""
    line = selected_line(session, info)
    left = sum(b.remaining for b in billing.current_buckets(session, line, now) if b.kind == "sms")
    rate = default_catalog().tariffs[line.tariff_code].rate_sms_kopecks
    from_bundle = max(0, min(count, left))
    paid = count - from_bundle
    return SmsCost(count, from_bundle, paid, rate, paid * rate)


def send_sms(engine, info: SessionInfo, to_text: str, text: str, now: datetime, request_key: str) -> SentSms:
    """Send one SMS from the selected number (see send_sms_many)."""
    return send_sms_many(engine, info, [to_text], text, now, request_key)[0]


def send_sms_many(engine, info: SessionInfo, to_texts: list[str], text: str, now: datetime,
                  request_key: str) -> list[SentSms]:
    """Send an SMS from the selected number to up to 5 recipients: each one rated and charged exactly like
    an SMS from the phone (an outgoing SMS event through charging) and delivered to its recipient's inbox
    in the same transaction if and only if it is rated. All of them go in one batch. The request key
    makes the event ids: sending the same request twice charges and delivers once."""
    from mts_portal.core import charging
    from mts_portal.core.db import read

    text = check_sms_text(text)
    line = read(engine, lambda s: selected_line(s, info))
    recipients, problems = recipient_problems(list(to_texts), line.msisdn)
    if problems:
        raise problems[min(problems)]
    # the event id is the sending line plus a digest of the request key: at most 51 characters whatever
    # the key, and one account's keys can never collide with another's
    digest = hashlib.sha256(billing.validate_key(request_key).encode()).hexdigest()[:24]
    events, messages = [], {}
    for i, to in enumerate(recipients):
        event_id = f"portal-sms:{line.msisdn}:{digest}" + (f":{i}" if i else "")
        events.append({"event_id": event_id, "msisdn": line.msisdn, "kind": "sms", "direction": "out", "peer": to,
                       "started_at": now.isoformat(), "zone": "home"})
        messages[event_id] = {"to_msisdn": to, "sender": line.msisdn, "text": text}
    results = charging.ingest(engine, events, now=now, messages=messages)
    for r in results:
        if r.status == "rejected":
            raise Invalid(r.reason or "refused", "Сообщение не отправлено")
    return [SentSms(r.status, r.charged_kopecks, r.reason, to) for r, to in zip(results, recipients, strict=True)]
