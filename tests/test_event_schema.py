"""The bend event's contract (`hingewatch.bend/2`, and `/1` still read): round trips, what
goes over the wire, what is refused."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from edge.delivery.mqtt_config import MqttConfig
from edge.delivery.outbox import Outbox
from edge.delivery.publisher import Publisher
from edge.delivery.state import STATE_FIELDS, DeviceState
from edge.delivery.topics import HA_DISCOVERY_PREFIX, event_topic, state_topic
from edge.events import (
    POSTURES,
    REASONS,
    SCHEMA_ID,
    SCHEMA_PATH,
    SCHEMA_PATHS,
    BendEvent,
    EventError,
    hinge_share,
    schema,
    validate,
)
from edge.state import (
    STATE_SCHEMA_ID,
    STATE_SCHEMA_PATH,
    STATE_SCHEMA_PATHS,
    StateError,
    StatePayload,
    parse_state,
    validate_state,
)
from tests._publisher_proc import synthetic_event
from tests.mqtt_broker import Broker, Collector

SCHEMA = json.loads(SCHEMA_PATH.read_text())


def test_the_schema_files_are_valid_json_schemas_with_their_ids() -> None:
    for schema_id, path in {**SCHEMA_PATHS, **STATE_SCHEMA_PATHS}.items():
        document = json.loads(path.read_text())
        jsonschema.Draft202012Validator.check_schema(document)
        assert document["$id"] == schema_id
    assert SCHEMA["$id"] == SCHEMA_ID
    assert json.loads(STATE_SCHEMA_PATH.read_text())["$id"] == STATE_SCHEMA_ID


def test_the_vocabulary_is_the_schemas() -> None:
    props = schema()["properties"]
    assert set(props["posture"]["enum"]) == set(POSTURES)
    assert set(props["reasons"]["items"]["enum"]) == set(REASONS)
    assert len(REASONS) <= props["reasons"]["maxItems"]


def test_version_1_is_still_read_but_knows_no_unsure() -> None:
    data = _base()
    data["schema"] = "hingewatch.bend/1"
    validate(data)  # an older device's event
    data["posture"], data["reasons"] = "unsure", ["front_view"]
    with pytest.raises(EventError, match="posture: 'unsure' is not one of"):
        validate(data)
    data["schema"] = SCHEMA_ID
    validate(data)
    state = DeviceState("kitchen", posture_now="unsure", last_posture="unsure").to_dict()
    validate_state(state)
    state["schema"] = "hingewatch.state/1"
    with pytest.raises(StateError, match="posture_now"):
        validate_state(state)


@pytest.mark.parametrize(("hinges", "rounds", "share"),
                         [(0, 0, None), (3, 1, 0.75), (0, 2, 0.0), (5, 0, 1.0)])
def test_hinge_share_is_hinges_over_hinges_and_rounds(hinges: int, rounds: int,
                                                     share: float | None) -> None:
    assert hinge_share(hinges, rounds) == share


@pytest.mark.parametrize("i", [0, 1, 2, 5, 6, 12, 29])
def test_round_trip_is_stable(i: int) -> None:
    event = synthetic_event(i, trace_frames=i % 31)
    text = event.to_json()
    again = BendEvent.from_json(text)
    assert again.to_json() == text
    assert BendEvent.from_json(again.to_json()) == again
    assert again.event_id == event.event_id and again.posture == event.posture
    assert len(again.skeleton) == 33 and len(again.trace) == i % 31


def test_the_state_payload_type_is_the_schemas_and_the_device_states() -> None:
    document = json.loads(STATE_SCHEMA_PATH.read_text())
    assert set(StatePayload.__annotations__) == set(document["properties"])
    assert StatePayload.__required_keys__ == set(document["required"])
    assert set(StatePayload.__annotations__) == {"schema", *STATE_FIELDS}


def test_parse_state_returns_a_valid_state_and_refuses_the_rest() -> None:
    data = DeviceState("kitchen", posture_now="hinge", outbox_dead=2).to_dict()
    state = parse_state(data)
    assert state["device_id"] == "kitchen" and state.get("outbox_dead") == 2
    with pytest.raises(StateError, match="unknown schema 'hingewatch.state/9'"):
        parse_state({**data, "schema": "hingewatch.state/9"})
    with pytest.raises(StateError, match="expected a JSON object, got list"):
        parse_state([data])


def test_device_state_round_trip_and_schema() -> None:
    state = DeviceState("kitchen", person_present=True, posture_now="stand", fps=12.25,
                        bends_today=4, hinge_share_today=0.75, hinge_share_7d=None,
                        last_posture="squat", outbox_depth=2, outbox_near_full=False)
    data = json.loads(state.to_json())
    validate_state(data)
    assert DeviceState.from_json(state.to_json()) == state
    assert data["schema"] == STATE_SCHEMA_ID


def test_every_payload_published_validates(
    mosquitto: Broker, tmp_path: Path
) -> None:
    # Events of every shape the synthetic household makes: each posture, view, null zone,
    # null back bulge, empty and full traces; plus the state and the discovery configs.
    events = [synthetic_event(i, trace_frames=(i * 7) % 31) for i in range(36)]
    events.append(synthetic_event(36, posture="unsure"))
    collector = Collector(mosquitto.port, [event_topic("kitchen"), state_topic("kitchen"),
                                           f"{HA_DISCOVERY_PREFIX}/#"]).start()
    config = MqttConfig(host="127.0.0.1", port=mosquitto.port, device_id="kitchen")
    try:
        with Outbox(tmp_path / "o.sqlite3") as outbox, Publisher(config, outbox) as publisher:
            assert publisher.wait_connected(10)
            publisher.publish_state(DeviceState("kitchen", bends_today=36))
            for event in events:
                publisher.submit(event)
            assert publisher.wait_drained(10)
        assert collector.wait_for(
            lambda ms: sum(m.topic == event_topic("kitchen") for m in ms) >= 36, 10)
    finally:
        collector.stop()
    independent = jsonschema.Draft202012Validator(SCHEMA)
    received = collector.snapshot()
    for message in collector.on_topic(event_topic("kitchen")):
        data = json.loads(message.payload)
        independent.validate(data)
        validate(data)
    assert [json.loads(m.payload)["event_id"] for m in collector.on_topic(
        event_topic("kitchen"))] == [e.event_id for e in events]
    for message in collector.on_topic(state_topic("kitchen")):
        validate_state(json.loads(message.payload))
    discovery = [m for m in received if m.topic.startswith(HA_DISCOVERY_PREFIX)]
    assert len(discovery) == 5
    for message in discovery:
        assert isinstance(json.loads(message.payload), dict)


def _base() -> dict[str, Any]:
    return json.loads(synthetic_event(1).to_json())


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.__setitem__(key, value)


MALFORMED: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("no event_id", lambda d: d.pop("event_id"), "(top): 'event_id' is a required property"),
    ("unknown posture", _set("posture", "slouch"),
     "posture: 'slouch' is not one of ['hinge', 'round', 'squat', 'unsure']"),
    ("a future schema", _set("schema", "hingewatch.bend/3"),
     "unknown schema 'hingewatch.bend/3'; this receiver reads hingewatch.bend/1, "
     "hingewatch.bend/2"),
    ("32 landmarks", lambda d: d.__setitem__("skeleton", d["skeleton"][:32]), "skeleton: "),
    ("a landmark with 4 numbers", lambda d: d["skeleton"][0].append(1.0),
     "skeleton/0: expected at most 3 items, got 4"),
    ("ends before it starts", _set("ended_at", "2026-09-21T00:00:00.000Z"),
     "ended_at is before started_at"),
    ("pixels", _set("pixels", [1, 2]),
     "(top): Additional properties are not allowed ('pixels' was unexpected)"),
    ("confidence above 1", _set("confidence", 1.5),
     "confidence: 1.5 is greater than the maximum of 1"),
    ("time without milliseconds", _set("started_at", "2026-09-21T14:13:27Z"),
     "started_at: '2026-09-21T14:13:27Z' does not match"),
    ("31 trace frames", lambda d: d["trace"]["frames"].append(d["skeleton"]),
     "trace/frames: "),
    ("a metric without its unit", lambda d: d["metrics"].pop("time_beyond_60_deg_s"),
     "metrics: 'time_beyond_60_deg_s' is a required property"),
    ("not a ULID", _set("event_id", "01M3251X5R000000000000000U"),
     "event_id: '01M3251X5R000000000000000U' does not match"),
    ("a reason twice", _set("reasons", ["lumbar_rounding", "lumbar_rounding"]),
     "reasons: ['lumbar_rounding', 'lumbar_rounding'] has non-unique elements"),
    ("negative duration", _set("duration_s", -1), "duration_s: -1 is less than the minimum of 0"),
    ("a space in device_id", _set("device_id", "my kitchen"),
     "device_id: 'my kitchen' does not match"),
]


@pytest.mark.parametrize(("mutate", "message"), [(m, msg) for _, m, msg in MALFORMED],
                         ids=[name for name, _, _ in MALFORMED])
def test_malformed_events_are_refused_saying_where(
    mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    data = copy.deepcopy(_base())
    mutate(data)
    with pytest.raises(EventError) as info:
        validate(data)
    assert str(info.value).startswith(message)
    with pytest.raises(EventError):
        BendEvent.from_json(json.dumps(data))


@pytest.mark.parametrize(
    ("text", "message"),
    [("[1, 2]", "expected a JSON object, got list"),
     ("not json", "not JSON: Expecting value"),
     ('{"schema": "hingewatch.bend/1"', "not JSON: Expecting ',' delimiter")],
)
def test_payloads_that_are_not_events(text: str, message: str) -> None:
    with pytest.raises(EventError, match="^" + message.replace("[", r"\[")):
        BendEvent.from_json(text)


def test_the_state_says_how_many_events_were_set_aside_only_when_some_were() -> None:
    quiet = DeviceState("kitchen").to_dict()
    assert "outbox_dead" not in quiet
    validate_state(quiet)  # every ordinary state stays valid for any receiver
    assert DeviceState("kitchen", outbox_dead=3).to_dict()["outbox_dead"] == 3
