"""Decode and check a `hingewatch.bend/1` or `/2` message fast enough for thousands a second.

`edge.events.validate` (jsonschema) is the contract, but it spends ~45 ms on one event: the
skeleton and trace hold up to 3,069 numbers and jsonschema visits each in Python. Here
msgspec checks every field but those two in C (bounds, patterns and lengths are read from
the schema file), and the two landmark arrays are checked without building 1,000 nested
lists:

- their *shape*: delete every character a JSON number can contain, and what is left of a
  valid skeleton is exactly `[[,,],[,,],...]` (33 points), of a trace that many skeletons
  joined by commas; anything else (a string, `true`, an object, a missing value) leaves
  other characters or another shape;
- their *values*: delete brackets instead, and the numbers, comma-separated, are decoded as
  one flat `list[float]` with the schema's bounds, which also refuses a malformed number.

Every version the edge names in `edge.events.SCHEMA_PATHS` is read. The versions may differ
only in their enums (posture, reasons, view) and the number of reasons: msgspec decodes the
union of them, read from the schema files, and then each event is held to the words and the
count its own version allows (a `/1` event may not say `unsure`).

About 0.15 ms an event instead of 45 ms. If the schemas ever differ in any other way, or
have a field this module was not written for, every message takes the slow, certain path
(`edge.events.validate`) instead. `tests/dashboard/test_eventcheck.py` holds both paths to
the same verdict, for every version.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, fields
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

import msgspec
import numpy as np

from edge.events import SCHEMA_ID, SCHEMA_PATHS, BendMetrics, EventError, schema
from edge.events import validate as validate_with_jsonschema


class NotJsonError(EventError):
    """The payload is not strict JSON in UTF-8."""


class NotObjectError(EventError):
    """The payload is JSON, but not an object."""


class UnknownSchemaError(EventError):
    """The payload names a schema id this dashboard does not read."""


# The newest version gives the bounds and patterns; FAST checks the others agree.
_S = schema(SCHEMA_ID)
_P = _S["properties"]
_M = _P["metrics"]["properties"]
_T = _P["trace"]["properties"]
_SKELETON = _S["$defs"]["skeleton"]
_POINT = _SKELETON["items"]
_COORD = _POINT["items"]


def _number(node: dict[str, Any]) -> msgspec.Meta:
    names = {"minimum": "ge", "exclusiveMinimum": "gt", "maximum": "le"}
    bounds: dict[str, Any] = {names[k]: v for k, v in node.items() if k in names}
    return msgspec.Meta(**bounds)


def _text(node: dict[str, Any]) -> msgspec.Meta:
    # msgspec matches patterns with re.search, as jsonschema does; the schema's patterns
    # end in `$(?!\n)` so that a final newline is refused by both.
    names = {"pattern": "pattern", "maxLength": "max_length"}
    rules: dict[str, Any] = {names[k]: v for k, v in node.items() if k in names}
    return msgspec.Meta(**rules)


# Where the versions may differ: these enums, and how many reasons an event may give.
_ENUMS = {"posture": ("posture",), "reasons": ("reasons", "items"), "view": ("view",)}


def _enum(version: dict[str, Any], name: str) -> tuple[str, ...]:
    node = version["properties"]
    for key in _ENUMS[name]:
        node = node[key]
    return tuple(node["enum"])


@dataclass(frozen=True)
class Words:
    """What one schema version allows an event to say."""

    posture: frozenset[str]
    reasons: frozenset[str]
    view: frozenset[str]
    max_reasons: int


_VERSIONS: dict[str, Words] = {
    sid: Words(posture=frozenset(_enum(schema(sid), "posture")),
               reasons=frozenset(_enum(schema(sid), "reasons")),
               view=frozenset(_enum(schema(sid), "view")),
               max_reasons=schema(sid)["properties"]["reasons"]["maxItems"])
    for sid in SCHEMA_PATHS
}


def _union(name: str) -> tuple[str, ...]:
    """Every word any version allows for `name`, in schema order, each once."""
    return tuple(dict.fromkeys(w for sid in SCHEMA_PATHS for w in _enum(schema(sid), name)))


# msgspec checks a Literal in C; mypy cannot read one built at runtime, so it sees `str`.
if TYPE_CHECKING:
    Posture: TypeAlias = str
    Reason: TypeAlias = str
    View: TypeAlias = str
else:
    Posture = Literal[_union("posture")]
    Reason = Literal[_union("reasons")]
    View = Literal[_union("view")]
UtcMs = Annotated[str, _text(_S["$defs"]["utc_ms"])]


def _metric(name: str) -> Any:
    """The msgspec type of one metric: a number within the schema's bounds, maybe null."""
    number = Annotated[float, _number(_M[name])]
    return number | None if "null" in _M[name].get("type", ()) else number


# The metrics are the event's own (`BendMetrics`), their bounds the schema's; mypy sees
# the dataclass, whose fields these are.
if TYPE_CHECKING:
    Metrics: TypeAlias = BendMetrics
else:
    Metrics = msgspec.defstruct(
        "Metrics", [(f.name, _metric(f.name)) for f in fields(BendMetrics)],
        forbid_unknown_fields=True, frozen=True)


class Trace(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    rate_hz: Annotated[float, _number(_T["rate_hz"])]
    frames: msgspec.Raw


class Model(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: Annotated[str, _text(_P["model"]["properties"]["name"])]
    variant: Annotated[str, _text(_P["model"]["properties"]["variant"])]


class Event(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A decoded event; `skeleton` and `trace.frames` stay raw until `landmarks()`."""

    schema: str
    event_id: Annotated[str, _text(_P["event_id"])]
    device_id: Annotated[str, _text(_P["device_id"])]
    started_at: UtcMs
    ended_at: UtcMs
    duration_s: Annotated[float, _number(_P["duration_s"])]
    posture: Posture
    confidence: Annotated[float, _number(_P["confidence"])]
    reasons: Annotated[list[Reason], msgspec.Meta(
        max_length=max(w.max_reasons for w in _VERSIONS.values()))]
    activity: Annotated[str, _text(_P["activity"])]
    zone: Annotated[str, _text(_P["zone"])] | None
    lift: bool
    view: View
    metrics: Metrics
    skeleton: msgspec.Raw
    trace: Trace
    model: Model
    software_version: Annotated[str, _text(_P["software_version"])]
    simulated: bool


def _fields(struct: type[Any]) -> set[str]:  # Any: mypy sees Metrics as the dataclass
    return set(struct.__struct_fields__)


def _without_words(node: Any) -> Any:
    """A schema with what may differ between versions taken out: ids, descriptions, the
    `schema` const, the enums of `_ENUMS` and the number of reasons."""
    if isinstance(node, list):
        return [_without_words(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _without_words(v) for k, v in node.items()
           if k not in ("$id", "description", "$comment")}
    props = out.get("properties", {})
    if "schema" in props and "posture" in props:  # the top level
        props["schema"] = None
        for path in _ENUMS.values():
            inner = props
            for key in path[:-1]:
                inner = inner[key]
            inner[path[-1]] = {k: v for k, v in inner[path[-1]].items() if k != "enum"}
        props["reasons"] = {k: v for k, v in props["reasons"].items() if k != "maxItems"}
    return out


# The fast path runs only while the schemas are the ones these types were written from.
FAST = (
    all(_without_words(schema(sid)) == _without_words(_S) for sid in SCHEMA_PATHS)
    and all(schema(sid)["properties"]["schema"] == {"const": sid} for sid in SCHEMA_PATHS)
    and _fields(Event) == set(_P) == set(_S["required"])
    and _fields(Metrics) == set(_M) == set(_P["metrics"]["required"])
    and _fields(Trace) == set(_T) == set(_P["trace"]["required"])
    and _fields(Model) == set(_P["model"]["properties"]) == set(_P["model"]["required"])
    and all(node.get("additionalProperties") is False
            for node in (_S, _P["metrics"], _P["trace"], _P["model"]))
    and _P["reasons"].get("uniqueItems") is True
    and _P["skeleton"] == {"description": _P["skeleton"].get("description"),
                           "$ref": "#/$defs/skeleton"}
    and _SKELETON["minItems"] == _SKELETON["maxItems"]
    and _POINT["minItems"] == _POINT["maxItems"]
)

_DECODER = msgspec.json.Decoder(Event)
_COORDS = msgspec.json.Decoder(list[Annotated[float, _number(_COORD)]])
# Every character a JSON number can be made of, and JSON's whitespace.
_NUMBER_CHARS = b"0123456789.eE+-" + b" \t\n\r"
_BRACKETS = b"[]" + b" \t\n\r"
_ONE_SKELETON = (
    b"[" + b",".join([b"[" + b"," * (_POINT["maxItems"] - 1) + b"]"] * _SKELETON["maxItems"])
    + b"]"
)
# The shape of a trace of n skeletons -> n, for every n the schema allows.
_TRACE_SHAPES = {
    b"[" + b",".join([_ONE_SKELETON] * n) + b"]": n for n in range(_T["frames"]["maxItems"] + 1)
}


def _landmarks(skeleton: bytes, frames: bytes) -> np.ndarray:
    """Every landmark value, skeleton first then each trace frame, as float64."""
    if skeleton.translate(None, _NUMBER_CHARS) != _ONE_SKELETON:
        raise EventError("skeleton: expected 33 landmarks, each [x, y, visibility] numbers")
    n_frames = _TRACE_SHAPES.get(frames.translate(None, _NUMBER_CHARS))
    if n_frames is None:
        raise EventError(
            f"trace/frames: expected at most {_T['frames']['maxItems']} skeletons of 33 "
            "landmarks, each [x, y, visibility] numbers"
        )
    flat = skeleton.translate(None, _BRACKETS)
    if n_frames:
        flat += b"," + frames.translate(None, _BRACKETS)
    try:
        values = _COORDS.decode(b"[" + flat + b"]")
    except msgspec.DecodeError as exc:
        raise EventError(f"skeleton/trace: {exc}") from exc
    # struct packs a list of floats ~2.5x faster than array("d", ...) or numpy from a list.
    return np.frombuffer(_doubles(len(values)).pack(*values), dtype=np.float64)


@lru_cache(maxsize=64)
def _doubles(n: int) -> struct.Struct:
    return struct.Struct(f"={n}d")


# duration_s is ended_at - started_at, each rounded to the ms, and itself to the ms.
DURATION_SLACK_S = 0.01


def _times_agree(started_at: str, ended_at: str, duration_s: float) -> None:
    try:
        # Both match the fixed-width pattern already; this refuses month 13 and the like.
        span_s = (datetime.fromisoformat(ended_at)
                  - datetime.fromisoformat(started_at)).total_seconds()
    except ValueError as exc:
        raise EventError(f"started_at/ended_at: not a real time: {exc}") from exc
    if span_s < 0:
        raise EventError("ended_at is before started_at")
    if abs(span_s - duration_s) > DURATION_SLACK_S:
        raise EventError(f"duration_s: {duration_s} s, but ended_at - started_at is "
                         f"{span_s:.3f} s")


def _why_not(payload: bytes, error: msgspec.ValidationError) -> EventError:
    """The precise rejection for a payload the typed decoder refused."""
    try:
        data = msgspec.json.decode(payload)
    except msgspec.DecodeError as exc:
        return NotJsonError(str(exc))
    if not isinstance(data, dict):
        return NotObjectError(f"expected a JSON object, got a JSON {type(data).__name__}")
    if not _known(data.get("schema")):
        return _unknown(data.get("schema"))
    return EventError(str(error))


def _known(schema_id: Any) -> bool:
    # Any JSON value may sit there; a list or an object is not hashable.
    return isinstance(schema_id, str) and schema_id in _VERSIONS


def _unknown(value: Any) -> UnknownSchemaError:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return UnknownSchemaError(f"unknown schema {shown}; this dashboard reads "
                              f"{', '.join(SCHEMA_PATHS)}")


def _says_only_its_words(event: Event) -> None:
    """Refuse what the event's own version does not allow (e.g. `unsure` in a `/1` event)."""
    words = _VERSIONS[event.schema]
    for name, value in (("posture", event.posture), ("view", event.view)):
        allowed: frozenset[str] = getattr(words, name)
        if value not in allowed:
            raise EventError(f"{name}: {value!r} is not one of {sorted(allowed)} in "
                             f"{event.schema}")
    for i, reason in enumerate(event.reasons):
        if reason not in words.reasons:
            raise EventError(f"reasons/{i}: {reason!r} is not one of {sorted(words.reasons)} "
                             f"in {event.schema}")
    if len(event.reasons) > words.max_reasons:
        raise EventError(f"reasons: expected at most {words.max_reasons} items in "
                         f"{event.schema}, got {len(event.reasons)}")


def decode_event(payload: bytes) -> tuple[Event, np.ndarray]:
    """Decode and check one message; raises `NotJsonError`, `NotObjectError`,
    `UnknownSchemaError` or (any other mismatch) `EventError`. Returns the event and all its
    landmark values (skeleton then trace frames, 33 x 3 each) as one float64 array."""
    if not FAST:
        return _decode_slowly(payload)
    try:
        event = _DECODER.decode(payload)
    except msgspec.ValidationError as exc:
        raise _why_not(payload, exc) from None
    except msgspec.DecodeError as exc:
        raise NotJsonError(str(exc)) from None
    if event.schema not in _VERSIONS:
        raise _unknown(event.schema)
    _says_only_its_words(event)
    if len(set(event.reasons)) != len(event.reasons):
        raise EventError("reasons: has non-unique elements")
    _times_agree(event.started_at, event.ended_at, event.duration_s)
    return event, _landmarks(bytes(event.skeleton), bytes(event.trace.frames))


def _decode_slowly(payload: bytes) -> tuple[Event, np.ndarray]:
    """The schema has changed under us: jsonschema decides, then the known fields are read."""
    try:
        data = msgspec.json.decode(payload)
    except msgspec.DecodeError as exc:
        raise NotJsonError(str(exc)) from None
    if not isinstance(data, dict):
        raise NotObjectError(f"expected a JSON object, got a JSON {type(data).__name__}")
    if not _known(data.get("schema")):
        raise _unknown(data.get("schema"))
    try:
        validate_with_jsonschema(data)
    except ValueError as exc:
        raise EventError(str(exc)) from None
    known = {k: data[k] for k in Event.__struct_fields__ if k in data}
    try:
        event = _DECODER.decode(msgspec.json.encode(known))
    except msgspec.DecodeError as exc:
        raise EventError(f"valid, but not readable by this dashboard: {exc}") from None
    _times_agree(event.started_at, event.ended_at, event.duration_s)
    values = np.asarray([data["skeleton"], *data["trace"]["frames"]], dtype=np.float64)
    return event, values.ravel()
