"""The store's schema, as migrations: append only, a released one never changes.

`events` holds one row per bend with the columns the pages filter and sum on; `event_pose`
holds the skeleton and trace (packed int16) for the detail page, so they never slow a scan.
`daily` is a pre-aggregate per day, device, activity and *effective* posture (a reviewer's
label wins over the device's); triggers keep it right on every insert and review, so the
Week page reads a few hundred rows instead of a year of events. `sql.REBUILD_DAILY`
recomputes it from scratch; a test holds the triggers to it.
"""

from __future__ import annotations

# What one event adds to its `daily` row, as (column, expression over the event `e`).
DAILY_ADDS: tuple[tuple[str, str], ...] = (
    ("n", "1"),
    ("n_simulated", "e.simulated"),
    ("duration_s", "e.duration_s"),
    ("deep_s", "e.time_beyond_60_deg_s"),
    ("reba1", "e.reba_trunk = 1"),
    ("reba2", "e.reba_trunk = 2"),
    ("reba3", "e.reba_trunk = 3"),
    ("reba4", "e.reba_trunk = 4"),
)
DAILY_COLS = ", ".join(c for c, _ in DAILY_ADDS)
# The same as numbers in both stores (PostgreSQL adds no boolean): what `sql.py` sums.
DAILY_NUMBERS: tuple[tuple[str, str], ...] = tuple(
    (c, f"CASE WHEN {expr} THEN 1 ELSE 0 END" if "=" in expr else expr)
    for c, expr in DAILY_ADDS
)


def _daily_add(event: str, posture: str, sign: str,
               adds: tuple[tuple[str, str], ...] = DAILY_ADDS, target: str = "") -> str:
    """One statement that adds (sign '+') or removes ('-') event `event` under `posture`.
    `target` ('daily.') names the stored row where PostgreSQL would find the name ambiguous."""
    values = ", ".join(f"{sign}({expr})" for _, expr in adds)
    update = ", ".join(f"{c} = {target}{c} + excluded.{c}" for c, _ in adds)
    return (
        f"INSERT INTO daily (day, device_id, activity, posture, {DAILY_COLS}) "
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

# Households: a device belongs to one (`household_devices`; a device in none is in the
# default household `home`, so a home dashboard needs no setting), an account sees the
# households it was granted (`grants`), and `visible_devices` is every account's devices,
# which every read the web does is filtered through. Every existing account keeps seeing
# everything: it is granted `home`. Written so both stores run it (`dialect.py` makes its
# text sort as bytes on PostgreSQL, as the first migration's does).
_HOUSEHOLDS = """
CREATE TABLE households (
    name TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
INSERT INTO households (name, created_at) VALUES ('home', '');

CREATE TABLE household_devices (
    device_id TEXT PRIMARY KEY,
    household TEXT NOT NULL REFERENCES households (name) ON DELETE CASCADE
);

CREATE TABLE grants (
    user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    household TEXT NOT NULL REFERENCES households (name) ON DELETE CASCADE,
    PRIMARY KEY (user_name, household)
);
INSERT INTO grants (user_name, household) SELECT name, 'home' FROM users;

-- A household's summaries read its devices' days; `daily`'s key leads with the day, which
-- at a centre (a thousand homes) would scan every home's days (bench/centre_bench.py).
CREATE INDEX daily_device_day ON daily (device_id, day);

CREATE VIEW visible_devices AS
    SELECT g.user_name, d.device_id FROM devices AS d
    LEFT JOIN household_devices AS h ON h.device_id = d.device_id
    JOIN grants AS g ON g.household = coalesce(h.household, 'home');
"""
DEFAULT_HOUSEHOLD = "home"
# Issue 13. Practice sessions: one row per `hingewatch.practice/1` summary, deduplicated
# by the device's session id; the Week page sums them per local day beside the bends. And
# each device's accepted cut-off adjustments, undoable.
_PRACTICE = """
CREATE TABLE practice_sessions (
    session_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    drill TEXT NOT NULL,
    started_at TEXT NOT NULL,          -- UTC, ISO with ms and Z
    ended_at TEXT NOT NULL,
    day TEXT NOT NULL,                 -- local date of started_at (meta.timezone)
    reps INTEGER NOT NULL,
    good INTEGER NOT NULL,
    passed INTEGER NOT NULL,
    next_drill TEXT,                   -- the drill to move on to, once this one went well
    practise_next TEXT NOT NULL,       -- what to practise next, in words
    summary TEXT NOT NULL,             -- the summary JSON as received (validated)
    received_at TEXT NOT NULL
);
CREATE INDEX practice_day ON practice_sessions (day, device_id);

-- A device's cut-off adjustments as reviewers accepted them (edge/adjustment.py), newest
-- last; the active one is the newest not undone (none: the classifier's defaults).
CREATE TABLE device_adjustments (
    id INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    bulge_flat REAL NOT NULL,
    bulge_round REAL NOT NULL,
    squat_min_knee_deg REAL NOT NULL,
    agreement_before REAL,             -- balanced agreement with the reviews, as shown
    agreement_after REAL,
    reviews INTEGER NOT NULL,
    accepted_by TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    undone_by TEXT,
    undone_at TEXT
);
CREATE INDEX device_adjustments_device ON device_adjustments (device_id, id);
"""

# Issue 14. A message the store refused (not an outage: a value out of a column's range, a
# constraint) is kept here with its payload as received, so the messages behind it go on;
# the `rejects` row `set_aside` counts them on Health.
_SET_ASIDE = """
CREATE TABLE set_aside (
    id INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,             -- as received
    reason TEXT NOT NULL,              -- the store's refusal, in one line
    set_aside_at TEXT NOT NULL
);
"""

# (version, what it does, script). Append only: a released migration never changes.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "events, reviews, daily aggregate, devices, counters, users, sessions", _V1),
    (2, "practice sessions, device cut-off adjustments", _PRACTICE),
    (3, "households, the devices in them, the accounts granted them", _HOUSEHOLDS),
    (4, "messages the store refused, set aside", _SET_ASIDE),
    # PostgreSQL only (`POSTGRES_SCRIPTS`): SQLite has no statement-level trigger.
    (5, "PostgreSQL: daily sums an inserted batch at once; landmarks stored uncompressed", ""),
)


def _pg_trigger(name: str, when: str, adds: tuple[tuple[str, str, str], ...]) -> str:
    """A PostgreSQL trigger running the statements SQLite's trigger `name` runs; `adds`:
    (event, posture, sign) of each `_daily_add`."""
    body = "\n    ".join(_daily_add(e, p, sign, DAILY_NUMBERS, "daily.") for e, p, sign in adds)
    return (f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
            f"    {body}\n    RETURN NULL;\nEND $$;\n"
            f"CREATE TRIGGER {name} {when} FOR EACH ROW EXECUTE FUNCTION {name}();\n")


# Version 1 in PostgreSQL's words: its types (REAL is 4 bytes there, BLOB is BYTEA, an
# identity for the row id) and its triggers (functions). Same tables, columns and keys.
_V1_POSTGRES = (
    _V1.split("CREATE TRIGGER events_daily")[0]
    .replace("id INTEGER PRIMARY KEY,\n",
             "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n")
    .replace("id INTEGER PRIMARY KEY REFERENCES", "id BIGINT PRIMARY KEY REFERENCES")
    .replace(" REAL", " DOUBLE PRECISION")
    .replace(" BLOB ", " BYTEA ")
    .replace(") WITHOUT ROWID;", ");")
    + _pg_trigger("events_daily", "AFTER INSERT ON events",
                  (("NEW.event_id", "e.posture", "+"),))
    + _pg_trigger("reviews_daily_insert", "AFTER INSERT ON reviews",
                  (("NEW.event_id", "e.posture", "-"), ("NEW.event_id", "NEW.label", "+")))
    + _pg_trigger("reviews_daily_update", "AFTER UPDATE OF label ON reviews",
                  (("NEW.event_id", "OLD.label", "-"), ("NEW.event_id", "NEW.label", "+")))
    + _V1.split("END;\n\nCREATE TABLE devices")[1].join(["CREATE TABLE devices", ""])
)


def postgres_text(script: str) -> str:
    """Any migration as PostgreSQL runs it: text sorts (and compares) by byte, as in
    SQLite, whatever the database's locale says."""
    return script.replace(" TEXT", ' TEXT COLLATE "C"')

def _postgres_types(script: str) -> str:
    """A script's types in PostgreSQL's words: an identity for an `id`, 8-byte reals (REAL
    is 4 bytes there), BYTEA for a BLOB."""
    return (script.replace("id INTEGER PRIMARY KEY,\n",
                           "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n")
            .replace(" REAL", " DOUBLE PRECISION").replace(" BLOB ", " BYTEA "))


# Ingest inserts a batch of events in one statement (`dialect.Postgres.insert_events`):
# summed per `daily` row once, from the statement's inserted rows, instead of one upsert
# per event (bench/centre_bench.py: PostgreSQL's CPU per event). In `daily`'s key order, so
# two ingest processes take its rows' locks in one order. And the packed landmarks are
# stored as they are: pglz spent a third of PostgreSQL's CPU per event trying to compress
# them and saved nothing (int16 noise: 6,138 bytes either way).
_DAILY_BY_STATEMENT = (
    "ALTER TABLE event_pose ALTER COLUMN landmarks SET STORAGE EXTERNAL;\n"
    "DROP TRIGGER events_daily ON events;\nDROP FUNCTION events_daily();\n"
    "CREATE FUNCTION events_daily() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
    f"    INSERT INTO daily (day, device_id, activity, posture, {DAILY_COLS}) "
    "SELECT e.day, e.device_id, e.activity, e.posture, "
    + ", ".join(f"sum({expr})" for _, expr in DAILY_NUMBERS)
    + " FROM inserted AS e GROUP BY e.day, e.device_id, e.activity, e.posture "
    "ORDER BY e.day, e.device_id, e.activity, e.posture "
    "ON CONFLICT (day, device_id, activity, posture) DO UPDATE SET "
    + ", ".join(f"{c} = daily.{c} + excluded.{c}" for c, _ in DAILY_ADDS)
    + ";\n    RETURN NULL;\nEND $$;\n"
    "CREATE TRIGGER events_daily AFTER INSERT ON events REFERENCING NEW TABLE AS inserted "
    "FOR EACH STATEMENT EXECUTE FUNCTION events_daily();\n"
)


# A migration's PostgreSQL text (before `postgres_text`), where it differs from the SQLite
# one in `MIGRATIONS`. A new migration written so both stores run it needs no entry here.
POSTGRES_SCRIPTS: dict[int, str] = {
    1: _V1_POSTGRES,
    # The practice tables: an identity for the adjustment id, 8-byte reals (as version 1).
    2: _postgres_types(_PRACTICE),
    4: _postgres_types(_SET_ASIDE),
    5: _DAILY_BY_STATEMENT,
}
