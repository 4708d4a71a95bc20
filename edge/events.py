"""The `BendEvent`: the one value that crosses from the edge to the dashboard, and the
vocabulary it speaks (postures, views, reasons, hinge share), defined here once.

Its JSON Schema is `edge/schemas/bend-2.schema.json` (id `hingewatch.bend/2`); receivers
validate every payload against the schema its `schema` field names before use, and read
`hingewatch.bend/1` (no `unsure`) too.

How the schema version is bumped: a change that every existing consumer can ignore (a new
optional field) keeps `hingewatch.bend/1` and adds the field to the schema as optional.
Anything else (a field removed, renamed, retyped, made required, or an enum narrowed) makes
`hingewatch.bend/2`: a new schema file beside this one, `SCHEMA_ID` raised, and the
dashboard taught to read both until every device has been updated. A receiver rejects (and
counts) an id it does not know.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

from edge import __version__
from edge.ulid import new_ulid

SCHEMA_ID = "hingewatch.bend/2"
SCHEMA_PATH = Path(__file__).with_name("schemas") / "bend-2.schema.json"
# Every version a receiver reads, oldest first, with its schema file.
SCHEMA_PATHS: dict[str, Path] = {
    "hingewatch.bend/1": Path(__file__).with_name("schemas") / "bend-1.schema.json",
    SCHEMA_ID: SCHEMA_PATH,
}

Posture = Literal["hinge", "round", "squat", "unsure"]
View = Literal["side", "oblique", "front"]
POSTURES: tuple[str, ...] = ("hinge", "round", "squat", "unsure")
# The postures a verdict commits to; `unsure` is a bend whose back could not be read.
COVERED_POSTURES: tuple[str, ...] = ("hinge", "round", "squat")
# Reasons: the errors people are taught, then why a verdict is unsure (what to change).
FAULT_REASONS: tuple[str, ...] = (
    "lumbar_rounding",
    "waist_bend",
    "upper_back_rounding",
    "head_drop",
    "locked_knees",
)
UNSURE_REASONS: tuple[str, ...] = ("front_view", "back_hidden", "back_unclear")
REASONS: tuple[str, ...] = FAULT_REASONS + UNSURE_REASONS
# A verdict at least this sure (its calibrated confidence: how often verdicts like it were
# right) is one a person is asked to act on: the everyday cue counts only rounded backs
# said so, the classifier says a round read on weak evidence below it, and `eval` counts
# the hinges called round so — the product's worst mistake (issue 9): a false "rounded
# back" nags a person who did well.
ACT_ON_CONFIDENCE = 0.8


def hinge_share(hinges: int, rounds: int) -> float | None:
    """Hinges over hinges plus rounded backs: the habit the product teaches. A squat is a
    good way down too and an unsure bend says nothing, so neither counts either way. None
    before the first hinge or rounded back."""
    total = hinges + rounds
    return hinges / total if total else None
# The replay trace: at most 3 s at at most 10 frames a second.
TRACE_MAX_RATE_HZ = 10.0
TRACE_MAX_FRAMES = 30
# The largest event payload a receiver takes (a full event is ~30 KB); the outbox refuses
# a larger one before it is stored.
MAX_EVENT_BYTES = 256 * 1024


class EventError(ValueError):
    """A payload that is not a valid event of a version read here; the message says where."""


def utc_ms(t: datetime) -> str:
    """UTC ISO-8601 with milliseconds and a Z: 2026-11-24T07:41:05.123Z."""
    if t.tzinfo is None:
        raise ValueError("utc_ms: expected an aware datetime")
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def parse_utc_ms(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def now_ms() -> str:
    """Now, as `utc_ms` writes it: what the state's `updated_at` and the dashboard's store
    stamp."""
    return utc_ms(datetime.now(UTC))


@dataclass(frozen=True)
class BendMetrics:
    """Peaks over the bend, units in the names."""

    peak_trunk_inclination_deg: float
    peak_hip_flexion_deg: float
    peak_knee_flexion_deg: float
    peak_hip_shift_norm: float
    back_bulge_norm: float | None
    time_beyond_60_deg_s: float


@dataclass(frozen=True)
class BendEvent:
    """One bend. `skeleton` is 33 × [x, y, visibility] normalised at the deepest frame;
    `trace` holds up to 30 such skeletons at `trace_rate_hz` for a replay."""

    device_id: str
    started_at: str
    ended_at: str
    duration_s: float
    posture: Posture
    confidence: float
    reasons: tuple[str, ...]
    activity: str
    zone: str | None
    lift: bool
    view: View
    metrics: BendMetrics
    skeleton: tuple[tuple[float, float, float], ...]
    trace_rate_hz: float
    trace: tuple[tuple[tuple[float, float, float], ...], ...]
    model_name: str
    model_variant: str
    software_version: str = __version__
    simulated: bool = False
    event_id: str = field(default_factory=new_ulid)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_ID,
            "event_id": self.event_id,
            "device_id": self.device_id,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_s": round(self.duration_s, 3),
            "posture": self.posture,
            "confidence": round(self.confidence, 3),
            "reasons": list(self.reasons),
            "activity": self.activity,
            "zone": self.zone,
            "lift": self.lift,
            "view": self.view,
            "metrics": {
                k: (None if v is None else round(float(v), 4))
                for k, v in asdict(self.metrics).items()
            },
            "skeleton": [[round(float(c), 4) for c in p] for p in self.skeleton],
            "trace": {
                "rate_hz": self.trace_rate_hz,
                "frames": [[[round(float(c), 4) for c in p] for p in f] for f in self.trace],
            },
            "model": {"name": self.model_name, "variant": self.model_variant},
            "software_version": self.software_version,
            "simulated": self.simulated,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BendEvent:
        validate(data)
        return cls(
            event_id=data["event_id"],
            device_id=data["device_id"],
            started_at=data["started_at"],
            ended_at=data["ended_at"],
            duration_s=float(data["duration_s"]),
            posture=data["posture"],
            confidence=float(data["confidence"]),
            reasons=tuple(data["reasons"]),
            activity=data["activity"],
            zone=data["zone"],
            lift=bool(data["lift"]),
            view=data["view"],
            metrics=BendMetrics(**data["metrics"]),
            skeleton=tuple(tuple(p) for p in data["skeleton"]),
            trace_rate_hz=float(data["trace"]["rate_hz"]),
            trace=tuple(tuple(tuple(p) for p in f) for f in data["trace"]["frames"]),
            model_name=data["model"]["name"],
            model_variant=data["model"]["variant"],
            software_version=data["software_version"],
            simulated=bool(data["simulated"]),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> BendEvent:
        return cls.from_dict(decode_json(text, EventError))


def decode_json(text: str | bytes, error: type[ValueError]) -> Any:
    """`text` as JSON, or `error` saying it is not JSON (the event's and the state's)."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"not JSON: {exc}") from exc


@cache
def schema(schema_id: str = SCHEMA_ID) -> dict[str, Any]:
    return json.loads(SCHEMA_PATHS[schema_id].read_text())


@cache
def _validator(path: Path) -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(path.read_text()))


def check_schema(data: Any, schema_paths: dict[str, Path], error: type[ValueError]) -> None:
    """Raise `error` unless `data` is an object valid against the schema its `schema` field
    names, one of `schema_paths` (id: file); the message says where. The event and the
    state are both checked here."""
    if not isinstance(data, dict):
        raise error(f"expected a JSON object, got {type(data).__name__}")
    schema_id = data.get("schema")
    if not isinstance(schema_id, str) or schema_id not in schema_paths:
        shown = repr(schema_id)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise error(f"unknown schema {shown}; this receiver reads {', '.join(schema_paths)}")
    found = next(iter(_validator(schema_paths[schema_id]).iter_errors(data)), None)
    if found is not None:
        where = "/".join(str(p) for p in found.absolute_path) or "(top)"
        if found.validator in ("minItems", "maxItems") and isinstance(found.instance, list):
            bound = "at least" if found.validator == "minItems" else "at most"
            message = f"expected {bound} {found.validator_value} items, got {len(found.instance)}"
        else:
            message = found.message[:200]  # a long array would otherwise fill the log line
        raise error(f"{where}: {message}")


def validate(data: Any) -> None:
    """Raise EventError unless `data` is a valid event of a version this receiver reads."""
    check_schema(data, SCHEMA_PATHS, EventError)
    if parse_utc_ms(data["ended_at"]) < parse_utc_ms(data["started_at"]):
        raise EventError("ended_at is before started_at")
