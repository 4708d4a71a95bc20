"""The fast event check gives the contract's verdict (edge.events.validate, jsonschema)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.ingest import eventcheck
from dashboard.ingest.eventcheck import (
    NotJsonError,
    NotObjectError,
    UnknownSchemaError,
    decode_event,
)
from edge.events import (
    POSTURES,
    REASONS,
    SCHEMA_PATHS,
    UNSURE_REASONS,
    EventError,
    schema,
    validate,
)
from tests.dashboard.factory import make_event, now_utc
from tests.dashboard.strategies import _BASE, _BASES, broken_events, json_values

pytestmark = pytest.mark.storeless


def contract_verdict(data: Any) -> str:
    try:
        validate(data)
    except EventError as exc:
        return "unknown_schema" if str(exc).startswith("unknown schema") else "invalid"
    except ValueError:  # the contract's own date parse (month 13) raises plain ValueError
        return "invalid"
    return "valid"


def fast_verdict(payload: bytes) -> str:
    try:
        decode_event(payload)
    except UnknownSchemaError:
        return "unknown_schema"
    except (NotJsonError, NotObjectError):
        return "not_json"
    except EventError:
        return "invalid"
    return "valid"


def test_the_fast_path_is_on() -> None:
    assert eventcheck.FAST, "the schema changed: update dashboard/ingest/eventcheck.py's types"


@pytest.mark.parametrize("posture", POSTURES)
def test_full_events_pass_and_keep_their_landmarks(posture: str) -> None:
    event = make_event(posture, now_utc(), frames=30)
    decoded, landmarks = decode_event(event.to_json().encode())
    assert decoded.event_id == event.event_id
    assert landmarks.shape == (31 * 33 * 3,)
    assert landmarks[:3].tolist() == list(event.skeleton[0])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken_events())
def test_broken_events_get_the_contracts_verdict(event: dict[str, Any]) -> None:
    payload = json.dumps(event).encode()
    expected = contract_verdict(json.loads(payload))
    assert expected != "valid", f"the strategy made a valid event: {event}"
    assert fast_verdict(payload) == expected


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_any_json_value_gets_the_contracts_verdict(value: Any) -> None:
    payload = json.dumps(value).encode()
    got = fast_verdict(payload)
    expected = contract_verdict(value)
    if not isinstance(value, dict):
        assert got == "not_json"  # not an object: refused before any schema question
    else:
        assert got == expected


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 30), st.floats(0.01, 10))
def test_every_trace_length_the_schema_allows_passes(n_frames: int, rate: float) -> None:
    e = json.loads(json.dumps(_BASE))
    e["trace"] = {"rate_hz": rate, "frames": [e["skeleton"]] * n_frames}
    assert contract_verdict(e) == "valid"
    assert fast_verdict(json.dumps(e).encode()) == "valid"


@pytest.mark.parametrize(("payload", "error"), [
    (b"", NotJsonError),
    (b"\xff\xfe", NotJsonError),
    (b'{"a": NaN}', NotJsonError),
    (b"[1, 2]", NotObjectError),
    (b'"text"', NotObjectError),
    (b"{}", UnknownSchemaError),
    (b'{"schema": "hingewatch.bend/3"}', UnknownSchemaError),
    (b'{"schema": "hingewatch.bend/1"}', EventError),
    (b'{"schema": "hingewatch.bend/2"}', EventError),
])
def test_small_payloads(payload: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_event(payload)


def test_whitespace_and_integers_in_landmarks_are_fine() -> None:
    e = json.loads(json.dumps(_BASE))
    e["skeleton"][0] = [0, 1, 1]
    text = json.dumps(e, indent=2).encode()
    assert contract_verdict(json.loads(text)) == "valid"
    decoded, landmarks = decode_event(text)
    assert landmarks[:3].tolist() == [0.0, 1.0, 1.0]


def test_the_unknown_schema_message_names_the_versions_read() -> None:
    with pytest.raises(UnknownSchemaError) as info:
        decode_event(b'{"schema": "hingewatch.bend/9"}')
    assert str(info.value).endswith("this dashboard reads hingewatch.bend/1, hingewatch.bend/2")


def test_a_bend_1_event_with_the_words_of_2_is_refused_by_both_paths(
        monkeypatch: pytest.MonkeyPatch) -> None:
    v1 = json.loads(json.dumps(_BASES["hingewatch.bend/1"]))
    assert fast_verdict(json.dumps(v1).encode()) == contract_verdict(v1) == "valid"
    for change in ({"posture": "unsure"}, {"reasons": [UNSURE_REASONS[0]]}):
        bad = {**v1, **change}
        payload = json.dumps(bad).encode()
        assert contract_verdict(bad) == "invalid"
        with pytest.raises(EventError, match="in hingewatch.bend/1"):
            decode_event(payload)
        monkeypatch.setattr(eventcheck, "FAST", False)
        assert fast_verdict(payload) == "invalid"
        monkeypatch.setattr(eventcheck, "FAST", True)
        # The same words under /2 are fine.
        assert fast_verdict(json.dumps({**bad, "schema": "hingewatch.bend/2"}).encode()) == "valid"


@pytest.mark.parametrize("schema_id", sorted(SCHEMA_PATHS))
def test_the_slow_path_gives_the_same_result(monkeypatch: pytest.MonkeyPatch,
                                             schema_id: str) -> None:
    event = json.loads(make_event("round", now_utc(), frames=3).to_json())
    payload = json.dumps({**event, "schema": schema_id}, separators=(",", ":")).encode()
    fast_event, fast_values = decode_event(payload)
    monkeypatch.setattr(eventcheck, "FAST", False)
    slow_event, slow_values = decode_event(payload)
    assert slow_event == fast_event
    assert slow_values.tolist() == fast_values.tolist()
    with pytest.raises(EventError):
        decode_event(payload.replace(b'"round"', b'"bent"'))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(SCHEMA_PATHS)), st.sampled_from((*POSTURES, "stand")),
       st.lists(st.sampled_from((*REASONS, "slouch")), max_size=9),
       st.sampled_from(("side", "oblique", "front", "back")))
def test_every_version_with_any_words_gets_the_contracts_verdict(
        schema_id: str, posture: str, reasons: list[str], view: str) -> None:
    # Valid or not, under either version: the fast path says what the contract says.
    e = {**_BASES[schema_id], "posture": posture, "reasons": reasons, "view": view}
    assert fast_verdict(json.dumps(e).encode()) == contract_verdict(e)


def test_the_fast_path_allows_versions_to_differ_only_in_their_words() -> None:
    # FAST compares the versions with their enums and reason count taken out: a version
    # differing anywhere else (here a bound) would send every message the slow way.
    newest = eventcheck._without_words(schema("hingewatch.bend/2"))
    v1 = copy.deepcopy(schema("hingewatch.bend/1"))
    assert eventcheck._without_words(v1) == newest
    v1["properties"]["posture"]["enum"].append("lean")
    v1["properties"]["reasons"]["maxItems"] = 3
    assert eventcheck._without_words(v1) == newest
    v1["properties"]["duration_s"]["maximum"] = 60
    assert eventcheck._without_words(v1) != newest
    assert schema("hingewatch.bend/1")["properties"]["duration_s"]["maximum"] == 3600
