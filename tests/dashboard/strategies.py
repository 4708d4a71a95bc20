"""Hypothesis strategies: JSON values, and events broken in ways that must be refused."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

from edge.events import POSTURES, SCHEMA_ID, SCHEMA_PATHS, UNSURE_REASONS, schema
from tests.dashboard.factory import make_event, now_utc

json_scalars = (
    st.none() | st.booleans() | st.integers(-10**6, 10**6)
    | st.floats(allow_nan=False, allow_infinity=False, width=32) | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)


def base_event(frames: int = 2, schema_id: str = SCHEMA_ID) -> dict[str, Any]:
    """A valid event of version `schema_id` as a dict, with a short trace so jsonschema
    checks it quickly."""
    event = json.loads(make_event("hinge", now_utc(), frames=frames).to_json())
    event["schema"] = schema_id  # a hinge without reasons says nothing only /2 allows
    return event


def allowed_reasons(schema_id: str) -> tuple[str, ...]:
    return tuple(schema(schema_id)["properties"]["reasons"]["items"]["enum"])


# Paths into an event where any value of another JSON type breaks it.
SCALAR_FIELDS = ("event_id", "device_id", "started_at", "ended_at", "duration_s", "posture",
                 "confidence", "activity", "lift", "view", "software_version", "simulated")
NUMBER_FIELDS = {"duration_s": (0, 3600), "confidence": (0, 1)}
# Strings each field's pattern refuses.
BAD_TEXT = {
    "event_id": ("", "ILOU" * 7, "8" + "0" * 25, "01m866j6ppf1n0fb9sv845wy6y", "0" * 27),
    "device_id": ("", "a b", "x" * 65, "ÄÖ", "kitchen/2"),
    "activity": ("", "Dish", "a b", "x" * 33),
    "started_at": ("2026-13-01T00:00:00.000Z", "2026-11-24 10:00:00.000Z",
                   "2026-11-24T10:00:00Z", "2026-02-30T10:00:00.000Z"),
    "ended_at": ("2026-11-24T25:00:00.000Z", "yesterday"),
}
METRICS = ("peak_trunk_inclination_deg", "peak_hip_flexion_deg", "peak_knee_flexion_deg",
           "peak_hip_shift_norm", "back_bulge_norm", "time_beyond_60_deg_s")


@st.composite
def broken_events(draw: st.DrawFn, frames: int = 2) -> dict[str, Any]:
    """A valid event of any version the dashboard reads, with exactly one thing made wrong;
    every result must be refused."""
    schema_id = draw(st.sampled_from(sorted(SCHEMA_PATHS)))
    e = base_event(frames, schema_id) if frames != 2 else copy.deepcopy(_BASES[schema_id])
    kinds = ["drop", "extra", "schema", "type", "range", "metric", "coord", "point", "frame",
             "reasons", "order", "enum", "pattern", "nested_extra", "trace_frames"]
    if schema_id == "hingewatch.bend/1":
        kinds.append("newer_words")
    kind = draw(st.sampled_from(kinds))
    if kind == "drop":
        del e[draw(st.sampled_from(sorted(e)))]
    elif kind == "extra":
        e[draw(st.text(min_size=1, max_size=10).filter(lambda k: k not in e))] = draw(json_values)
    elif kind == "schema":
        e["schema"] = draw(json_values.filter(
            lambda v: not isinstance(v, str) or v not in SCHEMA_PATHS))
    elif kind == "type":
        name = draw(st.sampled_from(SCALAR_FIELDS))
        e[name] = draw(json_values.filter(lambda v: not _fits(name, v)))
    elif kind == "range":
        name, (lo, hi) = draw(st.sampled_from(sorted(NUMBER_FIELDS.items())))
        e[name] = draw(st.floats(max_value=lo, exclude_max=True, allow_nan=False,
                                 allow_infinity=False)
                       | st.floats(min_value=hi, exclude_min=True, allow_nan=False,
                                   allow_infinity=False))
    elif kind == "metric":
        name = draw(st.sampled_from(METRICS))
        bad: st.SearchStrategy[Any] = (st.text(max_size=5) | st.booleans()
                                       | st.lists(st.integers(), max_size=2))
        if name != "back_bulge_norm":
            bad = bad | st.none()
        # Above every metric's maximum (time_beyond_60_deg_s may be up to 3600).
        e["metrics"][name] = draw(bad | st.floats(min_value=3600, exclude_min=True,
                                                  allow_nan=False, allow_infinity=False))
    elif kind == "coord":
        frame = e["skeleton"] if draw(st.booleans()) else e["trace"]["frames"][0]
        point = frame[draw(st.integers(0, 32))]
        point[draw(st.integers(0, 2))] = draw(
            st.text(max_size=3) | st.none() | st.booleans() | st.lists(st.integers(), max_size=1)
            | st.floats(min_value=3.0001, allow_nan=False, allow_infinity=False)
            | st.floats(max_value=-2.0001, allow_nan=False, allow_infinity=False)
        )
    elif kind == "point":
        frame = e["skeleton"] if draw(st.booleans()) else e["trace"]["frames"][-1]
        i = draw(st.integers(0, 32))
        frame[i] = draw(st.lists(st.floats(0, 1), max_size=5).filter(lambda p: len(p) != 3)
                        | st.dictionaries(st.text(max_size=2), st.floats(0, 1), max_size=3)
                        | st.floats(0, 1) | st.none())
    elif kind == "frame":
        frame = e["skeleton"] if draw(st.booleans()) else e["trace"]["frames"][0]
        if draw(st.booleans()):
            frame.pop(draw(st.integers(0, 32)))
        else:
            frame.append([0.5, 0.5, 0.9])
    elif kind == "reasons":
        e["reasons"] = draw(
            st.just(["head_drop", "head_drop"]) | st.lists(st.text(max_size=6), min_size=1,
                                                          max_size=3)
            | st.just(["lumbar_rounding"] * 6) | json_scalars.filter(lambda v: True)
        )
        if isinstance(e["reasons"], list) and all(
            r in allowed_reasons(schema_id) for r in e["reasons"]
        ) and len(set(e["reasons"])) == len(e["reasons"]):
            e["reasons"] = ["head_drop", "head_drop"]
    elif kind == "newer_words":
        # What only a later version allows: `unsure`, its reasons, more reasons than 5.
        change = draw(st.sampled_from(("posture", "reason", "many")))
        if change == "posture":
            e["posture"] = "unsure"
        elif change == "reason":
            e["reasons"] = [draw(st.sampled_from(UNSURE_REASONS))]
        else:
            e["reasons"] = [*allowed_reasons(schema_id), draw(st.sampled_from(UNSURE_REASONS))]
    elif kind == "order":
        e["started_at"], e["ended_at"] = "2026-11-24T10:00:05.000Z", "2026-11-24T10:00:04.999Z"
    elif kind == "enum":
        name = draw(st.sampled_from(("posture", "view")))
        e[name] = draw(st.sampled_from(("Hinge", "stand", "", "side ", "back")))
    elif kind == "pattern":
        name = draw(st.sampled_from(sorted(BAD_TEXT)))
        e[name] = draw(st.sampled_from(BAD_TEXT[name]))
    elif kind == "nested_extra":
        e[draw(st.sampled_from(("metrics", "trace", "model")))]["extra"] = 1
    elif kind == "trace_frames":
        e["trace"]["frames"] = draw(st.just([e["skeleton"]] * 31) | json_scalars
                                    | st.just([[]]))
    return e


def _fits(name: str, value: Any) -> bool:
    """Could `value` still be valid for `name`? (then it is no breakage; draw again)"""
    if name in ("lift", "simulated"):
        return isinstance(value, bool)
    if name in NUMBER_FIELDS:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name in ("posture", "view"):
        return value in (*POSTURES, "side", "oblique", "front")
    # The rest are strings: any string may match its field's pattern (a drawn "a" is a valid
    # activity), so a wrong type is a non-string; wrong text is the `pattern` breakage's.
    return isinstance(value, str)


_BASES = {sid: base_event(2, sid) for sid in SCHEMA_PATHS}
_BASE = _BASES[SCHEMA_ID]
