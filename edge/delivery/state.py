"""`DeviceState`: the retained live state on `hingewatch/<device>/state`, as the edge builds it.

Home Assistant's sensors (see `edge.delivery.discovery`) and the dashboard read it. What a
valid payload is (its schema versions, validation and types) is the contract in
`edge.state`, beside the event's.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from edge.events import Posture, decode_json, now_ms
from edge.state import (
    STATE_SCHEMA_ID,
    AgentStatus,
    PostureNow,
    StateError,
    validate_state,
)


@dataclass(frozen=True)
class DeviceState:
    """What the device sees now and how today went. Shares are 0-1 (None: no bends yet)."""

    device_id: str
    person_present: bool = False
    posture_now: PostureNow | None = None
    fps: float = 0.0
    bends_today: int = 0
    hinge_share_today: float | None = None
    hinge_share_7d: float | None = None
    last_posture: Posture | None = None
    # Filled in by the publisher from its outbox when it publishes the state.
    outbox_depth: int = 0
    outbox_near_full: bool = False
    # Events set aside because the broker would not take them (see edge.delivery.outbox).
    outbox_dead: int = 0
    updated_at: str = field(default_factory=now_ms)
    # Health (optional fields of hingewatch.state/1): what the agent is doing — `ok`,
    # `sleeping` (motion gate: nothing moves), `degraded` (camera lost, retrying), `starting`,
    # `stopping` —, frames the camera delivered that were lost, the share of pose runs that
    # needed the person detector, this process's CPU (% of one core), the SoC temperature.
    status: AgentStatus = "ok"
    dropped_frames: int = 0
    detector_share: float | None = None
    cpu_percent: float | None = None
    soc_temp_c: float | None = None
    simulated: bool = False
    # Optional: "int8" when the pose model runs quantised (`[pose] precision`); absent means
    # float, as on every device before the field.
    pose_precision: Literal["float", "int8"] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"schema": STATE_SCHEMA_ID, **asdict(self)}
        if not self.outbox_dead:
            # Optional in hingewatch.state/2: absent means none set aside, and receivers
            # whose schema predates the field still take every ordinary state.
            del data["outbox_dead"]
        if self.pose_precision != "int8":
            # Absent is float: a float device's state stays one that readers whose schema
            # predates the field take.
            del data["pose_precision"]
        data["fps"] = round(float(self.fps), 2)
        for key in ("hinge_share_today", "hinge_share_7d"):
            if data[key] is not None:
                data[key] = round(float(data[key]), 4)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> DeviceState:
        data = decode_json(text, StateError)
        validate_state(data)
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


STATE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(DeviceState))
