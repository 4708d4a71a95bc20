"""The outbox: events committed to SQLite before they are published, deleted on PUBACK.

paho keeps unacknowledged QoS 1 messages in memory only, so a crash, a power cut or a
restart would lose them. Every event goes through here first: `add` returns only after
the row is committed (WAL, `synchronous=FULL`: fsynced, so even a power cut keeps it),
and the publisher calls `remove` only when the broker's PUBACK for that event arrives.
A SIGKILL at any moment therefore loses nothing that `add` returned for; at worst an
event that was acknowledged but not yet removed is sent again, which consumers absorb by
deduplicating on `event_id`.

When full, the outbox refuses the *new* event with `OutboxFullError` rather than
dropping old ones: every stored row is a promise that it will be delivered, and the
caller learns exactly which event was not stored (the agent logs it and counts it).
At `NEAR_FULL_FRACTION` it warns loudly once and raises `near_full`, which the state
topic shows, so a broker outage is noticed long before anything is refused.

One process owns an outbox file at a time (the edge agent); readers may open it too.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from edge.errors import HingewatchError

log = logging.getLogger(__name__)

DEFAULT_MAX_EVENTS = 100_000
# The fill level at which the outbox warns and sets `near_full`. Raising it leaves less
# warning time between "the broker is not acknowledging" and "events are refused".
NEAR_FULL_FRACTION = 0.9
# How long a statement waits for another connection's lock (a reader, a restarted
# process). Raising it rides out longer lock holders but delays an error that way.
BUSY_TIMEOUT_S = 10.0
_SCHEMA_VERSION = 1


class OutboxError(HingewatchError):
    """The outbox file cannot be opened or used; the message names the file."""


class OutboxFullError(OutboxError):
    """The outbox holds `max_events` events: the new event was not stored."""


@dataclass(frozen=True)
class OutboxEntry:
    """One stored event: `seq` orders entries in insertion order."""

    seq: int
    event_id: str
    topic: str
    payload: bytes


class Outbox:
    """A bounded, crash-safe FIFO of events waiting for the broker's acknowledgement."""

    def __init__(self, path: str | Path, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 1:
            raise ValueError(f"max_events: expected an integer >= 1, got {max_events!r}")
        self.path = Path(path).expanduser()
        self.max_events = max_events
        self._near_full_at = max(1, int(max_events * NEAR_FULL_FRACTION))
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: every statement commits on its own unless we BEGIN.
            self._db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                check_same_thread=False,
            )
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise OutboxError(f"outbox {self.path}: SQLite refused WAL mode (got {mode})")
            # FULL: the WAL is fsynced at every commit, so a power cut keeps committed events.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS outbox ("
                # AUTOINCREMENT: seq never repeats, even after the table emptied, so
                # "everything after seq N" stays right for the publisher across deletes.
                " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " event_id TEXT NOT NULL UNIQUE,"
                " topic TEXT NOT NULL,"
                " payload BLOB NOT NULL,"
                " added_at_s REAL NOT NULL)"
            )
            self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            self._depth = int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox {self.path}: cannot open it as SQLite: {exc}") from exc
        self._near_full = False
        self._update_near_full()

    # -- writing ---------------------------------------------------------------------

    def add(self, event_id: str, topic: str, payload: bytes) -> bool:
        """Commit one event; True if stored, False if that `event_id` is already stored.

        Raises OutboxFullError (nothing stored) when `max_events` events wait already.
        """
        with self._lock:
            if self._depth >= self.max_events:
                if self._contains(event_id):
                    return False
                raise OutboxFullError(
                    f"outbox {self.path} is full ({self.max_events} events): event {event_id} "
                    "was not stored; the broker has not acknowledged events for a long time "
                    "(check the broker, or raise outbox_max_events)"
                )
            try:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO outbox (event_id, topic, payload, added_at_s)"
                    " VALUES (?, ?, ?, ?)",
                    (event_id, topic, sqlite3.Binary(payload), time.time()),
                )
            except sqlite3.Error as exc:
                raise OutboxError(f"outbox {self.path}: cannot store {event_id}: {exc}") from exc
            added = cursor.rowcount == 1
            if added:
                self._depth += 1
                self._update_near_full()
            return added

    def remove(self, event_id: str) -> bool:
        """Delete one acknowledged event; False if it was not there."""
        return self.remove_many((event_id,)) == 1

    def remove_many(self, event_ids: Iterable[str]) -> int:
        """Delete acknowledged events in one transaction; returns how many were there."""
        ids = list(event_ids)
        if not ids:
            return 0
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                removed = 0
                for event_id in ids:
                    removed += self._db.execute(
                        "DELETE FROM outbox WHERE event_id = ?", (event_id,)
                    ).rowcount
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise OutboxError(f"outbox {self.path}: cannot delete events: {exc}") from exc
            self._depth -= removed
            self._update_near_full()
            return removed

    # -- reading ---------------------------------------------------------------------

    def pending(self, limit: int, after_seq: int = 0) -> list[OutboxEntry]:
        """Up to `limit` events in insertion order, starting after `after_seq`."""
        if limit < 1:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, event_id, topic, payload FROM outbox WHERE seq > ?"
                " ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [OutboxEntry(int(s), str(e), str(t), bytes(p)) for s, e, t, p in rows]

    @property
    def depth(self) -> int:
        """How many events wait for their PUBACK."""
        return self._depth

    @property
    def near_full(self) -> bool:
        """True at or above NEAR_FULL_FRACTION of `max_events`."""
        return self._near_full

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- inside ----------------------------------------------------------------------

    def _contains(self, event_id: str) -> bool:
        row = self._db.execute("SELECT 1 FROM outbox WHERE event_id = ?", (event_id,))
        return row.fetchone() is not None

    def _update_near_full(self) -> None:
        near_full = self._depth >= self._near_full_at
        if near_full and not self._near_full:
            log.warning(
                "outbox %s is %d %% full (%d of %d events): the broker has not acknowledged "
                "events for a while; at %d new events will be refused",
                self.path, 100 * self._depth // self.max_events, self._depth,
                self.max_events, self.max_events,
            )
        elif self._near_full and not near_full:
            log.info("outbox %s is below %d %% again (%d events)",
                     self.path, round(NEAR_FULL_FRACTION * 100), self._depth)
        self._near_full = near_full
