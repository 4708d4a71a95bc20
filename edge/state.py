"""The device state's contract: what a retained `hingewatch/<device>/state` payload is.

Its JSON Schema is `edge/schemas/state-2.schema.json` (id `hingewatch.state/2`: version 2
adds `unsure`), versioned the same way as the bend event (see `edge.events`); receivers
read version 1 too. The edge builds the payload (`edge.delivery.state.DeviceState`); the
dashboard and Home Assistant read it, and take nothing else from the edge but this module,
`edge.events` and the topic names.
"""

# No `from __future__ import annotations`: TypedDict reads NotRequired at runtime only from
# real annotations, and a test holds its required keys to the schema's.
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict, cast

from edge.events import Posture, check_schema

_SCHEMAS = Path(__file__).with_name("schemas")
STATE_SCHEMA_ID = "hingewatch.state/2"
STATE_SCHEMA_PATH = _SCHEMAS / "state-2.schema.json"
STATE_SCHEMA_PATHS: dict[str, Path] = {
    "hingewatch.state/1": _SCHEMAS / "state-1.schema.json",
    STATE_SCHEMA_ID: STATE_SCHEMA_PATH,
}

PostureNow = Posture | Literal["stand"]
# What the agent is doing (see DeviceState.status).
AgentStatus = Literal["starting", "ok", "sleeping", "degraded", "stopping"]


class StateError(ValueError):
    """A payload that is not a valid state of a version read here; the message says where."""


class StatePayload(TypedDict):
    """A valid state as it travels (JSON): the schema's required fields, then the optional
    ones (health, added within version 1, `outbox_dead`, absent when none, and
    `pose_precision`, absent when the model runs in float). A test holds
    these keys to the schema's."""

    schema: str
    device_id: str
    updated_at: str
    person_present: bool
    posture_now: PostureNow | None
    fps: float
    bends_today: int
    hinge_share_today: float | None
    hinge_share_7d: float | None
    last_posture: Posture | None
    outbox_depth: int
    outbox_near_full: bool
    status: NotRequired[AgentStatus]
    dropped_frames: NotRequired[int]
    detector_share: NotRequired[float | None]
    cpu_percent: NotRequired[float | None]
    soc_temp_c: NotRequired[float | None]
    simulated: NotRequired[bool]
    outbox_dead: NotRequired[int]
    pose_precision: NotRequired[Literal["int8"]]


def validate_state(data: Any) -> None:
    """Raise StateError unless `data` is a valid state of a version this receiver reads."""
    check_schema(data, STATE_SCHEMA_PATHS, StateError)


def parse_state(data: Any) -> StatePayload:
    """`data` (decoded JSON) as a state, or StateError saying why it is none."""
    validate_state(data)
    return cast(StatePayload, data)  # the schema has just checked every key and type
