"""The store: migrations, deduplication, the daily aggregate, time zones, read-only readers."""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.errors import StoreVersionError, UserError
from dashboard.ingest.messages import classify
from dashboard.settings import Settings
from dashboard.store import migrations, sql
from dashboard.store.batch import EventMessage, Rejected, StateMessage, StatusMessage
from dashboard.store.dialect import open_dialect
from dashboard.store.reader import Reader
from dashboard.store.records import EVENT_COLUMNS
from dashboard.store.writer import BatchResult, Writer
from edge.delivery.state import DeviceState
from edge.events import BendEvent
from tests.dashboard.conftest import ZONE
from tests.dashboard.factory import make_event, week_of_events

NOW = "2026-11-24T12:00:00.000Z"
STATE = DeviceState("kitchen", fps=12.5, updated_at=NOW).to_json()


def ingest(writer: Writer, events: list[BendEvent], zone: str = ZONE) -> None:
    ingest_batch(writer, events, zone)


def ingest_batch(writer: Writer, events: list[BendEvent], zone: str = ZONE) -> BatchResult:
    from zoneinfo import ZoneInfo

    messages = [classify(f"hingewatch/{e.device_id}/event", e.to_json().encode(),
                         ZoneInfo(zone), NOW) for e in events]
    assert all(isinstance(m, EventMessage) for m in messages)
    return writer.write_batch(messages, NOW)


DAILY = ("SELECT day, device_id, activity, posture, n, n_simulated, "
         "round(CAST(duration_s AS NUMERIC), 6), round(CAST(deep_s AS NUMERIC), 6), "
         "reba1, reba2, reba3, reba4 FROM daily WHERE n != 0 ORDER BY 1, 2, 3, 4")


def daily(store: Path | str) -> list[tuple[object, ...]]:
    conn = open_dialect(store).connect(read_only=True)
    rows = [tuple(r) for r in conn.execute(DAILY).fetchall()]
    conn.close()
    return rows


def rebuilt(store: Path | str) -> list[tuple[object, ...]]:
    """What `sql.REBUILD_DAILY` computes from the events and reviews (then rolled back)."""
    dialect = open_dialect(store)
    conn = dialect.connect(read_only=False)
    conn.execute(dialect.begin)
    dialect.run_script(conn, sql.REBUILD_DAILY)
    rows = [tuple(r) for r in conn.execute(DAILY).fetchall()]
    conn.execute("ROLLBACK")
    conn.close()
    return rows


def set_version(store: Path | str, version: int) -> None:
    dialect = open_dialect(store)
    conn = dialect.connect(read_only=False)
    conn.execute(dialect.begin)
    dialect.read_version(conn)
    dialect.write_version(conn, version)
    conn.execute("COMMIT")
    conn.close()


@pytest.mark.sqlite_only
def test_a_new_store_is_migrated_and_reopens(dash_settings: Settings) -> None:
    w = Writer(dash_settings.store, dash_settings.timezone)
    assert w.migrate() == migrations.MIGRATIONS[-1][0]
    w.close()
    conn = sqlite3.connect(dash_settings.db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations.MIGRATIONS[-1][0]
    conn.close()
    Writer(dash_settings.store, dash_settings.timezone).close()  # again: nothing to do


def test_a_store_from_a_newer_hingewatch_is_refused(dash_settings: Settings) -> None:
    Writer(dash_settings.store, dash_settings.timezone).close()
    set_version(dash_settings.store, 99)
    with pytest.raises(StoreVersionError, match="update hingewatch"):
        Writer(dash_settings.store, dash_settings.timezone)


def test_duplicates_are_stored_once(writer: Writer, dash_settings: Settings) -> None:
    events = week_of_events(datetime(2026, 11, 24, 12, tzinfo=UTC), per_day=3, frames=2)
    ingest(writer, events)
    ingest(writer, events[:5])
    reader = Reader(dash_settings.store)
    assert reader.event_total() == len(events)
    counts = reader.ingest_counts().by_kind
    assert counts == {"event_stored": len(events), "event_duplicate": 5}
    assert reader.devices()[0].events_total == len(events)
    reader.close()


def test_two_copies_in_one_batch_are_stored_once_with_their_pose(
        writer: Writer, dash_settings: Settings) -> None:
    """One batch is one statement on PostgreSQL: the second copy of an event in it is a
    duplicate, and each stored event gets its own pose."""
    events = week_of_events(datetime(2026, 11, 24, 12, tzinfo=UTC), per_day=1, frames=2)
    result = ingest_batch(writer, [*events, events[0], events[3]])
    assert (result.stored, result.duplicates) == (len(events), 2)
    reader = Reader(dash_settings.store)
    assert reader.event_total() == len(events)
    for e in events:
        record = reader.event(e.event_id)
        assert record is not None and record.metrics == e.metrics
        trace = reader.event_trace(e.event_id)
        assert trace is not None and trace.skeleton.shape == (33, 3)
        assert abs(trace.skeleton[0][0] - e.skeleton[0][0]) < 1e-3  # its own, not another's
    reader.close()


def test_an_event_row_is_built_by_column_name_and_read_back_whole(
        writer: Writer, dash_settings: Settings) -> None:
    from zoneinfo import ZoneInfo

    conn = open_dialect(dash_settings.store).connect(read_only=True)
    table = [d[0] for d in conn.execute("SELECT * FROM events LIMIT 0").description]
    conn.close()
    assert ("id", *EVENT_COLUMNS) == tuple(table)
    event = make_event("round", datetime(2026, 11, 24, 7, 41, tzinfo=UTC), frames=2)
    message = classify("hingewatch/kitchen/event", event.to_json().encode(), ZoneInfo(ZONE), NOW)
    assert isinstance(message, EventMessage) and set(message.row) == set(EVENT_COLUMNS)
    writer.write_batch([message], NOW)
    reader = Reader(dash_settings.store)
    record = reader.event(event.event_id)
    reader.close()
    assert record is not None and record.metrics == event.metrics
    assert (record.started_at, record.posture, record.reasons, record.lift, record.view) == (
        event.started_at, event.posture, event.reasons, event.lift, event.view)
    assert (record.model_name, record.model_variant, record.received_at) == (
        event.model_name, event.model_variant, NOW)


def test_statuses_states_and_rejects_are_kept(writer: Writer, dash_settings: Settings) -> None:
    writer.write_batch([
        StatusMessage("kitchen", "online"), StateMessage("kitchen", STATE),
        Rejected("not_json", "hingewatch/kitchen/event", "bad"),
        Rejected("not_json", "hingewatch/kitchen/event", "worse"),
    ], NOW)
    reader = Reader(dash_settings.store)
    (device,) = reader.devices()
    assert device.online and device.state == json.loads(STATE)
    (reject,) = reader.ingest_counts().rejects
    assert (reject.reason, reject.count, reject.last_detail) == ("not_json", 2, "worse")
    writer.write_batch([StatusMessage("kitchen", None), StateMessage("kitchen", None)], NOW)
    (device,) = reader.devices()
    assert device.status is None and device.state is None
    reader.close()


def test_the_daily_aggregate_follows_every_review(writer: Writer, dash_settings: Settings) -> None:
    rng = random.Random(3)
    events = week_of_events(datetime(2026, 11, 24, 12, tzinfo=UTC), per_day=10, frames=2,
                            unsure=0.3)
    events.append(make_event("squat", datetime(2026, 11, 24, 11, tzinfo=UTC), simulated=True,
                             frames=2))
    unsure = [e for e in events if e.posture == "unsure"]
    ingest(writer, events)
    for _ in range(60):  # relabel, re-relabel, and relabel back
        e = rng.choice(events)
        writer.review(e.event_id, rng.choice(sql.LABELS), "", "anna", NOW)
    kept = daily(dash_settings.store)
    recomputed = rebuilt(dash_settings.store)
    assert kept == recomputed
    # type: ignore on the next line: a sqlite3.Row read by position
    assert sum(int(r[4]) for r in kept) == len(events)  # type: ignore[call-overload]
    assert any(r[3] == "not_a_bend" for r in kept)
    # Unsure bends (bend/2) are stored and kept under their own posture until relabelled.
    assert unsure and any(r[3] == "unsure" for r in kept)


def test_a_review_of_an_unknown_event_is_refused(writer: Writer) -> None:
    assert writer.review("01HZZZZZZZZZZZZZZZZZZZZZZZ", "hinge", "", "anna", NOW) is False
    with pytest.raises(ValueError):
        writer.review("01HZZZZZZZZZZZZZZZZZZZZZZZ", "bent", "", "anna", NOW)


def test_days_follow_the_time_zone(dash_settings: Settings) -> None:
    late = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)  # 00:30 on the 25th in Berlin
    w = Writer(dash_settings.store, "UTC")
    ingest(w, [make_event("hinge", late, frames=1)], zone="UTC")
    w.close()
    reader = Reader(dash_settings.store)
    assert [r.day for r in reader.day_rows("2026-11-01", "2026-11-30", None)] == ["2026-11-24"]
    w = Writer(dash_settings.store, "Europe/Berlin")  # the setting changed: days move
    assert [r.day for r in reader.day_rows("2026-11-01", "2026-11-30", None)] == ["2026-11-25"]
    w.close()
    reader.close()


def test_readers_cannot_write(writer: Writer, dash_settings: Settings) -> None:
    reader = Reader(dash_settings.store)
    conn = reader.connect()
    with pytest.raises(reader.dialect.errors):
        conn.execute("DELETE FROM events")
    conn.close()


def test_users(writer: Writer, dash_settings: Settings) -> None:
    writer.add_user("anna", "hash", "reviewer", NOW)
    with pytest.raises(UserError, match="--replace"):
        writer.add_user("anna", "hash2", "viewer", NOW)
    writer.create_session("t1", "anna", NOW, "2099-01-01T00:00:00.000Z")
    reader = Reader(dash_settings.store)
    # type: ignore on the next line: the session was made above
    assert reader.session_user("t1", NOW).role == "reviewer"  # type: ignore[union-attr]
    writer.add_user("anna", "hash2", "viewer", NOW, replace=True)  # ends her sessions
    assert reader.session_user("t1", NOW) is None
    writer.create_session("t2", "anna", NOW, "2026-11-24T12:00:01.000Z")
    assert reader.session_user("t2", "2026-11-24T12:00:02.000Z") is None  # expired
    reader.close()


def test_event_pages_filter_and_count(writer: Writer, dash_settings: Settings) -> None:
    events = week_of_events(datetime(2026, 11, 24, 12, tzinfo=UTC), per_day=5, frames=1)
    ingest(writer, events)
    reader = Reader(dash_settings.store)
    rounds = [e for e in events if e.posture == "round"]
    page, total = reader.event_page(sql.EventQuery(posture="round"), 3, 0)
    assert total == len(rounds) and len(page) == min(3, len(rounds))
    assert [p.started_at for p in page] == sorted((e.started_at for e in rounds),
                                                  reverse=True)[:3]
    writer.review(rounds[0].event_id, "hinge", "", "anna", NOW)
    assert reader.event_page(sql.EventQuery(reviewed=True), 10, 0)[1] == 1
    assert reader.event_page(sql.EventQuery(label="hinge"), 10, 0)[1] == 1
    assert reader.event_page(sql.EventQuery(reviewed=False), 10, 0)[1] == len(events) - 1
    first = events[0].started_at
    later = (datetime.fromisoformat(first) + timedelta(days=1)).isoformat()
    assert reader.event_page(sql.EventQuery(started_before=later), 100, 0)[1] == 5
    pose = reader.event_trace(events[0].event_id)
    assert pose is not None and pose.skeleton.shape == (33, 3) and pose.trace.shape == (1, 33, 3)
    assert abs(pose.skeleton[0][0] - events[0].skeleton[0][0]) < 1e-4
    reader.close()


def test_zones_that_agree_move_no_event(dash_settings: Settings) -> None:
    w = Writer(dash_settings.store, "UTC")
    ingest(w, [make_event("hinge", datetime(2026, 11, 24, 23, 30, tzinfo=UTC), frames=1)],
           zone="UTC")
    assert w.follow_timezone("Etc/UTC") == 0  # another name for the same zone
    assert w.follow_timezone("Europe/Berlin") == 1
    w.close()


def test_a_writer_without_a_zone_never_re_dates(dash_settings: Settings) -> None:
    late = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)  # 00:30 on the 25th in Berlin
    w = Writer(dash_settings.store, "Europe/Berlin")
    ingest(w, [make_event("hinge", late, frames=1)], zone="Europe/Berlin")
    w.close()
    Writer(dash_settings.store).close()  # what an account command opens
    reader = Reader(dash_settings.store)
    assert [r.day for r in reader.day_rows("2026-11-01", "2026-11-30", None)] == ["2026-11-25"]
    reader.close()


def test_the_camera_check_names_a_device_whose_bends_go_unread_for_one_reason(
        writer: Writer, dash_settings: Settings) -> None:
    """A week's bends per device and why the unsure ones were: a kitchen camera that sees
    people from the front is told so; a hall with one unread bend in twelve is not; the
    week after is its own."""
    from zoneinfo import ZoneInfo

    from dashboard.store.summary import IsoWeek, camera_checks, week_bounds_utc

    monday = datetime(2026, 11, 23, 9, tzinfo=UTC)
    kitchen = ([make_event("hinge", monday + timedelta(minutes=i), frames=1) for i in range(5)]
               + [make_event("unsure", monday + timedelta(hours=1, minutes=i), frames=1,
                             reasons=("front_view", "head_drop")) for i in range(6)]
               + [make_event("unsure", monday + timedelta(hours=2), frames=1,
                             reasons=("back_hidden",))])
    hall = ([make_event("squat", monday + timedelta(days=2, minutes=i), device_id="hall",
                        frames=1) for i in range(11)]
            + [make_event("unsure", monday + timedelta(days=3), device_id="hall", frames=1,
                          reasons=("front_view",))])
    next_week = [make_event("unsure", monday + timedelta(days=7, minutes=i), frames=1,
                            reasons=("back_unclear",)) for i in range(12)]
    ingest(writer, kitchen + hall + next_week)
    reader = Reader(dash_settings.store)
    zone = ZoneInfo(ZONE)
    week = IsoWeek.parse("2026-W48")
    rows = reader.bends_by_why(*week_bounds_utc(week, zone), None)
    assert sum(n for _, _, n in rows) == len(kitchen) + len(hall)
    (check,) = camera_checks(rows)
    assert (check.device_id, check.why, check.n, check.bends) == ("kitchen", "front_view", 6, 12)
    assert check.share == 0.5
    assert camera_checks(reader.bends_by_why(*week_bounds_utc(week, zone), "hall")) == ()
    (later,) = camera_checks(reader.bends_by_why(*week_bounds_utc(week.shifted(1), zone), None))
    assert (later.device_id, later.why, later.n) == ("kitchen", "back_unclear", 12)
    reader.close()


def test_a_camera_check_needs_enough_bends_and_a_large_enough_share() -> None:
    from dashboard.store.summary import CHECK_MIN_BENDS, CHECK_MIN_SHARE, camera_checks

    few = CHECK_MIN_BENDS - 1
    # Every bend of too short a week unread: too few to judge a camera by.
    assert camera_checks([("porch", "front_view", few)]) == ()
    bends = 40
    under = int(CHECK_MIN_SHARE * bends) - 1
    assert camera_checks([("porch", None, bends - under), ("porch", "front_view", under)]) == ()
    at = int(CHECK_MIN_SHARE * bends)
    (check,) = camera_checks([("porch", None, bends - at), ("porch", "front_view", at)])
    assert check.n == at and check.bends == bends
    # An unsure bend with no unsure reason among its reasons counts as unclear.
    (check,) = camera_checks([("porch", "head_drop", 12)])
    assert check.why == "back_unclear"
