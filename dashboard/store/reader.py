"""The SQLite store's readers: read-only, one connection per thread, so a page never blocks
ingest and ingest never blocks a page (WAL). Rows come back as `sqlite3.Row`s and every
record is built from them by column name."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from dashboard.errors import StoreError
from dashboard.store import sql
from dashboard.store.landmarks import StoredTrace, unpack
from dashboard.store.records import (
    AdjustmentRecord,
    DayRow,
    Device,
    EventRecord,
    IngestCounts,
    PracticeDay,
    RejectCount,
    User,
    named,
)
from dashboard.store.writer import BUSY_TIMEOUT_MS


class Reader:
    """Read-only access; each thread gets its own connection on first use."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._uri = self.path.resolve().as_uri() + "?mode=ro"
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()

    def connect(self) -> sqlite3.Connection:
        """A new read-only connection (the caller owns it)."""
        try:
            conn = sqlite3.connect(
                self._uri, uri=True, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
            conn.row_factory = sqlite3.Row  # records are built by column name
            for pragma in sql.PRAGMAS_READER:
                conn.execute(pragma)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the dashboard database {self.path}: {exc}") from exc
        with self._all_lock:
            self._all.append(conn)
        return conn

    @property
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.connect()
            self._local.conn = conn
        return conn

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    # --- events -----------------------------------------------------------------------

    def event_page(self, query: sql.EventQuery, limit: int, offset: int,
                   newest_first: bool = True) -> tuple[list[EventRecord], int]:
        text, args = query.select(limit, offset, newest_first)
        rows = self._conn.execute(text, args).fetchall()
        count_text, count_args = query.count()
        total = int(self._conn.execute(count_text, count_args).fetchone()[0])
        return [EventRecord.from_row(r) for r in rows], total

    def iter_events(self, query: sql.EventQuery, chunk: int = 500) -> Iterator[EventRecord]:
        """Every matching event, oldest first, read in chunks (for the CSV export)."""
        offset = 0
        while True:
            text, args = query.select(chunk, offset, newest_first=False)
            rows = self._conn.execute(text, args).fetchall()
            yield from (EventRecord.from_row(r) for r in rows)
            if len(rows) < chunk:
                return
            offset += chunk

    def event(self, event_id: str) -> EventRecord | None:
        row = self._conn.execute(sql.GET_EVENT, (event_id,)).fetchone()
        return None if row is None else EventRecord.from_row(row)

    def event_trace(self, event_id: str) -> StoredTrace | None:
        row = self._conn.execute(sql.GET_POSE, (event_id,)).fetchone()
        return None if row is None else unpack(row[1], float(row[0]))

    # --- summaries --------------------------------------------------------------------

    def day_rows(self, first: str, last: str, device_id: str | None) -> list[DayRow]:
        rows = self._conn.execute(
            sql.DAILY_SUMS, {"first": first, "last": last, "device": device_id}
        ).fetchall()
        return [DayRow.from_row(r) for r in rows]

    def practice_days(self, first: str, last: str, device_id: str | None) -> list[PracticeDay]:
        rows = self._conn.execute(sql.PRACTICE_DAYS,
                                  {"first": first, "last": last, "device": device_id})
        return [PracticeDay(r[0], int(r[1]), int(r[2]), int(r[3]), str(r[4])) for r in rows]

    def active_adjustment(self, device_id: str) -> AdjustmentRecord | None:
        row = self._conn.execute(sql.ACTIVE_ADJUSTMENT, (device_id,)).fetchone()
        return None if row is None else AdjustmentRecord(*row)

    def share_by_day(self, last: str, device_id: str | None) -> list[tuple[str, int, int]]:
        """(day, hinges, rounds) for every day up to `last` that had either."""
        rows = self._conn.execute(sql.DAILY_SHARE, {"last": last, "device": device_id})
        return [(r[0], int(r[1]), int(r[2])) for r in rows]

    def activities(self) -> list[str]:
        return [r[0] for r in self._conn.execute(sql.ACTIVITIES)]

    # --- devices, health, users -------------------------------------------------------

    def devices(self) -> list[Device]:
        return [Device.from_row(r) for r in self._conn.execute(sql.DEVICES)]

    def ingest_counts(self) -> IngestCounts:
        by_kind: dict[str, int] = {}
        last_at: dict[str, str] = {}
        for kind, count, at in self._conn.execute(sql.INGEST_COUNTS):
            by_kind[kind] = int(count)
            last_at[kind] = at
        rejects = tuple(named(RejectCount, r) for r in self._conn.execute(sql.REJECTS))
        return IngestCounts(by_kind, last_at, rejects)

    def event_total(self) -> int:
        return int(self._conn.execute(sql.EVENT_TOTAL).fetchone()[0])

    def size_bytes(self) -> int:
        pages = self._conn.execute(sql.PAGE_COUNT).fetchone()[0]
        return int(pages) * int(self._conn.execute(sql.PAGE_SIZE).fetchone()[0])

    def user_credentials(self, name: str) -> tuple[User, str] | None:
        row = self._conn.execute(sql.GET_USER, (name,)).fetchone()
        return None if row is None else (User(row[0], row[2]), str(row[1]))

    def session_user(self, token_hash: str, now: str) -> User | None:
        row = self._conn.execute(sql.GET_SESSION, (token_hash, now)).fetchone()
        return None if row is None else User(row[0], row[1])

    def data_version(self, conn: sqlite3.Connection) -> int:
        """Changes whenever another connection commits (see the live watcher)."""
        return int(conn.execute(sql.DATA_VERSION).fetchone()[0])
