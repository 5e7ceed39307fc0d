"""Raw DBAPI statements for the charging hot path.

SQLAlchemy's per-row parameter and result processing costs more than SQLite's
own work at tens of thousands of rows a second, so charging sends plain tuples
through `executemany` and reads plain rows. Values are formatted exactly as the
ORM stores them (naive UTC; on SQLite the same 'YYYY-MM-DD HH:MM:SS.ffffff'
text), so both paths read each other's rows.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

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

    @contextlib.contextmanager
    def _cursor(self, statement: str, params=None):
        """A raw cursor whose driver errors come out as SQLAlchemy's (IntegrityError, OperationalError…),
        so the retry logic sees deadlocks and unique violations the same way on every path."""
        cur = self.conn.connection.driver_connection.cursor()
        try:
            yield cur
        except self.conn.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(statement, params, exc, self.conn.dialect.loaded_dbapi.Error) from exc
        finally:
            cur.close()

    def select(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """`sql` uses {ph} for each parameter."""
        sql = sql.replace("{ph}", self.ph)
        with self._cursor(sql, params) as cur:
            cur.execute(sql, tuple(params))
            return cur.fetchall()

    def select_in(self, sql: str, ids: Sequence, extra: Sequence = (), chunk: int = 900) -> list[tuple]:
        """Run `sql` with `IN ({in})` over `ids` ({ph} for `extra` params after it). On PostgreSQL it
        becomes one `= ANY(array)` statement (one plan, any length); SQLite gets chunks of IN lists."""
        if not ids:
            return []
        if not self.sqlite:
            return self.select(sql.replace(" IN ({in})", " = ANY({ph})"), [list(ids), *extra])
        rows: list[tuple] = []
        for i in range(0, len(ids), chunk):
            part = ids[i:i + chunk]
            q = sql.replace("{in}", self.placeholders(len(part)))
            rows.extend(self.select(q, [*part, *extra]))
        return rows

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
        """Bulk insert: executemany on SQLite, COPY on PostgreSQL."""
        rows = list(rows)
        if not rows:
            return
        if self.sqlite:
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({self.placeholders(len(columns))})"
            self.executemany(sql, rows)
            return
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with self._cursor(sql) as cur, cur.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)

    def update_many(self, table: str, columns: Sequence[tuple[str, str]], rows: list[Sequence],
                    increment: str | None = None) -> None:
        """UPDATE table SET col = value ... WHERE id = ... for many rows; each row is (values..., id).
        `columns` are (name, PostgreSQL type); `increment` names a column to add 1 to."""
        if not rows:
            return
        names = [c for c, _ in columns]
        if self.sqlite:
            sets = ", ".join(f"{c} = ?" for c in names)
            if increment:
                sets += f", {increment} = {increment} + 1"
            self.executemany(f"UPDATE {table} SET {sets} WHERE id = ?", rows)
            return
        sets = ", ".join(f"{c} = v.{c}" for c in names)
        if increment:
            sets += f", {increment} = t.{increment} + 1"
        arrays = ", ".join(f"%s::{pg_type}[]" for _, pg_type in columns) + ", %s::bigint[]"
        cols = [list(col) for col in zip(*rows, strict=True)]
        self.select(f"UPDATE {table} AS t SET {sets} FROM unnest({arrays}) AS v({', '.join(names)}, id) "
                    f"WHERE t.id = v.id RETURNING t.id", cols)

    def executemany(self, sql: str, rows: list[Sequence]) -> None:
        sql = sql.replace("{ph}", self.ph)
        with self._cursor(sql) as cur:
            cur.executemany(sql, rows)
