"""Where the two stores differ: SQLite (a home's one file) and PostgreSQL (a centre's server).

Every statement in `sql.py` is written so both run it; what cannot be (opening a connection,
the schema version, a transaction's start, the file's size, re-dating events in a zone, the
migrations' DDL and triggers) is one method here. The statements use SQLite's placeholders
(`?` and `:name`); PostgreSQL's connection rewrites them once per statement text.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from dashboard.store import batch, migrations, sql
from dashboard.store.records import EVENT_COLUMNS

if TYPE_CHECKING:
    import psycopg

Params = Sequence[object] | Mapping[str, object]
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
# Tables whose `day` is the local date of `started_at`; events last (`reday` counts them).
REDATED = ("practice_sessions", "events")


class Connection(Protocol):
    """What the writer and readers call on a connection of either store."""

    def execute(self, sql: str, parameters: Any = (), /) -> Any: ...

    def close(self) -> None: ...


def is_postgres(location: Path | str) -> bool:
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


def shown(location: Path | str) -> str:
    """The location for messages and logs: a URL's password never shows."""
    if not is_postgres(location):
        return str(location)
    parts = urlsplit(str(location))
    if parts.password is None:
        return str(location)
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def statements(script: str) -> Iterator[str]:
    """Split a SQLite script into statements; `complete_statement` knows BEGIN ... END."""
    pending = ""
    for chunk in script.split(";"):
        pending += chunk + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                yield pending
            pending = ""


class Dialect:
    """One store's ways; `open_dialect` picks the one a location names."""

    errors: tuple[type[Exception], ...]
    # Of `errors`, those that say the store is away (connection lost, server restarting,
    # file locked or read-only), not that it refused what it was given: retried as they are.
    outages: tuple[type[Exception], ...]
    begin: str

    def __init__(self, location: Path | str) -> None:
        self.location = location
        self.shown = shown(location)

    def connect(self, read_only: bool) -> Connection:
        raise NotImplementedError

    def in_transaction(self, conn: Connection) -> bool:
        raise NotImplementedError

    def many(self, conn: Connection, statement: str, rows: Sequence[Params]) -> int:
        """Run `statement` once for each of `rows`; how many rows they changed in all."""
        raise NotImplementedError

    def insert_events(self, conn: Connection,
                      events: Sequence[batch.EventMessage]) -> list[bool]:
        """Insert each event and its pose unless its event_id is stored (or comes earlier in
        `events`); whether each was inserted."""
        raise NotImplementedError

    def run_script(self, conn: Connection, script: str) -> None:
        raise NotImplementedError

    def migration(self, number: int, script: str) -> str:
        return script

    def read_version(self, conn: Connection) -> int:
        raise NotImplementedError

    def write_version(self, conn: Connection, version: int) -> None:
        raise NotImplementedError

    def reday(self, conn: Connection, timezone: str) -> int:
        """Re-date every event and practice session whose local day moves in `timezone`;
        returns how many events moved."""
        raise NotImplementedError

    def data_version(self, conn: Connection) -> int:
        """A number that moves whenever another connection commits."""
        raise NotImplementedError

    def size_bytes(self, conn: Connection) -> int:
        raise NotImplementedError


class SQLite(Dialect):
    errors = (sqlite3.Error,)
    outages = (sqlite3.OperationalError,)
    begin = "BEGIN IMMEDIATE"
    BUSY_TIMEOUT_MS = 10_000
    WRITER_PRAGMAS = (
        "PRAGMA journal_mode = WAL",
        # NORMAL in WAL mode: a power cut can lose the last commits but never corrupts; the
        # broker re-sends what we had not acknowledged, so nothing is lost end to end.
        "PRAGMA synchronous = NORMAL",
        "PRAGMA foreign_keys = ON",
    )

    def connect(self, read_only: bool) -> Connection:
        path = Path(self.location)
        if read_only:
            conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True,
                                   check_same_thread=False,
                                   timeout=self.BUSY_TIMEOUT_MS / 1000)
            conn.row_factory = sqlite3.Row  # records are built by column name
            conn.execute("PRAGMA query_only = 1")
            return conn
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                               timeout=self.BUSY_TIMEOUT_MS / 1000)
        for pragma in self.WRITER_PRAGMAS:
            conn.execute(pragma)
        return conn

    def in_transaction(self, conn: Connection) -> bool:
        return isinstance(conn, sqlite3.Connection) and conn.in_transaction

    def many(self, conn: Connection, statement: str, rows: Sequence[Params]) -> int:
        assert isinstance(conn, sqlite3.Connection)
        return int(conn.executemany(statement, rows).rowcount) if rows else 0

    def insert_events(self, conn: Connection,
                      events: Sequence[batch.EventMessage]) -> list[bool]:
        # In-process: a statement costs no round trip, so one per row is cheap here.
        inserted = []
        for m in events:
            row = conn.execute(sql.INSERT_EVENT, m.row).fetchone()
            if row is not None:
                conn.execute(sql.INSERT_POSE, (row[0], m.trace_rate_hz, m.landmarks))
            inserted.append(row is not None)
        return inserted

    def run_script(self, conn: Connection, script: str) -> None:
        for statement in statements(script):
            conn.execute(statement)

    def read_version(self, conn: Connection) -> int:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def write_version(self, conn: Connection, version: int) -> None:
        conn.execute(f"PRAGMA user_version = {int(version):d}")

    def reday(self, conn: Connection, timezone: str) -> int:
        zone = ZoneInfo(timezone)
        assert isinstance(conn, sqlite3.Connection)
        conn.create_function("hw_local_day", 1, lambda s: batch.local_day(s, zone),
                             deterministic=True)
        # Only the rows whose day really moves: two zones that agree on every stored
        # event change nothing.
        moved = 0
        for table in REDATED:
            moved = int(conn.execute(
                f"UPDATE {table} SET day = hw_local_day(started_at) "
                "WHERE day IS NOT hw_local_day(started_at)").rowcount)
        return moved

    def data_version(self, conn: Connection) -> int:
        return int(conn.execute("PRAGMA data_version").fetchone()[0])

    def size_bytes(self, conn: Connection) -> int:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        return int(pages) * int(conn.execute("PRAGMA page_size").fetchone()[0])


# `?` and `:name` (not `::type`) become psycopg's `%s` and `%(name)s`.
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def postgres_text(sql: str) -> str:
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%").replace("?", "%s"))


class _Row(tuple[Any, ...]):
    """A row read by position or by column name, as `sqlite3.Row` is."""

    names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], _Row]:
    names = {d.name: i for i, d in enumerate(cursor.description or ())}
    row_type = type("Row", (_Row,), {"names": names})

    def make(values: Sequence[Any]) -> _Row:
        return row_type(values)

    return make


class PostgresConnection:
    """A psycopg connection in autocommit mode (the writer says BEGIN and COMMIT itself, as
    it does on SQLite) that takes SQLite's placeholders."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        if not parameters:
            return self.raw.execute(sql)  # no parameters: psycopg reads no placeholder
        return self.raw.execute(postgres_text(sql), parameters)

    def close(self) -> None:
        self.raw.close()


class Postgres(Dialect):
    begin = "BEGIN"
    # Every process that migrates takes this lock first: two ingest processes starting at
    # once must not both create the tables.
    MIGRATION_LOCK = 0x68696E67

    def __init__(self, location: Path | str) -> None:
        super().__init__(location)
        import psycopg

        self._psycopg = psycopg
        self.errors = (psycopg.Error,)
        # Lost connections, shutdowns, deadlocks and full disks; a DataError or an
        # IntegrityError is a refusal.
        self.outages = (psycopg.OperationalError,)
        self._types: dict[str, dict[str, str]] = {}

    def connect(self, read_only: bool) -> Connection:
        conn = self._psycopg.connect(str(self.location), autocommit=True, connect_timeout=10,
                                     row_factory=_row_factory)
        if read_only:  # a SET, not `options`: the URL's own options (search_path) stay
            conn.execute("SET default_transaction_read_only = on")
        return PostgresConnection(conn)

    def in_transaction(self, conn: Connection) -> bool:
        if not isinstance(conn, PostgresConnection):
            return False
        idle = self._psycopg.pq.TransactionStatus.IDLE
        return bool(conn.raw.info.transaction_status != idle)

    def many(self, conn: Connection, statement: str, rows: Sequence[Params]) -> int:
        assert isinstance(conn, PostgresConnection)
        if not rows:
            return 0
        # psycopg sends them in one pipeline: the server runs them back to back while we
        # send, instead of a round trip each.
        cur = conn.raw.cursor()
        cur.executemany(postgres_text(statement), rows)
        return int(cur.rowcount)

    def insert_events(self, conn: Connection,
                      events: Sequence[batch.EventMessage]) -> list[bool]:
        assert isinstance(conn, PostgresConnection)
        if not events:
            return []
        # One statement for the whole batch: each column as one array (psycopg adapts a
        # list in C), unnested into rows. Row by row, even pipelined, the server and
        # psycopg's per-statement work cost more than the events' own.
        types = self._column_types(conn, "events")
        arrays = ", ".join(f"%b::{types[c]}[]" for c in EVENT_COLUMNS)
        rows = conn.raw.execute(
            f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) SELECT * FROM unnest({arrays}) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING id, event_id",
            [[m.row[c] for m in events] for c in EVENT_COLUMNS]).fetchall()
        id_of = {event_id: row_id for row_id, event_id in rows}
        inserted, seen = [], set()
        for m in events:  # of two copies in one batch, the first was inserted
            inserted.append(m.event_id in id_of and m.event_id not in seen)
            seen.add(m.event_id)
        stored = [m for m, done in zip(events, inserted, strict=True) if done]
        conn.raw.execute(
            "INSERT INTO event_pose (id, trace_rate_hz, landmarks) "
            "SELECT * FROM unnest(%b::bigint[], %b::double precision[], %b::bytea[])",
            [[id_of[m.event_id] for m in stored], [m.trace_rate_hz for m in stored],
             [m.landmarks for m in stored]])
        return inserted

    def _column_types(self, conn: PostgresConnection, table: str) -> dict[str, str]:
        """Each column's type, as the catalog names it (read once)."""
        if table not in self._types:
            self._types[table] = {name: kind for name, kind in conn.raw.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = CAST(%s AS regclass) AND attnum > 0 AND NOT attisdropped",
                (table,)).fetchall()}
        return self._types[table]

    def run_script(self, conn: Connection, script: str) -> None:
        assert isinstance(conn, PostgresConnection)
        conn.raw.execute(script.encode())  # bytes: psycopg sends the whole script as it is

    def migration(self, number: int, script: str) -> str:
        return migrations.postgres_text(migrations.POSTGRES_SCRIPTS.get(number, script))

    def read_version(self, conn: Connection) -> int:
        conn.execute(f"SELECT pg_advisory_xact_lock({self.MIGRATION_LOCK})")
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        return int(conn.execute(
            "SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])

    def write_version(self, conn: Connection, version: int) -> None:
        conn.execute("DELETE FROM schema_version")
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    def reday(self, conn: Connection, timezone: str) -> int:
        local_day = "to_char(started_at::timestamptz AT TIME ZONE :zone, 'YYYY-MM-DD')"
        moved = 0
        for table in REDATED:
            moved = int(conn.execute(
                f"UPDATE {table} SET day = {local_day} WHERE day IS DISTINCT FROM {local_day}",
                {"zone": timezone}).rowcount)
        return moved

    def data_version(self, conn: Connection) -> int:
        # The write-ahead log's end moves on every commit that changed something.
        return int(conn.execute("SELECT pg_current_wal_insert_lsn() - '0/0'").fetchone()[0])

    def size_bytes(self, conn: Connection) -> int:
        return int(conn.execute(
            "SELECT pg_database_size(current_database())").fetchone()[0])


def open_dialect(location: Path | str) -> Dialect:
    return Postgres(location) if is_postgres(location) else SQLite(location)
