"""Raw DBAPI statements for the charging hot path.

SQLAlchemy's per-row parameter and result processing costs more than SQLite's
own work at tens of thousands of rows a second, so charging sends plain tuples
through `executemany` and reads plain rows. Values are formatted exactly as the
ORM stores them (naive UTC; on SQLite the same 'YYYY-MM-DD HH:MM:SS.ffffff'
text), so both paths read each other's rows.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

from sqlalchemy.engine import Connection

_DT_TEXT: dict[datetime, str] = {}  # events share their second often: formatting is memoised


@functools.lru_cache(maxsize=65536)
def _parse_text(value: str) -> datetime:
    """Bucket bounds repeat a lot (period starts and ends), so parsing is cached."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


class FastSQL:
    def __init__(self, conn: Connection):
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.ph = "?" if self.sqlite else "%s"

    # values -------------------------------------------------------------

    def dt(self, value: datetime):
        if self.sqlite:
            text = _DT_TEXT.get(value)
            if text is None:
                if len(_DT_TEXT) > 200_000:
                    _DT_TEXT.clear()
                naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
                text = _DT_TEXT[value] = naive.isoformat(" ", "microseconds")
            return text
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value

    def day(self, value: date):
        return value.isoformat() if self.sqlite else value

    def parse_dt(self, value) -> datetime:
        if isinstance(value, str):
            return _parse_text(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def parse_day(self, value) -> date:
        return date.fromisoformat(value) if isinstance(value, str) else value

    # statements ---------------------------------------------------------

    def placeholders(self, n: int) -> str:
        return ", ".join([self.ph] * n)

    def select(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """`sql` uses {ph} for each parameter and {ids} for an IN list filled from params."""
        cur = self.conn.connection.driver_connection.cursor()
        try:
            cur.execute(sql.replace("{ph}", self.ph), tuple(params))
            return cur.fetchall()
        finally:
            cur.close()

    def select_in(self, sql: str, ids: Sequence, extra: Sequence = (), chunk: int = 900) -> list[tuple]:
        """Run `sql` (with {in} where the IN list goes, {ph} for `extra` params after it) over id chunks."""
        rows: list[tuple] = []
        for i in range(0, len(ids), chunk):
            part = ids[i:i + chunk]
            q = sql.replace("{in}", self.placeholders(len(part)))
            rows.extend(self.select(q, [*part, *extra]))
        return rows

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
        rows = list(rows)
        if not rows:
            return
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({self.placeholders(len(columns))})"
        self.executemany(sql, rows)

    def executemany(self, sql: str, rows: list[Sequence]) -> None:
        cur = self.conn.connection.driver_connection.cursor()
        try:
            cur.executemany(sql.replace("{ph}", self.ph), rows)
        finally:
            cur.close()
