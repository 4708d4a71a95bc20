"""The store's one writer (a transaction at a time, serialised by a lock); `reader.py` has
the many readers. The store is a SQLite file (a home) or a PostgreSQL database (a centre):
`dialect.py` holds what differs.

The ingest thread and the web handlers share one `Writer`; a second process (the
`adduser` command next to a running dashboard, another ingest process) waits on the
store's own lock. Readers hold their own connections, so a page never blocks ingest and
ingest never blocks a page (WAL on SQLite, MVCC on PostgreSQL).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from dashboard.errors import StoreError, StoreRefusedError, StoreVersionError, UserError
from dashboard.store import batch, migrations, scope, sql
from dashboard.store.dialect import Connection, open_dialect

log = logging.getLogger("hingewatch.dashboard.store")


@dataclass(frozen=True)
class BatchResult:
    stored: int
    duplicates: int
    rejected: int
    other: int                  # status, state and practice messages


class Writer:
    """The one path that changes the database."""

    def __init__(self, location: Path | str, timezone: str | None = None) -> None:
        """`location`: the SQLite file, or a `postgresql://` URL. `timezone`: the zone the
        dashboard counts days in; give it only where the dashboard serves (it re-dates
        stored events when the setting changed). A command that only manages accounts
        passes none and never touches an event."""
        self.dialect = open_dialect(location)
        self.path = self.dialect.shown  # for messages: never a password
        self._lock = threading.Lock()
        self._conn = self._connect()
        self._broken = False  # the last write failed: open a new connection before the next
        self.migrate()
        if timezone is not None:
            self.follow_timezone(timezone)

    def _connect(self) -> Connection:
        errors: tuple[type[BaseException], ...] = (OSError, *self.dialect.errors)
        try:
            return self.dialect.connect(read_only=False)
        except errors as exc:
            raise StoreError(f"cannot open the dashboard database {self.path}: "
                             f"{_one_line(exc)}") from exc

    def check_writable(self) -> None:
        """Raise StoreError (one line) unless a write commits: SQLite opens a file it may
        not write read-only, and would only fail at the first write."""
        with self.transaction() as c:
            c.execute(sql.META_SET, ("write_check", "ok"))

    def _reopen(self) -> None:
        """A connection that failed may stay read-only (or hold a dead file handle) after
        the file is writable again: the next write starts from a new one."""
        with contextlib.suppress(*self.dialect.errors):
            self._conn.close()
        self._conn = self._connect()
        self._broken = False

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        errors = self.dialect.errors
        with self._lock:
            try:
                if self._broken:
                    self._reopen()
                self._conn.execute(self.dialect.begin)
            except errors as exc:
                self._broken = True
                raise self._error("cannot write to", exc) from exc
            try:
                yield self._conn
            except errors as exc:
                self._rollback(broken=True)
                raise self._error("cannot write to", exc) from exc
            except BaseException:
                self._rollback(broken=False)  # our own refusal (UserError): nothing broke
                raise
            try:
                self._conn.execute("COMMIT")
            except errors as exc:
                self._rollback(broken=True)
                raise self._error("cannot commit to", exc) from exc

    def _error(self, what: str, exc: BaseException) -> StoreError:
        """A driver's error as ours: an outage (retry as it is) or a refusal (StoreRefusedError:
        the same write would be refused again)."""
        kind = StoreError if isinstance(exc, self.dialect.outages) else StoreRefusedError
        return kind(f"{what} {self.path}: {_one_line(exc)}")

    def _rollback(self, broken: bool) -> None:
        self._broken = self._broken or broken
        with contextlib.suppress(*self.dialect.errors):
            if self.dialect.in_transaction(self._conn):
                self._conn.execute("ROLLBACK")

    def migrate(self) -> int:
        """Bring the schema to the newest version; returns the version it is at."""
        latest = migrations.MIGRATIONS[-1][0]
        with self.transaction() as c:
            version = self.dialect.read_version(c)
            if version > latest:
                raise StoreVersionError(
                    f"{self.path} has schema version {version}; this hingewatch knows up to "
                    f"{latest}: update hingewatch"
                )
            for number, _what, script in migrations.MIGRATIONS:
                if number > version:
                    self.dialect.run_script(c, self.dialect.migration(number, script))
                    self.dialect.write_version(c, number)
                    version = number
        return version

    def follow_timezone(self, timezone: str) -> int:
        """Days are local dates; when the zone setting changes, re-date the events whose
        day moves. Returns how many moved."""
        moved = 0
        with self.transaction() as c:
            row = c.execute(sql.META_GET, ("timezone",)).fetchone()
            if row is None or row[0] != timezone:
                if row is not None:
                    moved = self.dialect.reday(c, timezone)
                    if moved:
                        self.dialect.run_script(c, sql.REBUILD_DAILY)
                c.execute(sql.META_SET, ("timezone", timezone))
        if moved:
            log.warning("the time zone changed from %s to %s: %d events moved to another day",
                        row[0], timezone, moved)
        return moved

    def secret_key(self) -> str:
        with self.transaction() as c:
            row = c.execute(sql.META_GET, ("secret_key",)).fetchone()
            if row is not None:
                return str(row[0])
            key = secrets.token_urlsafe(32)
            c.execute(sql.META_SET, ("secret_key", key))
            return key

    def write_batch(self, messages: Sequence[batch.Message], now: str) -> BatchResult:
        """Store one batch in one transaction: events (deduplicated), statuses, states and
        the counters, so a crash leaves either all of it or none. StoreRefusedError: the
        store refused something in it (none of it is stored)."""
        try:
            return self._write_batch(messages, now)
        except (ValueError, TypeError, OverflowError) as exc:
            # The driver could not even bind a value (SQLite: an integer beyond 64 bits, a
            # lone surrogate): a refusal like the database's own.
            raise StoreRefusedError(f"cannot write to {self.path}: {_one_line(exc)}") from exc

    def set_aside(self, topic: str, payload: bytes, reason: str, now: str) -> None:
        """Keep a message the store refused (`reason`: the refusal) in `set_aside`, with its
        payload as received, and count it on Health: the messages behind it go on."""
        with self.transaction() as c:
            c.execute(sql.INSERT_SET_ASIDE, (_text(topic), payload, _text(reason), now))
            c.execute(sql.COUNT_REJECT, ("set_aside", 1, now, _text(topic), _text(reason)))

    def _write_batch(self, messages: Sequence[batch.Message], now: str) -> BatchResult:
        # Each kind of statement is sent for the whole batch at once (`Dialect.many`: on
        # PostgreSQL one pipeline, not a round trip per row); within a kind, in the order
        # the messages came, but events in `daily`'s key order, so that two processes
        # take its rows' locks in one order and never deadlock.
        events = sorted((m for m in messages if isinstance(m, batch.EventMessage)),
                        key=_daily_key)
        statuses = [m for m in messages if isinstance(m, batch.StatusMessage)]
        states = [m for m in messages if isinstance(m, batch.StateMessage)]
        practices = [m for m in messages if isinstance(m, batch.PracticeMessage)]
        rejects: dict[str, tuple[int, str, str]] = {}  # reason -> (count, last topic, detail)
        for m in messages:
            if isinstance(m, batch.Rejected):
                count = rejects.get(m.reason, (0, "", ""))[0]
                rejects[m.reason] = (count + 1, _text(m.topic), _text(m.detail))
        seen = sorted({m.device_id for m in messages if not isinstance(m, batch.Rejected)})
        many = self.dialect.many
        with self.transaction() as c:
            inserted = self.dialect.insert_events(c, events)
            latest: dict[str, _DeviceEvents] = {}
            for m, done in zip(events, inserted, strict=True):
                if done:
                    _count_event(latest, m)
            stored = sum(inserted)
            many(c, sql.DEVICE_STATUS, [(m.device_id, m.status, now) for m in statuses])
            many(c, sql.DEVICE_STATE, [(m.device_id, m.state_json, now) for m in states])
            practice = many(c, sql.INSERT_PRACTICE, [m.row for m in practices])
            many(c, sql.DEVICE_EVENT, [(device_id, d.started_at, d.count, d.software, d.model)
                                       for device_id, d in sorted(latest.items())])
            # One order for every process: no deadlock.
            many(c, sql.DEVICE_SEEN, [(device_id, now) for device_id in seen])
            kinds = {
                "event_stored": stored, "event_duplicate": len(events) - stored,
                "status": len(statuses), "state": len(states),
                "practice_stored": practice, "practice_duplicate": len(practices) - practice,
            }
            many(c, sql.COUNT_KIND, [(kind, count, now) for kind, count in kinds.items()
                                     if count])
            many(c, sql.COUNT_REJECT, [(reason, count, now, topic, detail)
                                       for reason, (count, topic, detail) in rejects.items()])
        rejected = sum(count for count, _, _ in rejects.values())
        return BatchResult(stored, len(events) - stored, rejected,
                           len(statuses) + len(states) + len(practices))

    def review(self, event_id: str, label: str, note: str, reviewer: str, now: str) -> bool:
        """Record (or replace) the review of one event; False when there is no such event."""
        if label not in sql.LABELS:
            raise ValueError(f"label: expected one of {sql.LABELS}, got {label!r}")
        with self.transaction() as c:
            if c.execute(*scope.scoped(sql.EVENT_EXISTS, {"event_id": event_id})
                         ).fetchone() is None:
                return False
            c.execute(sql.UPSERT_REVIEW, (event_id, label, note, reviewer, now))
        return True

    def accept_adjustment(self, device_id: str, values: tuple[float, float, float],
                          before: float | None, after: float | None, reviews: int,
                          who: str, now: str) -> int:
        """Record a device's new cut-offs (bulge_flat, bulge_round, squat_min_knee_deg) as
        accepted by `who`; returns its id. The caller checked them (edge.adjustment)."""
        with self.transaction() as c:
            cur = c.execute(sql.INSERT_ADJUSTMENT, (device_id, *values, before, after, reviews,
                                                    who, now))
            return int(cur.fetchone()[0])

    def undo_adjustment(self, device_id: str, who: str, now: str) -> bool:
        """Undo the device's active adjustment (the one before it, or the defaults, is
        active again); False when there was none."""
        with self.transaction() as c:
            row = c.execute(*scope.scoped(sql.ACTIVE_ADJUSTMENT,
                                          {"device": device_id})).fetchone()
            if row is None:
                return False
            c.execute(sql.UNDO_ADJUSTMENT, (who, now, row[0]))
        return True

    def add_user(self, name: str, password_hash: str, role: str, now: str,
                 replace: bool = False,
                 households: Sequence[str] = (migrations.DEFAULT_HOUSEHOLD,)) -> None:
        """A new account sees `households` (a home's one, by default); `replace` keeps
        an existing account's grants."""
        with self.transaction() as c:
            if c.execute(sql.GET_USER, (name,)).fetchone() is not None:
                if not replace:
                    raise UserError(f"user {name!r} exists; pass --replace to set a new password")
                c.execute(sql.UPDATE_USER, (password_hash, role, name))
                c.execute(sql.DELETE_USER_SESSIONS, (name,))
            else:
                c.execute(sql.INSERT_USER, (name, password_hash, role, now))
                for household in households:
                    _need_household(c, household)
                    c.execute(sql.GRANT, (name, household))

    def grant(self, user: str, household: str) -> None:
        """Let `user` see `household`: its devices, their events, summaries and reports."""
        with self.transaction() as c:
            if c.execute(sql.GET_USER, (user,)).fetchone() is None:
                raise UserError(f"no user {user!r}: add it first (hingewatch dashboard adduser)")
            _need_household(c, household)
            c.execute(sql.GRANT, (user, household))

    def put_devices(self, household: str, devices: Sequence[str], now: str) -> None:
        """Make `household` (if new) and move `devices` into it."""
        with self.transaction() as c:
            c.execute(sql.INSERT_HOUSEHOLD, (household, now))
            for device in devices:
                c.execute(sql.PUT_DEVICE, (device, household))

    def create_session(self, token_hash: str, user_name: str, now: str, expires_at: str) -> None:
        with self.transaction() as c:
            c.execute(sql.PURGE_SESSIONS, (now,))
            c.execute(sql.INSERT_SESSION, (token_hash, user_name, now, expires_at))

    def delete_session(self, token_hash: str) -> None:
        with self.transaction() as c:
            c.execute(sql.DELETE_SESSION, (token_hash,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class _DeviceEvents:
    """A device's events stored in one batch: how many, and the latest one's origin."""

    count: int = 0
    started_at: str = ""
    software: str | None = None
    model: str | None = None


def _daily_key(m: batch.EventMessage) -> tuple[str, ...]:
    return tuple(str(m.row[c]) for c in ("day", "device_id", "activity", "posture"))


def _count_event(latest: dict[str, _DeviceEvents], m: batch.EventMessage) -> None:
    started_at = str(m.row["started_at"])
    d = latest.setdefault(m.device_id, _DeviceEvents())
    d.count += 1
    if started_at >= d.started_at:
        d.started_at, d.software, d.model = started_at, m.software_version, m.model


def _need_household(c: Connection, household: str) -> None:
    if c.execute(sql.HOUSEHOLD_EXISTS, (household,)).fetchone() is None:
        raise UserError(f"no household {household!r}: make it with "
                        f"hingewatch dashboard household add {household} DEVICE...")


def _text(hostile: str) -> str:
    """A message's topic or detail as text either store takes: PostgreSQL's text takes no
    NUL, and a row it refuses would fail its whole batch."""
    return hostile.replace("\x00", "\ufffd")


def _one_line(exc: BaseException) -> str:
    """A driver's message on one line (PostgreSQL's carry a DETAIL and a HINT below)."""
    return " ".join(str(exc).split())
