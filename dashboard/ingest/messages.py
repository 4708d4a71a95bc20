"""What one MQTT message is: an event to store, a status, a state, or a rejection (the
values of `dashboard.store.batch`, which the writer stores).

`classify` never raises: whatever arrives becomes exactly one of those values, and every
`Rejected` is counted by its reason. Nothing here touches the network or the database.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import msgspec

from dashboard.ergonomics import reba_trunk_score
from dashboard.ingest.eventcheck import (
    Event,
    NotJsonError,
    NotObjectError,
    UnknownSchemaError,
    decode_event,
)
from dashboard.store.batch import (
    EventMessage,
    Message,
    PracticeMessage,
    Rejected,
    StateMessage,
    StatusMessage,
    local_day,
)
from dashboard.store.landmarks import pack
from dashboard.store.records import EVENT_COLUMNS, METRIC_COLUMNS
from edge.delivery.topics import device_of
from edge.events import MAX_EVENT_BYTES, EventError
from edge.practice_contract import PracticeError, parse_summary
from edge.state import StateError, parse_state

log = logging.getLogger("hingewatch.dashboard.ingest")

# A valid event is ~25 kB (33 landmarks x 31 skeletons); anything far larger (the
# contract's MAX_EVENT_BYTES) is refused before it is parsed, so one bad publisher cannot
# make us decode megabytes.
MAX_STATE_BYTES = 16 * 1024
# An event's times must lie between these: nothing before 2000 is a bend a device saw, and
# a clock far ahead would pin an event to the top of every list and skew the days.
EARLIEST = "2000-01-01T00:00:00.000Z"
MAX_AHEAD = timedelta(days=1)
STATUSES = frozenset(("online", "offline"))
KINDS = frozenset(("event", "status", "state", "practice"))


# The columns that are the checked event's own fields, copied by name (some replaced below).
_AS_SENT = tuple(c for c in EVENT_COLUMNS if c in Event.__struct_fields__)


def event_row(e: Event, zone: ZoneInfo, received_at: str) -> dict[str, object]:
    """The `events` row of a checked event, by column name (`EVENT_COLUMNS`)."""
    return {
        **{c: getattr(e, c) for c in _AS_SENT},
        **{c: getattr(e.metrics, c) for c in METRIC_COLUMNS},
        "day": local_day(e.started_at, zone),
        "reasons": " ".join(e.reasons),
        "lift": int(e.lift),
        "reba_trunk": reba_trunk_score(e.metrics.peak_trunk_inclination_deg),
        "model_name": e.model.name,
        "model_variant": e.model.variant,
        "simulated": int(e.simulated),
        "received_at": received_at,
    }


def _short(exc: BaseException) -> str:
    return str(exc)[:300]


def classify(topic: str, payload: bytes, zone: ZoneInfo, received_at: str) -> Message:
    """Turn one message into one value. `received_at` is UTC ISO with ms."""
    try:
        return _classify(topic, payload, zone, received_at)
    except RecursionError:
        # msgspec refuses JSON nested deeper than it can recurse: a hostile payload.
        return _logged(Rejected("too_deep", topic[:200], "JSON nested too deeply"))
    except Exception as exc:  # noqa: BLE001 - a bug here must cost one message, not ingest
        log.exception("cannot classify a message on %r", topic[:200])
        return Rejected("internal_error", topic[:200], f"{type(exc).__name__}: {_short(exc)}")


def _logged(rejected: Rejected) -> Rejected:
    log.warning("rejected a message on %r (%s): %s", rejected.topic, rejected.reason,
                rejected.detail)
    return rejected


@lru_cache(maxsize=2)
def _latest_allowed(now_s: int) -> str:
    """The latest time an event may end, at the second `now_s` (formatted once a second,
    not once an event)."""
    return (datetime.fromtimestamp(now_s, UTC) + MAX_AHEAD).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _time_out_of_range(event: Event) -> str | None:
    """Why the event's times cannot be a bend this dashboard saw happen, or None."""
    # The times match the fixed-width UTC pattern, so text order is time order.
    if event.started_at < EARLIEST:
        return f"started_at {event.started_at} is before {EARLIEST[:4]}"
    latest = _latest_allowed(int(time.time()))
    if event.ended_at > latest:
        return f"ended_at {event.ended_at} is more than a day ahead of this dashboard's clock"
    return None


def _classify(topic: str, payload: bytes, zone: ZoneInfo, received_at: str) -> Message:
    device_id = device_of(topic)
    kind = topic.rsplit("/", 1)[-1]
    if device_id is None or kind not in KINDS:
        return Rejected("bad_topic", topic[:200], "not a hingewatch device topic")
    if kind == "status":
        return _status(topic, device_id, payload)
    if kind == "state":
        return _state(topic, device_id, payload)
    if kind == "practice":
        return _practice(topic, device_id, payload, zone, received_at)
    if len(payload) > MAX_EVENT_BYTES:
        return Rejected("too_large", topic, f"{len(payload)} bytes")
    try:
        event, landmarks = decode_event(bytes(payload))
    except NotJsonError as exc:
        return Rejected("not_json", topic, _short(exc))
    except NotObjectError as exc:
        return Rejected("not_object", topic, _short(exc))
    except UnknownSchemaError as exc:
        return Rejected("unknown_schema", topic, _short(exc))
    except EventError as exc:
        return Rejected("invalid", topic, _short(exc))
    if event.device_id != device_id:
        return Rejected("device_mismatch", topic, f"device_id {event.device_id!r}")
    why = _time_out_of_range(event)
    if why is not None:
        return _logged(Rejected("time_out_of_range", topic, why))
    return EventMessage(
        device_id, event.event_id, event_row(event, zone, received_at),
        float(event.trace.rate_hz), pack(landmarks), event.software_version,
        f"{event.model.name} {event.model.variant}".strip(),
    )


def _practice(topic: str, device_id: str, payload: bytes, zone: ZoneInfo,
              received_at: str) -> Message:
    """A practice session's summary (`hingewatch.practice/1`), checked like an event."""
    try:
        data = parse_summary(payload)
    except PracticeError as exc:
        return _logged(Rejected("bad_practice", topic, _short(exc)))
    if data["device_id"] != device_id:
        return Rejected("device_mismatch", topic, f"practice of device_id {data['device_id']!r}")
    if data["started_at"] < EARLIEST or data["ended_at"] > (
            datetime.now(UTC) + MAX_AHEAD).strftime("%Y-%m-%dT%H:%M:%S.000Z"):
        return _logged(Rejected("time_out_of_range", topic,
                                f"practice session at {data['started_at']}"))
    row: dict[str, object] = {
        **{k: data[k] for k in ("session_id", "device_id", "drill", "started_at", "ended_at",
                                "reps", "good", "next_drill", "practise_next")},
        "passed": int(data["passed"]),
        "day": local_day(data["started_at"], zone),
        "summary": msgspec.json.encode(data).decode(),
        "received_at": received_at,
    }
    return PracticeMessage(device_id, row)


def _status(topic: str, device_id: str, payload: bytes) -> Message:
    if not payload:
        return StatusMessage(device_id, None)
    text = payload.decode("utf-8", "replace").strip()
    if text not in STATUSES:
        return Rejected("bad_status", topic, f"status {text[:40]!r}")
    return StatusMessage(device_id, text)


def _state(topic: str, device_id: str, payload: bytes) -> Message:
    if not payload:
        return StateMessage(device_id, None)
    if len(payload) > MAX_STATE_BYTES:
        return Rejected("too_large", topic, f"state of {len(payload)} bytes")
    try:
        data = msgspec.json.decode(payload)
    except msgspec.DecodeError as exc:
        return Rejected("bad_state", topic, f"not JSON: {_short(exc)}")
    try:
        state = parse_state(data)
    except StateError as exc:
        return Rejected("bad_state", topic, _short(exc))
    if state["device_id"] != device_id:
        return Rejected("device_mismatch", topic, f"state of device_id {state['device_id']!r}")
    # Kept as received (re-encoded compactly); the pages pick the fields they know.
    return StateMessage(device_id, msgspec.json.encode(state).decode())
