"""Practice summaries (`hingewatch/<device>/practice`, QoS 1): validated, deduplicated by
their session id, stored per local day, and shown on the Week page beside the day's
everyday bends; anything else on that topic is refused and counted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dashboard.ingest.messages import classify
from dashboard.settings import Settings
from dashboard.store.batch import PracticeMessage, Rejected
from dashboard.store.reader import Reader
from dashboard.store.writer import Writer
from dashboard.web.server import Dashboard
from edge.config_tables import changed
from edge.delivery.topics import practice_topic
from edge.events import utc_ms
from edge.practice.summary import PracticeSummary
from tests.dashboard.conftest import add_user, login, make_settings, publish, wait_until
from tests.dashboard.factory import make_event
from tests.mqtt_broker import Broker

ZONE = ZoneInfo("Europe/Amsterdam")
NOW = "2026-12-05T10:00:00.000Z"


def summary(device: str = "kitchen", *, reps: int = 5, good: int = 4,
            at: datetime | None = None, drill: str = "wall_hinge") -> dict[str, object]:
    start = at or datetime.now(UTC) - timedelta(minutes=10)
    data = PracticeSummary(device, drill, utc_ms(start), utc_ms(start + timedelta(minutes=3)),
                           ()).to_dict()
    data.update(reps=reps, good=good, good_share=good / reps if reps else None)
    return data


def test_a_summary_is_stored_once() -> None:
    data = summary()
    m = classify(practice_topic("kitchen"), json.dumps(data).encode(), ZONE, NOW)
    assert isinstance(m, PracticeMessage)
    assert m.row["session_id"] == data["session_id"] and m.row["reps"] == 5


@pytest.mark.parametrize(("payload", "reason"), [
    (b"not json", "bad_practice"),
    (b"[]", "bad_practice"),
    (json.dumps({**summary(), "schema": "hingewatch.practice/9"}).encode(), "bad_practice"),
    (json.dumps({**summary(), "pixels": "AAAA"}).encode(), "bad_practice"),
    (json.dumps({**summary(), "good": 6}).encode(), "bad_practice"),
    (json.dumps(summary("nursery")).encode(), "device_mismatch"),
    (b"{" * 200_000, "bad_practice"),
    (json.dumps(summary(at=datetime(1999, 1, 1, tzinfo=UTC))).encode(), "time_out_of_range"),
])
def test_a_bad_summary_is_refused_with_a_reason(payload: bytes, reason: str) -> None:
    m = classify(practice_topic("kitchen"), payload, ZONE, NOW)
    assert isinstance(m, Rejected) and m.reason == reason, m


def test_a_summary_sent_twice_is_stored_once_and_summed_per_day(
        dash_settings: Settings) -> None:
    db = dash_settings.store
    writer = Writer(db, "Europe/Amsterdam")
    day = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    first, second = summary(at=day), summary(at=day + timedelta(hours=2), reps=4, good=1,
                                             drill="dowel_hinge")
    msgs = [classify(practice_topic("kitchen"), json.dumps(d).encode(), ZONE, NOW)
            for d in (first, first, second)]
    result = writer.write_batch(msgs, NOW)
    assert result.duplicates == 0 and result.other == 3
    reader = Reader(db)
    [row] = reader.practice_days("2026-11-30", "2026-12-06", None)
    assert (row.day, row.sessions, row.reps, row.good) == ("2026-12-01", 2, 9, 5)
    assert row.practise_next == second["practise_next"]
    assert reader.practice_days("2026-11-30", "2026-12-06", "nursery") == []
    counts = reader.ingest_counts()
    assert counts.by_kind["practice_stored"] == 2 and counts.by_kind["practice_duplicate"] == 1
    reader.close()
    writer.close()


def test_the_week_shows_practice_beside_the_days_bends(tmp_path: object,
                                                       mosquitto: Broker) -> None:
    from pathlib import Path

    settings = make_settings(Path(str(tmp_path)))
    dash = Dashboard(changed(settings, {"mqtt_port": mosquitto.port})).start()
    try:
        assert dash.ingest is not None and dash.ingest.wait_connected(10)
        add_user(dash.writer, "anna", "reviewer")
        now = datetime.now(UTC) - timedelta(minutes=5)
        data = summary(at=now, reps=5, good=4)
        bend = make_event("hinge", now - timedelta(minutes=30), frames=5)
        publish(mosquitto.port, [(practice_topic("kitchen"), json.dumps(data)),
                                 (practice_topic("kitchen"), json.dumps(data)),
                                 (f"hingewatch/{bend.device_id}/event", bend.to_json())])
        reader = Reader(dash.settings.store)
        wait_until(lambda: reader.ingest_counts().by_kind.get("practice_duplicate") == 1, 15,
                   "the summary stored, then its copy refused")
        wait_until(lambda: reader.event_total() == 1, 15, "the bend")
        reader.close()
        client, _ = login(dash.url, "anna")
        html = client.get("/week").text
        assert "Practice beside everyday bends" in html
        row = html.split('class="practised"')[1].split("</tr>")[0]
        assert '<td data-label="Practice sessions" class="num">1</td>' in row
        assert '<td data-label="Reps" class="num">5</td>' in row
        assert '<td data-label="Good hinges" class="num">80%</td>' in row
        assert str(data["practise_next"]) in row
        client.close()
    finally:
        dash.stop()
