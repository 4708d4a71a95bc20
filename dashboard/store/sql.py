"""Every SQL statement of the dashboard's store but its migrations (`migrations.py`) and
the few that differ between SQLite and PostgreSQL (`dialect.py`).

Each statement here runs on both stores as written: upserts name the stored row by its
table (PostgreSQL finds a bare column ambiguous there), sums go through `coalesce(sum(..))`
(SQLite's `total` is its own), and an optional parameter is cast (PostgreSQL must know its
type). `migrations.py` says what the tables hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.store.migrations import DAILY_ADDS, DAILY_COLS, DAILY_NUMBERS
from dashboard.store.records import EVENT_COLUMNS, REVIEW_COLUMNS

# What a reviewer may call a bend. The device's own verdict (`events.posture`) has no CHECK:
# it is whatever the event's schema allowed (bend/2 added `unsure`, no migration needed).
LABELS: tuple[str, ...] = ("hinge", "round", "squat", "not_a_bend")

META_GET = "SELECT value FROM meta WHERE key = ?"
META_SET = (
    "INSERT INTO meta (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)

# --- ingest -----------------------------------------------------------------------------

# A duplicate event_id inserts nothing and returns no row.
INSERT_EVENT = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in EVENT_COLUMNS)}) "
    "ON CONFLICT (event_id) DO NOTHING RETURNING id"
)
PRACTICE_COLUMNS = ("session_id", "device_id", "drill", "started_at", "ended_at", "day", "reps",
                    "good", "passed", "next_drill", "practise_next", "summary", "received_at")
INSERT_PRACTICE = (
    f"INSERT INTO practice_sessions ({', '.join(PRACTICE_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in PRACTICE_COLUMNS)}) "
    "ON CONFLICT (session_id) DO NOTHING"
)
# Per local day: sessions, reps, good reps, and the next drill of the day's last session;
# the account's devices only (SCOPE: `scope.py`).
PRACTICE_DAYS = """
SELECT day, COUNT(*), SUM(reps), SUM(good),
       (SELECT p2.practise_next FROM practice_sessions AS p2
        WHERE p2.day = p.day AND (CAST(:device AS TEXT) IS NULL OR p2.device_id = :device)
        AND SCOPE(p2.device_id)
        ORDER BY p2.ended_at DESC LIMIT 1)
FROM practice_sessions AS p
WHERE day BETWEEN :first AND :last AND (CAST(:device AS TEXT) IS NULL OR device_id = :device)
AND SCOPE(p.device_id)
GROUP BY day ORDER BY day
"""
ADJUSTMENT_FIELDS = ("id, device_id, bulge_flat, bulge_round, squat_min_knee_deg, "
                     "agreement_before, agreement_after, reviews, accepted_by, accepted_at")
# The account's devices only (SCOPE: `scope.py`): the Tuning page reads it, an undo too.
ACTIVE_ADJUSTMENT = (f"SELECT {ADJUSTMENT_FIELDS} FROM device_adjustments "
                     "WHERE device_id = :device AND SCOPE(device_id) AND undone_at IS NULL "
                     "ORDER BY id DESC LIMIT 1")
INSERT_ADJUSTMENT = (
    "INSERT INTO device_adjustments (device_id, bulge_flat, bulge_round, squat_min_knee_deg, "
    "agreement_before, agreement_after, reviews, accepted_by, accepted_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
)
UNDO_ADJUSTMENT = "UPDATE device_adjustments SET undone_by = ?, undone_at = ? WHERE id = ?"
INSERT_POSE = "INSERT INTO event_pose (id, trace_rate_hz, landmarks) VALUES (?, ?, ?)"
# One row per device and batch (its events counted, the latest one's software and model),
# written at the end of the batch: two ingest processes writing the same device wait for
# each other only from here to the commit.
DEVICE_EVENT = (
    "INSERT INTO devices (device_id, last_event_at, events_total, software_version, model) "
    "VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (device_id) DO UPDATE SET "
    "events_total = devices.events_total + excluded.events_total, "
    "software_version = CASE WHEN excluded.last_event_at >= coalesce(devices.last_event_at, '') "
    "THEN excluded.software_version ELSE devices.software_version END, "
    "model = CASE WHEN excluded.last_event_at >= coalesce(devices.last_event_at, '') "
    "THEN excluded.model ELSE devices.model END, "
    "last_event_at = CASE WHEN excluded.last_event_at >= coalesce(devices.last_event_at, '') "
    "THEN excluded.last_event_at ELSE devices.last_event_at END"
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
    "ON CONFLICT (kind) DO UPDATE SET count = ingest_counts.count + excluded.count, "
    "last_at = excluded.last_at"
)
INSERT_SET_ASIDE = ("INSERT INTO set_aside (topic, payload, reason, set_aside_at) "
                    "VALUES (?, ?, ?, ?)")
SET_ASIDE = ("SELECT topic, payload, reason, set_aside_at FROM set_aside "
             "ORDER BY id LIMIT ?")
COUNT_REJECT = (
    "INSERT INTO rejects (reason, count, last_at, last_topic, last_detail) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (reason) DO UPDATE SET "
    "count = rejects.count + excluded.count, "
    "last_at = excluded.last_at, last_topic = excluded.last_topic, "
    "last_detail = excluded.last_detail"
)

# --- time zone change -------------------------------------------------------------------

REBUILD_DAILY = (
    "DELETE FROM daily;\n"
    f"INSERT INTO daily (day, device_id, activity, posture, {DAILY_COLS}) "
    "SELECT e.day, e.device_id, e.activity, coalesce(r.label, e.posture), "
    + ", ".join(f"coalesce(sum({expr}), 0)" for _, expr in DAILY_NUMBERS)
    + " FROM events AS e LEFT JOIN reviews AS r ON r.event_id = e.event_id "
    "GROUP BY 1, 2, 3, 4;"
)

# --- reviews, users, sessions -----------------------------------------------------------

UPSERT_REVIEW = (
    "INSERT INTO reviews (event_id, label, note, reviewer, reviewed_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (event_id) DO UPDATE SET label = excluded.label, note = excluded.note, "
    "reviewer = excluded.reviewer, reviewed_at = excluded.reviewed_at"
)
# An account reviews only the events of its households (SCOPE: `scope.py`).
EVENT_EXISTS = "SELECT 1 FROM events AS e WHERE e.event_id = :event_id AND SCOPE(e.device_id)"
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

# Reads marked SCOPE(column) are filtered to the current account's devices (`scope.py`).
SCOPE_DEVICES = "SELECT device_id FROM visible_devices WHERE user_name = :scope"
GET_EVENT = (f"SELECT {EVENT_FIELDS}, {REVIEW_FIELDS} {_EVENT_FROM} "
             "WHERE e.event_id = :event_id AND SCOPE(e.device_id)")
GET_POSE = (
    "SELECT p.trace_rate_hz, p.landmarks FROM event_pose AS p JOIN events AS e ON e.id = p.id "
    "WHERE e.event_id = :event_id AND SCOPE(e.device_id)"
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
    scope: str | None = None          # only this account's devices (`scope.py`); None: all

    def where(self) -> tuple[str, list[object]]:
        terms: list[str] = []
        args: list[object] = []
        if self.scope is not None:
            terms.append(f"e.device_id IN ({SCOPE_DEVICES.replace(':scope', '?')})")
            args.append(self.scope)
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
    + ", ".join(f"sum({c}) AS {c}" for c, _ in DAILY_ADDS)
    + " FROM daily "
    "WHERE day >= :first AND day <= :last "
    "AND (CAST(:device AS TEXT) IS NULL OR device_id = :device) AND SCOPE(device_id) "
    "AND n > 0 GROUP BY day, activity, posture ORDER BY day"
)
# Hinges and rounds per day up to a day: what the streaks are counted from.
DAILY_SHARE = (
    "SELECT day, coalesce(sum(CASE WHEN posture = 'hinge' THEN n END), 0), "
    "coalesce(sum(CASE WHEN posture = 'round' THEN n END), 0) FROM daily "
    "WHERE day <= :last AND (CAST(:device AS TEXT) IS NULL OR device_id = :device) "
    "AND SCOPE(device_id) AND posture IN ('hinge', 'round') GROUP BY day ORDER BY day"
)
# A span's bends per device and, for those the device left unsure, why (its reasons as
# sent): what the Week page's camera check reads. The index on started_at bounds the scan.
BENDS_BY_WHY = (
    "SELECT device_id, CASE WHEN posture = 'unsure' THEN reasons END AS why, count(*) AS n "
    "FROM events WHERE started_at >= :start AND started_at < :before "
    "AND (CAST(:device AS TEXT) IS NULL OR device_id = :device) AND SCOPE(device_id) "
    "GROUP BY device_id, why ORDER BY device_id"
)
ACTIVITIES = "SELECT DISTINCT activity FROM daily WHERE SCOPE(device_id) ORDER BY activity"
DEVICES = (
    "SELECT device_id, status, status_at, state, state_at, last_message_at, last_event_at, "
    "events_total, software_version, model FROM devices WHERE SCOPE(device_id) "
    "ORDER BY device_id"
)
INGEST_COUNTS = "SELECT kind, count, last_at FROM ingest_counts ORDER BY kind"
REJECTS = (
    "SELECT reason, count, last_at, last_topic, last_detail FROM rejects ORDER BY count DESC"
)
EVENT_TOTAL = "SELECT count(*) FROM events"
# An account's share of it, from the per-device counters (no scan of the events).
# Per household (a device no household claims is in the default one): its devices and
# their events, the account's households only.
HOUSEHOLD_TOTALS = (
    "SELECT coalesce(h.household, 'home') AS household, count(*) AS devices, "
    "coalesce(sum(d.events_total), 0) AS events, max(d.last_event_at) AS last_event_at "
    "FROM devices AS d LEFT JOIN household_devices AS h ON h.device_id = d.device_id "
    "WHERE SCOPE(d.device_id) GROUP BY coalesce(h.household, 'home') ORDER BY 1"
)
DEVICE_COUNT = "SELECT count(*) FROM devices"
EVENT_TOTAL_SCOPED = ("SELECT coalesce(sum(events_total), 0) FROM devices "
                      f"WHERE device_id IN ({SCOPE_DEVICES})")

# --- households -------------------------------------------------------------------------

HOUSEHOLD_EXISTS = "SELECT 1 FROM households WHERE name = ?"
INSERT_HOUSEHOLD = ("INSERT INTO households (name, created_at) VALUES (?, ?) "
                    "ON CONFLICT (name) DO NOTHING")
PUT_DEVICE = (
    "INSERT INTO household_devices (device_id, household) VALUES (?, ?) "
    "ON CONFLICT (device_id) DO UPDATE SET household = excluded.household"
)
GRANT = (
    "INSERT INTO grants (user_name, household) VALUES (?, ?) "
    "ON CONFLICT (user_name, household) DO NOTHING"
)
