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

An event the broker will not take (it refuses it, or drops the connection each time it
is sent) must not hold up the ones behind it: the publisher sets it aside into the `dead`
table (`set_aside`), where it is kept, counted (`dead_count`, shown in the state) and sent
again only on request (`retry_dead`). What enters is checked first (`EventRefusedError`):
the topic must be this device's event topic, the payload a JSON object of at most
`MAX_EVENT_BYTES` naming the same event and device.

An outbox belongs to one device: the first `device_id` that opens it is recorded, another
is refused, and rows of another device found in an older file are set aside at open.
One process owns an outbox file at a time (the edge agent); readers may open it too.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from edge.delivery.topics import device_of, event_topic
from edge.errors import HingewatchError
from edge.events import MAX_EVENT_BYTES

log = logging.getLogger(__name__)

DEFAULT_MAX_EVENTS = 100_000
# The fill level at which the outbox warns and sets `near_full`. Raising it leaves less
# warning time between "the broker is not acknowledging" and "events are refused".
NEAR_FULL_FRACTION = 0.9
# How long a statement waits for another connection's lock (a reader, a restarted
# process). Raising it rides out longer lock holders but delays an error that way.
BUSY_TIMEOUT_S = 10.0
_SCHEMA_VERSION = 2  # 2: the dead-letter table and the owner


class OutboxError(HingewatchError):
    """The outbox file cannot be opened or used; the message names the file."""


class OutboxFullError(OutboxError):
    """The outbox holds `max_events` events: the new event was not stored."""


class EventRefusedError(OutboxError):
    """The event cannot be delivered as it is (topic, size, JSON): it was not stored."""


@dataclass(frozen=True)
class OutboxEntry:
    """One stored event: `seq` orders entries in insertion order."""

    seq: int
    event_id: str
    topic: str
    payload: bytes


class Outbox:
    """A bounded, crash-safe FIFO of events waiting for the broker's acknowledgement."""

    def __init__(self, path: str | Path, max_events: int = DEFAULT_MAX_EVENTS,
                 device_id: str | None = None) -> None:
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
            # Set aside: events the broker would not take, kept for a look or a retry.
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS dead ("
                " seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE,"
                " topic TEXT NOT NULL, payload BLOB NOT NULL, added_at_s REAL NOT NULL,"
                " dead_at_s REAL NOT NULL, reason TEXT NOT NULL)"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            row = self._db.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()
            self.device_id: str | None = None if row is None else str(row[0])
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox {self.path}: cannot open it as SQLite: {exc}") from exc
        self._count()
        self._near_full = False
        self._update_near_full()
        if device_id is not None:
            self.claim(device_id)

    # -- writing ---------------------------------------------------------------------

    def add(self, event_id: str, topic: str, payload: bytes) -> bool:
        """Commit one event; True if stored, False if that `event_id` is already stored.

        Raises OutboxFullError (nothing stored) when `max_events` events wait already, and
        EventRefusedError for an event that could never be delivered as it is.
        """
        self._check(event_id, topic, payload)
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

    def set_aside(self, event_id: str, reason: str) -> bool:
        """Move one event the broker will not take to the dead-letter table; False if it
        was not waiting (already acknowledged or set aside)."""
        with self._lock:
            moved = self._move(event_id, reason)
            if moved:
                self._depth -= 1
                self._dead += 1
                self._update_near_full()
        if moved:
            log.error("event %s set aside (%s): it no longer holds up the outbox; %d set "
                      "aside in %s", event_id, reason, self._dead, self.path)
        return moved

    def retry_dead(self) -> int:
        """Put every set-aside event back at the end of the queue; returns how many."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                moved = self._db.execute(
                    "INSERT OR IGNORE INTO outbox (event_id, topic, payload, added_at_s)"
                    " SELECT event_id, topic, payload, added_at_s FROM dead ORDER BY seq"
                ).rowcount
                self._db.execute("DELETE FROM dead")
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise OutboxError(f"outbox {self.path}: cannot retry events: {exc}") from exc
            self._depth += moved
            self._dead = 0
            self._update_near_full()
            return moved

    def dead_letters(self, limit: int = 100) -> list[tuple[str, str, str]]:
        """(event_id, topic, reason) of the set-aside events, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT event_id, topic, reason FROM dead ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [(str(e), str(t), str(r)) for e, t, r in rows]

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
    def dead_count(self) -> int:
        """How many events were set aside because the broker would not take them."""
        return self._dead

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

    def claim(self, device_id: str) -> None:
        """Make this the outbox of `device_id` (recorded on first use); OutboxError if it
        belongs to another device. Rows of another device or topic, which an older shared
        file may hold, are set aside: kept, but out of this device's way."""
        with self._lock:
            if self.device_id == device_id:
                return
            if self.device_id is not None:
                raise OutboxError(
                    f"outbox {self.path} belongs to device {self.device_id!r}, not "
                    f"{device_id!r}: give each device its own outbox_path (or --outbox)")
            try:
                self._db.execute("INSERT INTO meta (key, value) VALUES ('device_id', ?)",
                                 (device_id,))
                foreign = [str(e) for (e,) in self._db.execute(
                    "SELECT event_id FROM outbox WHERE topic != ?", (event_topic(device_id),))]
            except sqlite3.Error as exc:
                raise OutboxError(f"outbox {self.path}: cannot record its device: {exc}") \
                    from exc
            for event_id in foreign:
                self._move(event_id, f"not an event of device {device_id!r}")
            self.device_id = device_id
            self._count()
            self._update_near_full()
        if foreign:
            log.warning("outbox %s: %d event(s) of another device or topic set aside",
                        self.path, len(foreign))

    def _count(self) -> None:
        try:
            self._depth = int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])
            self._dead = int(self._db.execute("SELECT count(*) FROM dead").fetchone()[0])
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox {self.path}: cannot count its events: {exc}") from exc

    def _check(self, event_id: str, topic: str, payload: bytes) -> None:
        """Refuse, before storing, what no broker or dashboard would take."""
        def refuse(why: str) -> EventRefusedError:
            return EventRefusedError(f"outbox {self.path}: event {event_id!r} not stored: {why}")

        device = device_of(topic)
        if device is None or topic != event_topic(device):
            raise refuse(f"{topic!r} is not an event topic (hingewatch/<device id>/event)")
        if self.device_id is not None and device != self.device_id:
            raise refuse(f"this outbox belongs to device {self.device_id!r}, not {device!r}")
        if len(payload) > MAX_EVENT_BYTES:
            raise refuse(f"{len(payload)} bytes, more than {MAX_EVENT_BYTES}")
        try:
            data = json.loads(payload)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise refuse(f"the payload is not UTF-8 JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("event_id") != event_id \
                or data.get("device_id") != device:
            raise refuse("the payload is not a JSON object with this event_id and device_id")

    def _move(self, event_id: str, reason: str) -> bool:
        """One row from the queue to the dead letters, in one transaction."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            moved = self._db.execute(
                "INSERT OR REPLACE INTO dead"
                " (event_id, topic, payload, added_at_s, dead_at_s, reason)"
                " SELECT event_id, topic, payload, added_at_s, ?, ? FROM outbox"
                " WHERE event_id = ?", (time.time(), reason, event_id)).rowcount
            self._db.execute("DELETE FROM outbox WHERE event_id = ?", (event_id,))
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise OutboxError(f"outbox {self.path}: cannot set {event_id} aside: {exc}") from exc
        return moved == 1

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
