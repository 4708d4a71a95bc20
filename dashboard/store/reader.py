"""The store's readers: read-only, one connection per thread, so a page never blocks ingest
and ingest never blocks a page. Rows are read by position or column name (`sqlite3.Row`,
or the PostgreSQL rows of `dialect.py`) and every record is built from them by name."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from dashboard.errors import StoreError
from dashboard.store import scope, sql
from dashboard.store.dialect import Connection, open_dialect
from dashboard.store.landmarks import StoredTrace, unpack
from dashboard.store.records import (
    AdjustmentRecord,
    DayRow,
    Device,
    EventRecord,
    HouseholdTotal,
    IngestCounts,
    PracticeDay,
    RejectCount,
    SetAside,
    User,
    named,
)


class Reader:
    """Read-only access; each thread gets its own connection on first use."""

    def __init__(self, location: Path | str) -> None:
        self.dialect = open_dialect(location)
        self.path = self.dialect.shown
        self._local = threading.local()
        self._all: list[Connection] = []
        self._all_lock = threading.Lock()

    def connect(self) -> Connection:
        """A new read-only connection (the caller owns it)."""
        try:
            conn = self.dialect.connect(read_only=True)
        except self.dialect.errors as exc:
            raise StoreError(f"cannot read the dashboard database {self.path}: "
                             f"{' '.join(str(exc).split())}") from exc
        with self._all_lock:
            self._all.append(conn)
        return conn

    @property
    def _conn(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
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
        query = _scoped(query)
        text, args = query.select(limit, offset, newest_first)
        rows = self._conn.execute(text, args).fetchall()
        count_text, count_args = query.count()
        total = int(self._conn.execute(count_text, count_args).fetchone()[0])
        return [EventRecord.from_row(r) for r in rows], total

    def iter_events(self, query: sql.EventQuery, chunk: int = 500) -> Iterator[EventRecord]:
        """Every matching event, oldest first, read in chunks (for the CSV export)."""
        query = _scoped(query)
        offset = 0
        while True:
            text, args = query.select(chunk, offset, newest_first=False)
            rows = self._conn.execute(text, args).fetchall()
            yield from (EventRecord.from_row(r) for r in rows)
            if len(rows) < chunk:
                return
            offset += chunk

    def event(self, event_id: str) -> EventRecord | None:
        row = self._conn.execute(*scope.scoped(sql.GET_EVENT, {"event_id": event_id})).fetchone()
        return None if row is None else EventRecord.from_row(row)

    def event_trace(self, event_id: str) -> StoredTrace | None:
        row = self._conn.execute(*scope.scoped(sql.GET_POSE, {"event_id": event_id})).fetchone()
        return None if row is None else unpack(row[1], float(row[0]))

    # --- summaries --------------------------------------------------------------------

    def day_rows(self, first: str, last: str, device_id: str | None) -> list[DayRow]:
        rows = self._conn.execute(*scope.scoped(
            sql.DAILY_SUMS, {"first": first, "last": last, "device": device_id})).fetchall()
        return [DayRow.from_row(r) for r in rows]

    def bends_by_why(self, start: str, before: str,
                     device_id: str | None) -> list[tuple[str, str | None, int]]:
        """(device, reasons of its unsure bends or None for the judged ones, count) for the
        bends started in [start, before) (UTC, store format)."""
        rows = self._conn.execute(*scope.scoped(
            sql.BENDS_BY_WHY, {"start": start, "before": before, "device": device_id}))
        return [(str(r[0]), None if r[1] is None else str(r[1]), int(r[2])) for r in rows]

    def practice_days(self, first: str, last: str, device_id: str | None) -> list[PracticeDay]:
        rows = self._conn.execute(*scope.scoped(
            sql.PRACTICE_DAYS, {"first": first, "last": last, "device": device_id}))
        return [PracticeDay(r[0], int(r[1]), int(r[2]), int(r[3]), str(r[4])) for r in rows]

    def active_adjustment(self, device_id: str) -> AdjustmentRecord | None:
        row = self._conn.execute(*scope.scoped(sql.ACTIVE_ADJUSTMENT,
                                               {"device": device_id})).fetchone()
        return None if row is None else AdjustmentRecord(*row)

    def share_by_day(self, last: str, device_id: str | None) -> list[tuple[str, int, int]]:
        """(day, hinges, rounds) for every day up to `last` that had either."""
        rows = self._conn.execute(*scope.scoped(sql.DAILY_SHARE,
                                                {"last": last, "device": device_id}))
        return [(r[0], int(r[1]), int(r[2])) for r in rows]

    def activities(self) -> list[str]:
        return [r[0] for r in self._conn.execute(*scope.scoped(sql.ACTIVITIES))]

    # --- devices, health, users -------------------------------------------------------

    def devices(self) -> list[Device]:
        return [Device.from_row(r) for r in self._conn.execute(*scope.scoped(sql.DEVICES))]

    def ingest_counts(self) -> IngestCounts:
        by_kind: dict[str, int] = {}
        last_at: dict[str, str] = {}
        for kind, count, at in self._conn.execute(sql.INGEST_COUNTS):
            by_kind[kind] = int(count)
            last_at[kind] = at
        rejects = tuple(named(RejectCount, r) for r in self._conn.execute(sql.REJECTS))
        if scope.current.get() is None:
            return IngestCounts(by_kind, last_at, rejects)
        # A reject names its topic, so its device: only the account's own show.
        mine = {d.device_id for d in self.devices()}
        rejects = tuple(r for r in rejects if _topic_device(r.last_topic) in mine)
        if len(mine) < int(self._conn.execute(sql.DEVICE_COUNT).fetchone()[0]):
            return IngestCounts({}, {}, rejects, whole=False)
        return IngestCounts(by_kind, last_at, rejects)

    def household_totals(self) -> list[HouseholdTotal]:
        return [named(HouseholdTotal, r) for r in self._conn.execute(
            *scope.scoped(sql.HOUSEHOLD_TOTALS))]

    def set_aside(self, limit: int = 100) -> list[SetAside]:
        """The messages the store refused, oldest first (an operator's view: unscoped)."""
        return [SetAside(r[0], bytes(r[1]), r[2], r[3])
                for r in self._conn.execute(sql.SET_ASIDE, (limit,))]

    def event_total(self) -> int:
        who = scope.current.get()
        if who is not None:
            return int(self._conn.execute(sql.EVENT_TOTAL_SCOPED, {"scope": who}).fetchone()[0])
        return int(self._conn.execute(sql.EVENT_TOTAL).fetchone()[0])

    def size_bytes(self) -> int:
        return self.dialect.size_bytes(self._conn)

    def user_credentials(self, name: str) -> tuple[User, str] | None:
        row = self._conn.execute(sql.GET_USER, (name,)).fetchone()
        return None if row is None else (User(row[0], row[2]), str(row[1]))

    def session_user(self, token_hash: str, now: str) -> User | None:
        row = self._conn.execute(sql.GET_SESSION, (token_hash, now)).fetchone()
        return None if row is None else User(row[0], row[1])

    def data_version(self, conn: Connection) -> int:
        """Changes whenever another connection commits (see the live watcher)."""
        return self.dialect.data_version(conn)


def _scoped(query: sql.EventQuery) -> sql.EventQuery:
    who = scope.current.get()
    return query if who is None else replace(query, scope=who)


def _topic_device(topic: str) -> str | None:
    parts = topic.split("/")
    return parts[1] if len(parts) == 3 else None
