"""Demo helpers shared by the CLI and the login page (demo mode only)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from mts_portal.core.auth import format_msisdn
from mts_portal.core.catalog import default_catalog
from mts_portal.core.models import Account, Line, SimProfile


def demo_logins(session: Session, limit: int = 5) -> list[dict[str, str]]:
    rows = session.exec(
        select(Line.msisdn, Line.tariff_code, Account.holder_name, SimProfile.demo_login)
        .join(SimProfile, SimProfile.line_id == Line.id).join(Account, Account.id == Line.account_id)
        .where(SimProfile.demo_login.is_not(None)).order_by(SimProfile.demo_login).limit(limit)
    ).all()
    cat = default_catalog()
    return [{"msisdn": m, "label": format_msisdn(m), "tariff": cat.tariffs[t].name_ru, "holder": h}
            for m, t, h, _ in rows]
