"""What a buggy or hostile device sends, through a real Mosquitto into the running dashboard:
each message is refused with a named reason, counted, and never breaks a page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dashboard.ingest.eventcheck import decode_event
from dashboard.settings import Settings
from dashboard.store.batch import StateMessage
from dashboard.store.reader import Reader
from dashboard.web.server import Dashboard
from edge.config_tables import changed
from edge.delivery.state import DeviceState
from edge.events import EventError, validate
from edge.state import StateError, validate_state
from tests.dashboard.conftest import add_user, login, publish, wait_until
from tests.dashboard.factory import make_event
from tests.mqtt_broker import Broker

TOPIC = "hingewatch/kitchen/event"


def rejected(reader: Reader) -> dict[str, int]:
    return {r.reason: r.count for r in reader.ingest_counts().rejects}


def event_dict(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        make_event("hinge", datetime.now(UTC) - timedelta(minutes=5), frames=2).to_json())
    data.update(changes)
    return data


def test_a_bad_retained_state_is_dropped_and_no_page_breaks_across_restarts(
        dash_settings: Settings, mosquitto: Broker) -> None:
    settings = changed(dash_settings, {"mqtt_port": mosquitto.port})
    publish(mosquitto.port, [("hingewatch/kitchen/state", '{"posture_now":{"a":1}}'),
                             ("hingewatch/hall/state", json.dumps({"posture_now": [1]}))],
            retain=True)
    for _ in range(2):  # the retained state comes again after a restart
        with Dashboard(settings) as dash:
            assert dash.ingest is not None
            add_user(dash.writer, "anna", "viewer")
            reader = Reader(settings.store)
            wait_until(lambda: rejected(reader).get("bad_state", 0) >= 2, 15,  # noqa: B023
                       "both bad states counted")
            assert reader.devices() == [] or all(d.state is None for d in reader.devices())
            client, _ = login(dash.url, "anna")
            for path in ("/", "/devices", "/health", "/api/health"):
                assert client.get(path).status_code == 200, path
            client.close()
            reader.close()


def test_a_bad_state_already_stored_renders_as_no_state(dash_settings: Settings,
                                                        mosquitto: Broker) -> None:
    settings = changed(dash_settings, {"mqtt_port": mosquitto.port})
    with Dashboard(settings) as dash:
        add_user(dash.writer, "anna", "viewer")
        # As an older dashboard stored it, before states were checked on arrival.
        dash.writer.write_batch([StateMessage("kitchen", '{"posture_now": {"a": 1}}'),
                                 StateMessage("hall", '{"fps": [], "posture_now": "hinge"}')],
                                "2026-11-24T12:00:00.000Z")
        client, _ = login(dash.url, "anna")
        for path in ("/", "/devices", "/live/today"):
            if path.startswith("/live"):
                with client.stream("GET", path) as r:
                    assert r.status_code == 200
                continue
            r = client.get(path)
            assert r.status_code == 200 and "kitchen" in r.text, path
        client.close()


def test_a_valid_state_is_shown(running: Dashboard, mosquitto: Broker) -> None:
    state = DeviceState("kitchen", person_present=True, posture_now="squat", fps=9.5)
    publish(mosquitto.port, [("hingewatch/kitchen/state", state.to_json())], retain=True)
    reader = Reader(running.settings.store)
    wait_until(lambda: any(d.state for d in reader.devices()), 15, "the state stored")
    (device,) = reader.devices()
    assert device.state is not None and device.state["posture_now"] == "squat"
    # A state naming another device is refused like such an event.
    other = DeviceState("hall", posture_now="hinge").to_json()
    publish(mosquitto.port, [("hingewatch/kitchen/state", other)])
    wait_until(lambda: rejected(reader).get("device_mismatch", 0) == 1, 15, "the mismatch")
    reader.close()


# --- patterns that end in `$` ---------------------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [
    ("event_id", "01HZZZZZZZZZZZZZZZZZZZZZZZ\n"),
    ("activity", "dishwasher\n"),
    ("device_id", "kitchen\n"),
    ("started_at", "2026-11-24T10:00:00.000Z\n"),
    ("started_at", "２０２６-11-24T10:00:00.000Z"),  # fullwidth digits are `\d` in Python
])
def test_a_final_newline_is_refused_by_both_checks(field: str, value: str) -> None:
    data = event_dict(**{field: value})
    with pytest.raises(EventError):
        validate(data)  # the contract: jsonschema, which searches with Python's re
    with pytest.raises(EventError):
        decode_event(json.dumps(data).encode())  # the dashboard's fast check (msgspec)


def test_a_state_with_a_final_newline_is_refused() -> None:
    data = DeviceState("kitchen").to_dict()
    validate_state(data)
    with pytest.raises(StateError):
        validate_state({**data, "device_id": "kitchen\n"})


def test_a_newline_event_id_does_not_slip_past_deduplication(running: Dashboard,
                                                             mosquitto: Broker) -> None:
    good = event_dict()
    copy = {**good, "event_id": good["event_id"] + "\n", "posture": "round"}
    sneaky = {**event_dict(), "activity": "dishwasher\n"}
    publish(mosquitto.port, [(TOPIC, json.dumps(good)), (TOPIC, json.dumps(copy)),
                             (TOPIC, json.dumps(sneaky))])
    reader = Reader(running.settings.store)
    wait_until(lambda: sum(rejected(reader).values()) == 2, 15, "two refusals")
    assert reader.event_total() == 1 and rejected(reader) == {"invalid": 2}
    assert reader.activities() == ["dishwasher"]
    reader.close()


# --- times and shapes -----------------------------------------------------------------------


def at(started: datetime, duration_s: float = 2.0) -> dict[str, Any]:
    def ms(t: datetime) -> str:
        return f"{t.year:04d}" + t.strftime("-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"

    return event_dict(started_at=ms(started), ended_at=ms(started + timedelta(seconds=2)),
                      duration_s=duration_s)


def test_times_out_of_range_deep_json_and_wrong_durations_are_named(
        running: Dashboard, mosquitto: Broker, caplog: pytest.LogCaptureFixture) -> None:
    now = datetime.now(UTC)
    messages = [
        json.dumps(at(datetime(9999, 12, 31, 23, 59, 0, tzinfo=UTC))),
        json.dumps(at(now + timedelta(days=2))),
        json.dumps(at(datetime(1, 1, 1, 0, 0, 1, tzinfo=UTC))),
        json.dumps(at(datetime(1999, 12, 31, 23, 0, tzinfo=UTC))),
        b"[" * 50_000 + b"]" * 50_000,
        b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
        json.dumps(at(now - timedelta(hours=1), duration_s=3600)),  # a 2 s span
        json.dumps(at(now + timedelta(hours=20))),  # a clock a little ahead: kept
    ]
    with caplog.at_level("WARNING", logger="hingewatch.dashboard.ingest"):
        publish(mosquitto.port, [(TOPIC, m) for m in messages])
        reader = Reader(running.settings.store)
        wait_until(lambda: reader.event_total() + sum(rejected(reader).values()) == 8, 20,
                   "every message stored or refused")
    assert rejected(reader) == {"time_out_of_range": 4, "too_deep": 2, "invalid": 1}
    assert reader.event_total() == 1
    logged = caplog.text
    assert logged.count("time_out_of_range") == 4 and logged.count("too_deep") == 2
    reader.close()


def test_an_api_day_is_a_date_not_a_number(running: Dashboard) -> None:
    # pydantic alone reads `start=0` as the Unix epoch (schemathesis found it accepted).
    add_user(running.writer, "bea", "viewer")
    client, _ = login(running.url, "bea")
    for path in ("/api/events?start=0", "/api/events?end=1700000000", "/api/events?start=2026-1-2"):
        r = client.get(path)
        assert r.status_code == 422 and "YYYY-MM-DD" in r.text, path
    assert client.get("/api/events?start=2026-11-02&end=2026-11-08").status_code == 200
    client.close()


def test_week_and_day_edges_are_refused_not_500(running: Dashboard) -> None:
    add_user(running.writer, "anna", "viewer")
    client, _ = login(running.url, "anna")
    # The API says which years it takes in its own document (a pattern: 422 like any other
    # malformed query), and a date range past them simply holds no events.
    for path in ("/api/summary?week=9999-W52", "/api/summary?week=0001-W01"):
        r = client.get(path)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "week"], path
    for path in ("/api/events?end=9999-12-31", "/api/events?start=0001-01-01&end=0001-01-02"):
        r = client.get(path)
        assert r.status_code == 200, path
    assert client.get("/api/events?start=0001-01-01&end=0001-01-02").json()["total"] == 0
    for path in ("/week?week=9999-W52", "/week?week=0001-W01", "/report?week=9999-W52",
                 "/report?week=0001-W01", "/export.csv?week=9999-W52",
                 "/export.csv?week=0001-W01", "/export.csv?end=9999-12-31",
                 "/events?start=0001-01-01"):
        r = client.get(path)
        assert r.status_code == 400 and "expected a year" in r.text, path
        assert "<!doctype html>" in r.text  # the error page
    client.close()


def test_static_redirect_does_not_reflect_the_host(running: Dashboard) -> None:
    with httpx.Client(base_url=running.url) as c:
        r = c.get("/static", headers={"host": "evil.example"})
        assert r.status_code == 307 and r.headers["location"] == "/static/"
        r = c.get("/health/", headers={"host": "evil.example"})
        assert "evil.example" not in r.headers.get("location", "")
