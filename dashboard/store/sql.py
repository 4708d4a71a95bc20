"""Every SQL statement of the dashboard's store, and its migrations, in one place.

The store is one SQLite file in WAL mode. `events` holds one row per bend with the columns
the pages filter and sum on; `event_pose` holds the skeleton and trace (packed int16) for
the detail page, so they never slow a scan. `daily` is a pre-aggregate per day,
device, activity and *effective* posture (a reviewer's label wins over the device's);
triggers keep it right on every insert and review, so the Week page reads a few hundred
rows instead of a year of events. `REBUILD_DAILY` recomputes it from scratch; a test holds
the triggers to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.store.records import EVENT_COLUMNS, REVIEW_COLUMNS

# What a reviewer may call a bend. The device's own verdict (`events.posture`) has no CHECK:
# it is whatever the event's schema allowed (bend/2 added `unsure`, no migration needed).
LABELS: tuple[str, ...] = ("hinge", "round", "squat", "not_a_bend")

# What one event adds to its `daily` row, as (column, expression over the event `e`).
_DAILY_SUMS: tuple[tuple[str, str], ...] = (
    ("n", "1"),
    ("n_simulated", "e.simulated"),
    ("duration_s", "e.duration_s"),
    ("deep_s", "e.time_beyond_60_deg_s"),
    ("reba1", "e.reba_trunk = 1"),
    ("reba2", "e.reba_trunk = 2"),
    ("reba3", "e.reba_trunk = 3"),
    ("reba4", "e.reba_trunk = 4"),
)
_DAILY_COLS = ", ".join(c for c, _ in _DAILY_SUMS)


def _daily_add(event: str, posture: str, sign: str) -> str:
    """One statement that adds (sign '+') or removes ('-') event `event` under `posture`."""
    values = ", ".join(f"{sign}({expr})" for _, expr in _DAILY_SUMS)
    update = ", ".join(f"{c} = {c} + excluded.{c}" for c, _ in _DAILY_SUMS)
    return (
        f"INSERT INTO daily (day, device_id, activity, posture, {_DAILY_COLS}) "
        f"SELECT e.day, e.device_id, e.activity, {posture}, {values} "
        f"FROM events AS e WHERE e.event_id = {event} "
        f"ON CONFLICT (day, device_id, activity, posture) DO UPDATE SET {update};"
    )


_V1 = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    device_id TEXT NOT NULL,
    started_at TEXT NOT NULL,          -- UTC, ISO with ms and Z: sorts as text
    ended_at TEXT NOT NULL,
    day TEXT NOT NULL,                 -- local date of started_at (meta.timezone)
    duration_s REAL NOT NULL,
    posture TEXT NOT NULL,             -- the device's verdict; never changed
    confidence REAL NOT NULL,
    reasons TEXT NOT NULL,             -- space-separated reason names
    activity TEXT NOT NULL,
    zone TEXT,
    lift INTEGER NOT NULL,
    view TEXT NOT NULL,
    peak_trunk_inclination_deg REAL NOT NULL,
    peak_hip_flexion_deg REAL NOT NULL,
    peak_knee_flexion_deg REAL NOT NULL,
    peak_hip_shift_norm REAL NOT NULL,
    back_bulge_norm REAL,
    time_beyond_60_deg_s REAL NOT NULL,
    reba_trunk INTEGER NOT NULL,       -- REBA trunk score 1-4 of the peak inclination
    model_name TEXT NOT NULL,
    model_variant TEXT NOT NULL,
    software_version TEXT NOT NULL,
    simulated INTEGER NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX events_started ON events (started_at);
CREATE INDEX events_device_started ON events (device_id, started_at);

CREATE TABLE event_pose (
    id INTEGER PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    trace_rate_hz REAL NOT NULL,
    landmarks BLOB NOT NULL            -- skeleton then trace frames, int16 (landmarks.pack)
);

CREATE TABLE reviews (
    event_id TEXT PRIMARY KEY REFERENCES events (event_id) ON DELETE CASCADE,
    label TEXT NOT NULL CHECK (label IN ('hinge', 'round', 'squat', 'not_a_bend')),
    note TEXT NOT NULL DEFAULT '',
    reviewer TEXT NOT NULL,
    reviewed_at TEXT NOT NULL
);

CREATE TABLE daily (
    day TEXT NOT NULL,
    device_id TEXT NOT NULL,
    activity TEXT NOT NULL,
    posture TEXT NOT NULL,             -- effective: the review label, else the device's
    n INTEGER NOT NULL DEFAULT 0,
    n_simulated INTEGER NOT NULL DEFAULT 0,
    duration_s REAL NOT NULL DEFAULT 0,
    deep_s REAL NOT NULL DEFAULT 0,
    reba1 INTEGER NOT NULL DEFAULT 0,
    reba2 INTEGER NOT NULL DEFAULT 0,
    reba3 INTEGER NOT NULL DEFAULT 0,
    reba4 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, device_id, activity, posture)
) WITHOUT ROWID;

CREATE TRIGGER events_daily AFTER INSERT ON events BEGIN
    {_daily_add("new.event_id", "e.posture", "+")}
END;
CREATE TRIGGER reviews_daily_insert AFTER INSERT ON reviews BEGIN
    {_daily_add("new.event_id", "e.posture", "-")}
    {_daily_add("new.event_id", "new.label", "+")}
END;
CREATE TRIGGER reviews_daily_update AFTER UPDATE OF label ON reviews BEGIN
    {_daily_add("new.event_id", "old.label", "-")}
    {_daily_add("new.event_id", "new.label", "+")}
END;

CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    status TEXT,                       -- 'online' / 'offline' / NULL (never said)
    status_at TEXT,
    state TEXT,                        -- the retained state JSON object, as received
    state_at TEXT,
    last_message_at TEXT,
    last_event_at TEXT,
    events_total INTEGER NOT NULL DEFAULT 0,
    software_version TEXT,             -- of the device's latest event
    model TEXT                         -- name and variant, of the latest event
);

CREATE TABLE ingest_counts (
    kind TEXT PRIMARY KEY,             -- event_stored, event_duplicate, status, state
    count INTEGER NOT NULL,
    last_at TEXT NOT NULL
);

CREATE TABLE rejects (
    reason TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    last_at TEXT NOT NULL,
    last_topic TEXT NOT NULL,
    last_detail TEXT NOT NULL
);

CREATE TABLE users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'reviewer')),
    created_at TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
"""

# (version, what it does, script). Append only: a released migration never changes.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "events, reviews, daily aggregate, devices, counters, users, sessions", _V1),
)

PRAGMAS_WRITER = (
    "PRAGMA journal_mode = WAL",
    # NORMAL in WAL mode: a power cut can lose the last commits but never corrupts; the
    # broker re-sends what we had not acknowledged, so nothing is lost end to end.
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
)
PRAGMAS_READER = ("PRAGMA query_only = 1",)

USER_VERSION = "PRAGMA user_version"
SET_USER_VERSION = "PRAGMA user_version = {version:d}"
DATA_VERSION = "PRAGMA data_version"

META_GET = "SELECT value FROM meta WHERE key = ?"
META_SET = (
    "INSERT INTO meta (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)

# --- ingest -----------------------------------------------------------------------------

INSERT_EVENT = (
    f"INSERT OR IGNORE INTO events ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in EVENT_COLUMNS)})"
)
INSERT_POSE = "INSERT INTO event_pose (id, trace_rate_hz, landmarks) VALUES (?, ?, ?)"
DEVICE_EVENT = (
    "INSERT INTO devices (device_id, last_event_at, events_total, software_version, model) "
    "VALUES (?, ?, 1, ?, ?) "
    "ON CONFLICT (device_id) DO UPDATE SET events_total = events_total + 1, "
    "software_version = iif(excluded.last_event_at >= coalesce(last_event_at, ''), "
    "excluded.software_version, software_version), "
    "model = iif(excluded.last_event_at >= coalesce(last_event_at, ''), excluded.model, model), "
    "last_event_at = max(coalesce(last_event_at, ''), excluded.last_event_at)"
)
DEVICE_SEEN = (
    "INSERT INTO devices (device_id, last_message_at) VALUES (?, ?) "
    "ON CONFLICT (device_id) DO UPDATE SET last_message_at = excluded.last_message_at"
)
DEVICE_STATUS = (
    "INSERT INTO devices (device_id, status, status_at) VALUES (?, ?, ?) "
    "ON CONFLICT (device_id) DO UPDATE SET status = excluded.status, "
    "status_at = excluded.status_at"
)
DEVICE_STATE = (
    "INSERT INTO devices (device_id, state, state_at) VALUES (?, ?, ?) "
    "ON CONFLICT (device_id) DO UPDATE SET state = excluded.state, state_at = excluded.state_at"
)
COUNT_KIND = (
    "INSERT INTO ingest_counts (kind, count, last_at) VALUES (?, ?, ?) "
    "ON CONFLICT (kind) DO UPDATE SET count = count + excluded.count, last_at = excluded.last_at"
)
COUNT_REJECT = (
    "INSERT INTO rejects (reason, count, last_at, last_topic, last_detail) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (reason) DO UPDATE SET count = count + excluded.count, "
    "last_at = excluded.last_at, last_topic = excluded.last_topic, "
    "last_detail = excluded.last_detail"
)

# --- time zone change -------------------------------------------------------------------

# Only the rows whose day really moves: UTC and Etc/UTC (or any two zones that agree on
# every stored event) change nothing.
REDAY_EVENTS = ("UPDATE events SET day = hw_local_day(started_at) "
                "WHERE day IS NOT hw_local_day(started_at)")
REBUILD_DAILY = (
    "DELETE FROM daily;\n"
    f"INSERT INTO daily (day, device_id, activity, posture, {_DAILY_COLS}) "
    "SELECT e.day, e.device_id, e.activity, coalesce(r.label, e.posture), "
    + ", ".join(f"total({expr})" for _, expr in _DAILY_SUMS)
    + " FROM events AS e LEFT JOIN reviews AS r ON r.event_id = e.event_id "
    "GROUP BY 1, 2, 3, 4;"
)

# --- reviews, users, sessions -----------------------------------------------------------

UPSERT_REVIEW = (
    "INSERT INTO reviews (event_id, label, note, reviewer, reviewed_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (event_id) DO UPDATE SET label = excluded.label, note = excluded.note, "
    "reviewer = excluded.reviewer, reviewed_at = excluded.reviewed_at"
)
EVENT_EXISTS = "SELECT 1 FROM events WHERE event_id = ?"
INSERT_USER = "INSERT INTO users (name, password_hash, role, created_at) VALUES (?, ?, ?, ?)"
UPDATE_USER = "UPDATE users SET password_hash = ?, role = ? WHERE name = ?"
GET_USER = "SELECT name, password_hash, role FROM users WHERE name = ?"
INSERT_SESSION = (
    "INSERT INTO sessions (token_hash, user_name, created_at, expires_at) VALUES (?, ?, ?, ?)"
)
DELETE_SESSION = "DELETE FROM sessions WHERE token_hash = ?"
DELETE_USER_SESSIONS = "DELETE FROM sessions WHERE user_name = ?"
PURGE_SESSIONS = "DELETE FROM sessions WHERE expires_at < ?"
GET_SESSION = (
    "SELECT u.name, u.role FROM sessions AS s JOIN users AS u ON u.name = s.user_name "
    "WHERE s.token_hash = ? AND s.expires_at > ?"
)

# --- reading ----------------------------------------------------------------------------

EVENT_FIELDS = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)
REVIEW_FIELDS = ", ".join(f"r.{c}" for c in REVIEW_COLUMNS)
_EVENT_FROM = "FROM events AS e LEFT JOIN reviews AS r ON r.event_id = e.event_id"

GET_EVENT = f"SELECT {EVENT_FIELDS}, {REVIEW_FIELDS} {_EVENT_FROM} WHERE e.event_id = ?"
GET_POSE = (
    "SELECT p.trace_rate_hz, p.landmarks FROM event_pose AS p JOIN events AS e ON e.id = p.id "
    "WHERE e.event_id = ?"
)


@dataclass(frozen=True)
class EventQuery:
    """Filters for the event list; None means any. Days are local dates (YYYY-MM-DD);
    `started_from`/`started_before` are UTC bounds the caller derived from them."""

    device_id: str | None = None
    activity: str | None = None
    posture: str | None = None
    label: str | None = None          # a review label, or 'none' for unreviewed events
    reviewed: bool | None = None
    simulated: bool | None = None
    started_from: str | None = None
    started_before: str | None = None

    def where(self) -> tuple[str, list[object]]:
        terms: list[str] = []
        args: list[object] = []
        for column, value in (
            ("e.device_id", self.device_id),
            ("e.activity", self.activity),
            ("e.posture", self.posture),
        ):
            if value is not None:
                terms.append(f"{column} = ?")
                args.append(value)
        if self.label is not None:
            terms.append("r.label = ?")
            args.append(self.label)
        if self.reviewed is not None:
            terms.append("r.label IS NOT NULL" if self.reviewed else "r.label IS NULL")
        if self.simulated is not None:
            terms.append("e.simulated = ?")
            args.append(int(self.simulated))
        if self.started_from is not None:
            terms.append("e.started_at >= ?")
            args.append(self.started_from)
        if self.started_before is not None:
            terms.append("e.started_at < ?")
            args.append(self.started_before)
        return ("WHERE " + " AND ".join(terms)) if terms else "", args

    def select(self, limit: int, offset: int,
               newest_first: bool = True) -> tuple[str, list[object]]:
        where, args = self.where()
        order = "DESC" if newest_first else "ASC"
        sql = (
            f"SELECT {EVENT_FIELDS}, {REVIEW_FIELDS} {_EVENT_FROM} {where} "
            f"ORDER BY e.started_at {order}, e.event_id {order} LIMIT ? OFFSET ?"
        )
        return sql, [*args, limit, offset]

    def count(self) -> tuple[str, list[object]]:
        where, args = self.where()
        join = _EVENT_FROM if (self.label is not None or self.reviewed is not None) else (
            "FROM events AS e"
        )
        return f"SELECT count(*) {join} {where}", args


DAILY_SUMS = (
    "SELECT day, activity, posture, "
    + ", ".join(f"sum({c}) AS {c}" for c, _ in _DAILY_SUMS)
    + " FROM daily "
    "WHERE day >= :first AND day <= :last AND (:device IS NULL OR device_id = :device) "
    "AND n > 0 GROUP BY day, activity, posture ORDER BY day"
)
# Hinges and rounds per day up to a day: what the streaks are counted from.
DAILY_SHARE = (
    "SELECT day, total(CASE WHEN posture = 'hinge' THEN n END), "
    "total(CASE WHEN posture = 'round' THEN n END) FROM daily "
    "WHERE day <= :last AND (:device IS NULL OR device_id = :device) "
    "AND posture IN ('hinge', 'round') GROUP BY day ORDER BY day"
)
ACTIVITIES = "SELECT DISTINCT activity FROM daily ORDER BY activity"
DEVICES = (
    "SELECT device_id, status, status_at, state, state_at, last_message_at, last_event_at, "
    "events_total, software_version, model FROM devices ORDER BY device_id"
)
INGEST_COUNTS = "SELECT kind, count, last_at FROM ingest_counts ORDER BY kind"
REJECTS = (
    "SELECT reason, count, last_at, last_topic, last_detail FROM rejects ORDER BY count DESC"
)
EVENT_TOTAL = "SELECT count(*) FROM events"
PAGE_COUNT = "PRAGMA page_count"
PAGE_SIZE = "PRAGMA page_size"
