"""Home («Мой МТС»): balance, bundles, tariff, latest charges — live.

`watch` runs while the page is open (Reflex cancels it on navigation or
disconnect). It sleeps on the live hub until the selected line changes, then
reloads one small summary and pushes it. It also notices a session that has
timed out on the server and leaves for the login page.
"""

from __future__ import annotations

import reflex as rx

from mts_portal.core import auth, runtime
from mts_portal.core.errors import DomainError
from mts_portal.core.live import HUB, TABS
from mts_portal.state.base import (
    KEEP_FAILURES,
    SessionState,
    claim_watch,
    query,
    release_watch,
    write,
)
from mts_portal.state.views import BucketRow, home_view


def line_version(session, line_id: int) -> int | None:
    """The line's change counter (every writer bumps it): one indexed read."""
    from sqlalchemy import select

    from mts_portal.core.models import Line

    return session.exec(select(Line.version).where(Line.id == line_id)).scalars().first()


class HomeState(SessionState):
    version: int = -1
    balance_text: str = ""
    balance_negative: bool = False
    bonus_text: str = ""
    points_word: str = ""
    credit_text: str = ""
    tariff_name: str = ""
    fee_text: str = ""
    next_fee_text: str = ""
    status: str = "active"
    status_text: str = ""
    owed_text: str = ""
    buckets: list[BucketRow] = []
    charges: list[dict[str, str]] = []
    period_label: str = ""
    spending: list[dict[str, str]] = []
    spending_total: str = ""
    notes: list[dict[str, str]] = []
    show_password_offer: bool = False
    _line_id: int = 0
    _since: int = 0  # HUB.mark() before the view was last read

    def _apply(self, view: dict) -> None:
        self.version = view["version"]
        self.balance_text = view["balance_text"]
        self.balance_negative = view["balance_kopecks"] < 0
        self.bonus_text = view["bonus_text"]
        self.points_word = view["points_word"]
        self.credit_text = view["credit_text"]
        self.tariff_name = view["tariff_name"]
        self.fee_text = view["fee_text"]
        self.next_fee_text = view["next_fee_text"]
        self.status = view["status"]
        self.status_text = view["status_text"]
        self.owed_text = view["owed_text"]
        self.buckets = view["buckets"]
        self.charges = view["charges"]
        self.period_label = view["period_label"]
        self.spending = view["spending"]
        self.spending_total = view["spending_total"]
        self.notes = view["notes"]

    @rx.event
    async def load(self):
        info = await self._begin()
        if info is None:
            return await self._gone()
        self._line_id = info.selected_line_id
        lang, msisdn = self._lang(), info.selected_msisdn
        self._since = HUB.mark()  # a change after this read wakes the watcher even before it waits
        self._apply(await query(lambda s: home_view(s, msisdn, runtime.now(), lang)))
        self.show_password_offer = not info.has_password
        return HomeState.watch

    @rx.event(background=True)
    async def watch(self):
        """One watcher per browser tab (a new one replaces the one before). It sleeps on the live hub until
        this line changes — no timer, no query while nothing happens — then reads the line's version and,
        only if it moved, the small home view, and pushes it: at most one delta per change (an in-process
        write and the change feed both waking it cost one version read). It leaves when the process's
        sweeper has seen the session end."""
        async with self:
            client, line_id, since, token = self.router.session.client_token, self._line_id, self._since, self._token()
            shown = self.version
        if not line_id or not token:
            return
        claim_watch("home", client, line_id)
        tab = TABS.attach(str(client), token, line_id)
        try:
            while True:
                await HUB.wait(line_id, None, since=since)
                if tab.ended.is_set():
                    yield HomeState.leave
                    return
                since = HUB.mark()  # before the read: a change during it wakes the next wait
                version = await query(lambda s: line_version(s, line_id))
                if version == shown:
                    continue  # woken twice for one change, or poked: nothing new to show
                async with self:  # the language and the number now, not the ones the page was opened in
                    if self._line_id != line_id:  # the tab moved on (another line, a wiped state)
                        return
                    msisdn, lang = self.msisdn, self._lang()
                view = await query(lambda s, m=msisdn, lg=lang: home_view(s, m, runtime.now(), lg))
                async with self:
                    if self._line_id == line_id:
                        self._apply(view)
                        shown = self.version
        finally:
            release_watch("home", client)
            TABS.detach(str(client))

    @rx.event
    async def leave(self):
        return await self._gone()

    @rx.event
    def dismiss_password_offer(self):
        self.show_password_offer = False


class PasswordState(SessionState):
    """Set the first password right after a code login, or change it (needs the current one)."""

    error: str = ""
    saving: bool = False

    @rx.event
    async def save(self, form: dict):
        info = await self._session()
        if info is None:
            yield await self._gone()
            return
        new, repeat = str(form.get("new_password", "")), str(form.get("repeat_password", ""))
        current = str(form.get("current_password", "") or "") or None
        if new != repeat:
            self.error = self.t["pwd.mismatch"]
            return
        self.saving = True
        yield
        try:
            await write(lambda s: auth.set_password(session=s, info=info, new_password=new, now=runtime.now(),
                                                    current_password=current, first_time=not info.has_password,
                                                    session_now=runtime.session_now()),
                        keep_on=KEEP_FAILURES)  # a wrong current password is counted (and may lock)
        except DomainError as exc:
            self.error = self._msg(exc)
            self.saving = False
            return
        self.saving = False
        self.error = ""
        self.has_password = True
        home = await self.get_state(HomeState)
        home.show_password_offer = False
        yield rx.toast.success(self.t["pwd.saved"])
