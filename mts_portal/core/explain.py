"""«Explain this charge»: a usage record's explanation (a rule code plus the numbers the
rater used) rendered as words, in Russian or English."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from mts_portal.core.auth import format_msisdn
from mts_portal.core.catalog import default_catalog
from mts_portal.core.detail import RecordView
from mts_portal.core.money import NBSP, format_amount, format_data, format_rub
from mts_portal.core.words import country

RULES = {
    "voice_short": ("Звонок короче 3 секунд — бесплатно", "A call under 3 seconds is free"),
    "voice_family": ("Звонок внутри семейной группы «МЫ МТС» — бесплатно", "A call inside the family group is free"),
    "voice_out": ("Исходящий звонок: сначала из пакета минут, остальное по тарифу",
                  "Outgoing call: minutes bundle first, the rest by the tariff"),
    "voice_out_zab": ("Исходящий за границей с «Забугорище»: из пакета минут, как дома",
                      "Outgoing abroad with Zabugorishche: from the minutes bundle, as at home"),
    "voice_out_abroad": ("Исходящий звонок за границей: 49 ₽ за минуту", "Outgoing call abroad: 49 ₽ a minute"),
    "voice_out_russia": ("Исходящий в поездке по России без «Везде как дома»: 5 ₽ за минуту, не из пакета",
                         "Outgoing in national roaming without At home everywhere: 5 ₽ a minute, not from the bundle"),
    "voice_in_home": ("Входящий звонок в домашнем регионе — бесплатно", "Incoming call at home is free"),
    "voice_in_zab": ("Входящий за границей с «Забугорище» — бесплатно, как дома",
                     "Incoming abroad with Zabugorishche is free, as at home"),
    "voice_in_russia_vkd": ("Входящий в поездке по России с «Везде как дома» — бесплатно",
                            "Incoming in national roaming with At home everywhere is free"),
    "voice_in_russia": ("Входящий в поездке по России: 3 ₽ за минуту", "Incoming in national roaming: 3 ₽ a minute"),
    "voice_in_abroad": ("Входящий за границей: 49 ₽ за минуту", "Incoming abroad: 49 ₽ a minute"),
    "voice_in_abroad_nbg": ("Входящий за границей с «Ноль без границ»: первые 10 минут бесплатно",
                            "Incoming abroad with Zero without borders: the first 10 minutes are free"),
    "sms_in": ("Входящее SMS — бесплатно", "Incoming SMS is free"),
    "sms_out": ("Исходящее SMS: из пакета SMS, без пакета — по тарифу", "Outgoing SMS: from the SMS bundle, else by the tariff"),
    "sms_out_zab": ("SMS за границей с «Забугорище»: из пакета, как дома", "SMS abroad with Zabugorishche: from the bundle"),
    "sms_out_abroad": ("SMS за границей: 19 ₽", "SMS abroad: 19 ₽"),
    "data_empty": ("Пустая интернет-сессия — бесплатно", "An empty data session is free"),
    "data": ("Интернет: сначала из пакетов-дополнений, затем из пакета тарифа, остальное по тарифу",
             "Data: add-on packages first, then the tariff bundle, the rest by the tariff"),
    "data_zab": ("Интернет за границей с «Забугорище»: из пакетов, как дома", "Data abroad with Zabugorishche: from bundles"),
    "data_abroad": ("Интернет за границей: 150 ₽ за МБ", "Data abroad: 150 ₽ per MB"),
}
KIND = {"voice": ("Звонок", "Call"), "sms": ("SMS", "SMS"), "data": ("Интернет", "Internet")}
DIRECTION = {"out": ("исходящий", "outgoing"), "in": ("входящий", "incoming")}
PAID_BY = {"free": ("бесплатно", "free"), "bundle": ("из пакета", "from a bundle"), "money": ("со счёта", "money"),
           "mixed": ("пакет и счёт", "bundle and money"), "family": ("бесплатно (семья)", "free (family)"),
           "blocked": ("отклонено", "refused")}
BUCKET_NAME = {"voice": ("пакета минут", "the minutes bundle"), "sms": ("пакета SMS", "the SMS bundle"),
               "data": ("пакета интернета", "the data bundle")}


@dataclass
class Explained:
    when: str
    kind: str
    direction: str
    peer: str
    amount: str  # duration or volume
    zone: str
    paid_by: str
    charged: str
    explain: str


def zone_text(zone: str, lang: str) -> str:
    """'дом', 'Россия' (national roaming) or the country abroad by its name ('TR' -> 'Турция')."""
    if zone == "home":
        return "дом" if lang == "ru" else "home"
    if zone == "russia":
        return "Россия" if lang == "ru" else "Russia"
    return country(zone, lang)


def amount_text(r: RecordView, lang: str) -> str:
    if r.kind == "voice":
        m, s = divmod(r.duration_s or 0, 60)
        return f"{m}:{s:02d}"
    if r.kind == "data":
        return format_data(-(-(r.bytes or 0) // 1024), lang)
    return "1 SMS"


def _count(n: int, lang: str) -> str:
    """A raw count with its digits grouped as on the rest of the page: 5698365 -> '5 698 365' / '5,698,365'."""
    return f"{int(n):,}".replace(",", "," if lang == "en" else NBSP)


def _day_text(iso: str) -> str:
    """'2026-11-22' (as the rater keeps it) -> '22.11.2026' (as every date on screen)."""
    try:
        return date.fromisoformat(str(iso)).strftime("%d.%m.%Y")
    except ValueError:
        return str(iso)


def explain(r: RecordView, lang: str, buckets: dict[int, tuple[str, str, str | None]] | None = None) -> str:
    """Why this record cost what it cost: the rule, the rounding, what was drawn from which bucket,
    the rate and any daily fee."""
    i = 1 if lang == "en" else 0
    x = r.explanation or {}
    parts = [RULES.get(x.get("rule", ""), ("", ""))[i]]
    if r.kind == "voice" and x.get("seconds", 0) >= 3:
        parts.append(f"{_count(x['seconds'], lang)} с → {format_amount(r.units, 'min', lang)} (округление до "
                     "начатой минуты)" if i == 0 else
                     f"{_count(x['seconds'], lang)} s → {format_amount(r.units, 'min', lang)} (per started minute)")
    if r.kind == "data" and x.get("bytes"):
        parts.append(f"{_count(x['bytes'], lang)} байт → {_count(r.units, lang)} КБ ({format_data(r.units, lang)}, "
                     "до начатого килобайта)" if i == 0 else
                     f"{_count(x['bytes'], lang)} bytes → {_count(r.units, lang)} KB ({format_data(r.units, lang)}, "
                     "per started kilobyte)")
    for d in r.drawn:
        name = None
        if buckets and d["bucket_id"] in buckets:
            kind, source, product = buckets[d["bucket_id"]]
            if source in ("addon", "bonus") and product:
                p = default_catalog().products.get(product)
                name = f"«{p.name(lang)}»" if p else None
            elif source == "family_share":
                name = "доли в «МЫ МТС»" if i == 0 else "the family share"
        name = name or BUCKET_NAME[d["kind"]][i]
        amount = format_amount(d["amount"], d["unit"], lang)
        parts.append(f"{amount} из {name}" if i == 0 else f"{amount} from {name}")
    if x.get("free_min"):
        parts.append(f"{x['free_min']} мин бесплатно по «Ноль без границ»" if i == 0 else
                     f"{x['free_min']} min free with Zero without borders")
    if x.get("paid") and x.get("rate"):
        if r.kind == "data":
            money = -(-(x["paid"] * x["rate"]) // 1024)
            paid = _count(x["paid"], lang)
            parts.append(f"{paid} КБ × {format_rub(x['rate'], lang)}/МБ ÷ 1024 = {format_rub(money, lang)} "
                         "(округление вверх до копейки)" if i == 0 else
                         f"{paid} KB × {format_rub(x['rate'], lang)}/MB ÷ 1024 = {format_rub(money, lang)} "
                         "(rounded up to the kopeck)")
        else:
            unit = ("мин" if i == 0 else "min") if r.kind == "voice" else "SMS"
            parts.append(f"{x['paid']} {unit} × {format_rub(x['rate'], lang)} = "
                         f"{format_rub(x['paid'] * x['rate'], lang)}")
    fee = x.get("fee")
    if fee:
        name = default_catalog().products[fee["code"]].name(lang)
        day = _day_text(fee["day"])
        parts.append(f"суточная плата «{name}» за {day}: {format_rub(fee['kopecks'], lang)}" if i == 0 else
                     f"daily fee of {name} for {day}: {format_rub(fee['kopecks'], lang)}")
    blocked = x.get("blocked")
    if blocked in ("parental_night", "parental_limit"):
        if blocked == "parental_night":
            parts.append("родительский контроль: мобильный интернет отключён с 23:00 до 07:00 — событие отклонено"
                         if i == 0 else "parental control: mobile data is off from 23:00 to 07:00: refused")
        else:
            limit, used = format_rub(x.get("limit", 0), lang), format_rub(x.get("spent", 0), lang)
            parts.append(f"родительский контроль: лимит расходов {limit} в месяц, уже потрачено {used} — "
                         "событие отклонено" if i == 0 else
                         f"parental control: a spending limit of {limit} a month, {used} spent: refused")
    elif blocked:
        parts.append(("недостаточно средств — событие отклонено" if blocked == "funds" else
                      f"номер не активен ({blocked}) — событие отклонено") if i == 0 else
                     ("not enough money: refused" if blocked == "funds" else f"the number is {blocked}: refused"))
    return "; ".join(p for p in parts if p)


def describe(r: RecordView, lang: str, buckets: dict | None = None) -> Explained:
    from mts_portal.core.clock import fmt_datetime

    i = 1 if lang == "en" else 0
    return Explained(
        when=fmt_datetime(r.started_at), kind=KIND[r.kind][i],
        direction=DIRECTION[r.direction][i] if r.direction else "",
        peer=format_msisdn(r.peer) if r.peer and len(r.peer) == 11 and r.peer[0] == "7" else (r.peer or ""),
        amount=amount_text(r, lang), zone=zone_text(r.zone, lang), paid_by=PAID_BY.get(r.paid_by, ("", ""))[i],
        charged=format_rub(r.charged_kopecks, lang), explain=explain(r, lang, buckets),
    )
