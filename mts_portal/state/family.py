"""«МЫ МТС»: the owner manages members and quotas and sees each member's usage live;
a member sees only their own share and who pays; invitations are accepted here too."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx
from sqlalchemy import select

from mts_portal.core import auth, cabinet, family, runtime
from mts_portal.core.errors import DomainError
from mts_portal.core.live import HUB, TABS
from mts_portal.core.models import FamilyGroup, FamilyMember, Line
from mts_portal.core.money import format_amount
from mts_portal.i18n import add, tr
from mts_portal.state.base import SessionState, query, write

add({
    "family.title": ("МЫ МТС", "MY MTS family"),
    "family.none": ("Делитесь минутами, SMS и интернетом с близкими: подключите тариф «МЫ МТС» — до 5 участников, "
                    "50 ₽ в месяц за каждого.", "Share minutes, SMS and data with your family on MY MTS: up to 5 "
                    "members, 50 ₽ a month each."),
    "family.to_tariffs": ("Перейти к тарифам", "See tariffs"),
    "family.pool": ("Общий пакет", "Shared bundle"),
    "family.left": ("осталось", "left"),
    "family.of": ("из", "of"),
    "family.you": ("Вы (владелец)", "You (owner)"),
    "family.members": ("Участники", "Members"),
    "family.no_members": ("Пока никого: пригласите до 5 номеров МТС.", "Nobody yet: invite up to 5 MTS numbers."),
    "family.pending": ("ждём согласия", "waiting for consent"),
    "family.expired": ("приглашение истекло", "invitation expired"),
    "family.reinvite": ("Пригласить снова", "Invite again"),
    "family.dismiss": ("Убрать", "Dismiss"),
    "family.shared": ("из общего пакета", "from the shared bundle"),
    "family.quota": ("лимит", "limit"),
    "family.used": ("израсходовано", "used"),
    "family.set_quota": ("Лимиты", "Limits"),
    "family.quota_title": ("Лимиты участника", "Member's limits"),
    "family.quota_hint": ("Пустое поле — участник пользуется общим пакетом без лимита.",
                          "Leave empty: the member uses the shared bundle without a limit."),
    "family.minutes": ("Минуты", "Minutes"),
    "family.sms": ("SMS", "SMS"),
    "family.gb": ("Интернет, ГБ", "Data, GB"),
    "family.remove": ("Исключить", "Remove"),
    "family.remove_q": ("Исключить участника?", "Remove the member?"),
    "family.remove_d": ("Неизрасходованная доля вернётся в общий пакет, участник перейдёт на «Минимум».",
                        "The unused share returns to the bundle; the member moves to Minimum."),
    "family.cancel_invite": ("Отменить приглашение", "Cancel the invitation"),
    "family.invite": ("Пригласить", "Invite"),
    "family.invite_hint": ("Участнику придёт SMS: он соглашается ответом «Да» или в своём личном кабинете. "
                           "Вы платите 50 ₽ в месяц за участника.",
                           "The member gets an SMS and agrees by replying \"Yes\" or in their own account. "
                           "You pay 50 ₽ a month per member."),
    "family.invite_q": ("Пригласить в «МЫ МТС»", "Invite to MY MTS"),
    "family.invite_ok": ("Пригласить", "Invite"),
    "family.invited": ("Приглашение отправлено", "Invitation sent"),
    "family.invite_cancelled": ("Приглашение отменено", "Invitation cancelled"),
    "family.invite_dismissed": ("Приглашение убрано из списка", "Invitation dismissed"),
    "family.declined": ("Приглашение отклонено", "Invitation declined"),
    "family.saved": ("Лимиты сохранены", "Limits saved"),
    "family.removed": ("Участник исключён", "Member removed"),
    "family.member_of": ("Вы в группе «МЫ МТС». Платит владелец:", "You are in a MY MTS group. Paid by:"),
    "family.your_share": ("Ваша доля", "Your share"),
    "family.leave": ("Выйти из группы", "Leave the group"),
    "family.leave_q": ("Выйти из группы «МЫ МТС»?", "Leave the MY MTS group?"),
    "family.leave_d": ("Вы перейдёте на тариф «Минимум».", "You will move to the Minimum tariff."),
    "family.left_ok": ("Вы вышли из группы", "You left the group"),
    "family.invitation": ("Приглашение в «МЫ МТС» от", "MY MTS invitation from"),
    "family.accept": ("Принять", "Accept"),
    "family.decline": ("Отклонить", "Decline"),
    "family.joined": ("Вы в группе «МЫ МТС»", "You joined MY MTS"),
    "family.fee": ("Участник — 50 ₽ в месяц", "50 ₽ a month per member"),
})

KIND_KEYS = {"voice": "family.minutes", "sms": "family.sms", "data": "family.gb"}


@dataclass
class ShareRow:
    kind: str
    label: str
    used: str
    quota: str
    remaining: str
    pct: int


@dataclass
class MemberRow:
    id: str
    msisdn: str
    label: str
    status: str
    shares: list[ShareRow]
    quota_minutes: str
    quota_sms: str
    quota_gb: str


def _share_row(sh, lang: str, quota_text: str | None = None) -> ShareRow:
    quota = quota_text or (format_amount(sh.quota, sh.unit, lang) if sh.quota is not None else
                           tr("family.shared", lang))
    total = sh.quota if sh.quota else sh.used + sh.remaining
    pct = max(0, min(100, sh.used * 100 // total)) if total else 0
    return ShareRow(sh.kind, tr(KIND_KEYS[sh.kind], lang).split(",")[0], format_amount(sh.used, sh.unit, lang),
                    quota, format_amount(sh.remaining, sh.unit, lang), pct)


def lines_version(session, line_ids: list[int]) -> tuple:
    """The change counters of these lines (every writer bumps its line's): one indexed read."""
    return tuple((i, v) for i, v in session.exec(select(Line.id, Line.version).where(Line.id.in_(line_ids))
                                                  .order_by(Line.id)).all())


class FamilyState(SessionState):
    role: str = "none"
    owner_label: str = ""
    pool: list[ShareRow] = []
    owner_use: list[ShareRow] = []
    members: list[MemberRow] = []
    invitations: list[dict[str, str]] = []
    invite_error: str = ""
    invite_msisdn: str = ""  # the invite field (kept after an error: the owner corrects it, not retypes it)
    invite_open: bool = False  # the confirmation with the member fee
    invite_label: str = ""
    invite_terms: str = ""
    _invite_key: str = ""
    quota_open: bool = False
    quota_member: str = ""
    quota_label: str = ""
    quota_values: dict[str, str] = {}
    quota_error: str = ""
    _watch: list[int] = []
    _since: int = 0  # HUB.mark() before the view was last read
    _shown: list = []  # the lines' versions read in the same transaction as the view shown

    async def _reload(self, info: auth.SessionInfo) -> None:
        self._since = HUB.mark()
        lang, now = self._lang(), runtime.now()

        def fn(s):
            v = family.view(s, info, info.selected_msisdn, now)
            lines = [info.selected_line_id]
            if v.role == "owner":
                group = s.exec(select(FamilyGroup).where(FamilyGroup.owner_line_id == info.selected_line_id)) \
                    .scalars().first()
                if group is not None:
                    lines += list(s.exec(select(FamilyMember.line_id).where(
                        FamilyMember.group_id == group.id, FamilyMember.status.in_(("active", "pending"))))
                        .scalars())
            elif v.role == "member":
                lines.append(s.exec(select(Line.id).where(Line.msisdn == v.owner_msisdn)).scalar_one())
            return v, lines, lines_version(s, lines)

        v, lines, version = await query(fn)
        self._watch = lines
        self._shown = [list(x) for x in version]
        self.role = v.role
        self.owner_label = auth.format_msisdn(v.owner_msisdn) if v.owner_msisdn else ""
        self.pool = [_share_row(sh, lang, format_amount(sh.quota, sh.unit, lang)) for sh in v.pool]
        self.owner_use = [_share_row(sh, lang) for sh in v.owner_use]
        self.members = [MemberRow(
            id=str(m.member_id), msisdn=m.msisdn, label=auth.format_msisdn(m.msisdn), status=m.status,
            shares=[_share_row(sh, lang) for sh in m.shares],
            quota_minutes=next((str(sh.quota) for sh in m.shares if sh.kind == "voice" and sh.quota is not None), ""),
            quota_sms=next((str(sh.quota) for sh in m.shares if sh.kind == "sms" and sh.quota is not None), ""),
            quota_gb=next((family.quota_input_value(sh.quota, lang) for sh in m.shares
                           if sh.kind == "data" and sh.quota is not None), ""),
        ) for m in v.members]
        self.invitations = [{"id": str(mid), "owner": auth.format_msisdn(owner)} for mid, owner in v.invitations]

    @rx.event
    async def load(self):
        info = await self._begin()
        if info is None:
            return await self._gone()
        self.invite_error = ""
        self.invite_open = False
        self.quota_open = False
        await self._reload(info)
        return FamilyState.watch

    @rx.event(background=True)
    async def watch(self):
        """Live: wake when the owner's pool or any member's share changes and reload the view — only when
        the lines' versions moved (no timer, no query while nothing happens). One per tab; it leaves
        when the process's sweeper has seen the session end."""
        from mts_portal.state.base import claim_watch, release_watch

        async with self:
            client, token = self.router.session.client_token, self._token()
            lines, since, line_id = list(self._watch), self._since, self._selected_line_id
            shown = tuple(tuple(x) for x in self._shown)  # read with the view: a change after it shows
        if not token or not lines:
            return
        claim_watch("family", client, line_id)
        tab = TABS.attach(str(client), token, line_id)
        try:
            while True:
                await HUB.wait_any(lines, None, since=since)
                if tab.ended.is_set():
                    yield FamilyState.leave_page
                    return
                since = HUB.mark()
                version = await query(lambda s, ln=lines: lines_version(s, ln))
                if version == shown:
                    continue
                shown = version
                info = await query(lambda s: auth.validate_session(session=s, token=token, now=runtime.session_now(),
                                                                   touch_it=False))
                if info is None:
                    yield FamilyState.leave_page
                    return
                async with self:
                    await self._reload(info)
                    lines = list(self._watch) or lines
                    shown = tuple(tuple(x) for x in self._shown)
        finally:
            release_watch("family", client)
            TABS.detach(str(client))

    @rx.event
    async def leave_page(self):
        return await self._gone()

    async def _do(self, fn, ok_key: str | None = None):
        info = await self._session()
        if info is None:
            return await self._gone()
        try:
            await write(lambda s: fn(s, info))
        except DomainError as exc:
            return rx.toast.error(self._msg(exc))
        before = list(self._watch)
        await self._reload(info)
        return [e for e in (rx.toast.success(self.t[ok_key]) if ok_key else None, self._rewatch(before)) if e]

    def _rewatch(self, before: list[int]):
        """The running watcher waits on the lines of the view it started with: when a handler's change
        adds or drops a line of the view (an invitation sent, a member removed), a new watcher replaces it."""
        return FamilyState.watch if set(before) != set(self._watch) else None

    @rx.event
    def set_invite_msisdn(self, value: str):
        self.invite_msisdn = str(value)[:32]

    @rx.event
    async def ask_invite(self, form: dict | None = None):
        """The invite form was sent: a malformed number is answered at once; a good one opens the
        confirmation that states the member fee (nothing is sent until it is confirmed)."""
        info = await self._session()
        if info is None:
            return await self._gone()
        who = str((form or {}).get("msisdn", "") or self.invite_msisdn)[:32]
        self.invite_msisdn = who
        try:
            msisdn = await query(lambda s: cabinet.family_invite_precheck(s, info, info.selected_msisdn, who,
                                                                                runtime.now()))
        except DomainError as exc:
            self.invite_error = self._msg(exc)
            return
        self.invite_error = ""
        self.invite_label = auth.format_msisdn(msisdn)
        self.invite_terms = cabinet.family_invite_terms(runtime.now()).text(self._lang())
        self._invite_key = msisdn
        self.invite_open = True

    @rx.event
    def set_invite_open(self, value: bool):
        self.invite_open = bool(value)
        if not self.invite_open:
            self._invite_key = ""  # cancelled: nothing was sent

    @rx.event
    async def invite(self):
        """Send the confirmed invitation, once (a double click's second confirm finds no number)."""
        who, self._invite_key = self._invite_key, ""
        self.invite_open = False
        if not who:
            return None
        info = await self._session()
        if info is None:
            return await self._gone()
        try:
            await write(lambda s: family.invite(s, info, info.selected_msisdn, who, runtime.now()))
        except DomainError as exc:
            self.invite_error = self._msg(exc)
            return
        self.invite_error = ""
        self.invite_msisdn = ""
        before = list(self._watch)
        await self._reload(info)
        return [e for e in (rx.toast.success(self.t["family.invited"]), self._rewatch(before)) if e]

    @rx.event
    async def reinvite(self, msisdn: str):
        """Invite a number again after its invitation expired."""
        return await self._do(lambda s, info: family.invite(s, info, info.selected_msisdn, msisdn, runtime.now()),
                              "family.invited")

    @rx.event
    def open_quota(self, member_id: str):
        m = next((m for m in self.members if m.id == member_id), None)
        if m is None:
            return
        self.quota_member = member_id
        self.quota_label = m.label
        self.quota_values = {"minutes": m.quota_minutes, "sms": m.quota_sms, "gb": m.quota_gb}
        self.quota_error = ""
        self.quota_open = True

    @rx.event
    def set_quota_open(self, value: bool):
        self.quota_open = bool(value)

    @rx.event
    async def save_quota(self, form: dict):
        info = await self._session()
        if info is None:
            return await self._gone()
        member_id = self.quota_member
        try:
            await write(lambda s: family.set_quotas(s, info, info.selected_msisdn, member_id, form.get("minutes"),
                                                    form.get("sms"), form.get("gb"), runtime.now()))
        except DomainError as exc:
            self.quota_error = self._msg(exc)
            return
        self.quota_open = False
        await self._reload(info)
        return rx.toast.success(self.t["family.saved"])

    @rx.event
    async def remove(self, member_id: str):
        return await self._do(lambda s, info: family.remove_member(s, info, info.selected_msisdn, member_id,
                                                                   runtime.now()), "family.removed")

    @rx.event
    async def cancel_invite(self, member_id: str):
        m = next((m for m in self.members if m.id == str(member_id)), None)
        ok = "family.invite_dismissed" if m is not None and m.status == "expired" else "family.invite_cancelled"
        return await self._do(lambda s, info: family.cancel_invite(s, info, info.selected_msisdn, member_id,
                                                                   runtime.now()), ok)

    @rx.event
    async def accept(self, member_id: str):
        return await self._do(lambda s, info: family.accept(s, info, member_id, runtime.now()), "family.joined")

    @rx.event
    async def decline(self, member_id: str):
        return await self._do(lambda s, info: family.decline(s, info, member_id, runtime.now()), "family.declined")

    @rx.event
    async def leave(self):
        return await self._do(lambda s, info: family.leave(s, info, info.selected_msisdn, runtime.now()),
                              "family.left_ok")

