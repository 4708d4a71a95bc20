"""`DeviceState`: the retained live state on `hingewatch/<device>/state`.

Home Assistant's sensors (see `edge.delivery.discovery`) and the dashboard read it. Its
JSON Schema is `edge/schemas/state-2.schema.json` (id `hingewatch.state/2`: version 2
adds `unsure`), versioned the same way as the bend event; receivers read version 1 too.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

from edge.events import Posture, utc_ms

_SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
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


def _now() -> str:
    return utc_ms(datetime.now(UTC))


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
    updated_at: str = field(default_factory=_now)
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
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StateError(f"not JSON: {exc}") from exc
        validate_state(data)
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


STATE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(DeviceState))


@cache
def _validator(schema_id: str) -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(STATE_SCHEMA_PATHS[schema_id].read_text()))


def validate_state(data: Any) -> None:
    """Raise StateError unless `data` is a valid state of a version this receiver reads."""
    if not isinstance(data, dict):
        raise StateError(f"expected a JSON object, got {type(data).__name__}")
    schema_id = data.get("schema")
    if not isinstance(schema_id, str) or schema_id not in STATE_SCHEMA_PATHS:
        shown = repr(schema_id)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise StateError(
            f"unknown schema {shown}; this receiver reads {', '.join(STATE_SCHEMA_PATHS)}")
    error = next(iter(_validator(schema_id).iter_errors(data)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise StateError(f"{where}: {error.message[:200]}")
