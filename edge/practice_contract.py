"""The practice side's contracts: what a practice summary (`hingewatch/<device>/practice`,
`hingewatch.practice/1`) and a live frame (`hingewatch/<device>/live`, `hingewatch.live/1`)
are, and the check of each. Schemas and validation only: the edge builds the payloads
(edge.practice.summary, edge.delivery.live), the dashboard reads them, and takes nothing
else of the practice side but this module (tests/dashboard/test_layout.py)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from edge.events import check_schema, decode_json, parse_utc_ms

_SCHEMAS = Path(__file__).with_name("schemas")
PRACTICE_SCHEMA_ID = "hingewatch.practice/1"
PRACTICE_SCHEMA_PATH = _SCHEMAS / "practice-1.schema.json"
LIVE_SCHEMA_ID = "hingewatch.live/1"
LIVE_SCHEMA_PATH = _SCHEMAS / "live-1.schema.json"
# A session's summary lists at most 200 reps (~250 bytes each); a live frame is ~2 kB.
MAX_SUMMARY_BYTES = 128 * 1024
MAX_LIVE_BYTES = 32 * 1024


class PracticeError(ValueError):
    """A payload that is not a valid practice summary; the message says where."""


class LiveError(ValueError):
    """A payload that is not a valid live frame; the message says where."""


@cache
def drill_ids() -> tuple[str, ...]:
    """The drills a command or a summary may name, in the guide's order (the schema's)."""
    schema = json.loads(PRACTICE_SCHEMA_PATH.read_text())
    return tuple(schema["properties"]["drill"]["enum"])


def validate_summary(data: Any) -> None:
    """Raise PracticeError unless `data` is a valid `hingewatch.practice/1` summary."""
    check_schema(data, {PRACTICE_SCHEMA_ID: PRACTICE_SCHEMA_PATH}, PracticeError)
    if parse_utc_ms(data["ended_at"]) < parse_utc_ms(data["started_at"]):
        raise PracticeError("ended_at is before started_at")
    if data["good"] > data["reps"]:
        raise PracticeError("good: more good reps than reps")


def _decoded(payload: str | bytes, limit: int, error: type[ValueError]) -> Any:
    """A received payload as JSON, size first (anything a device sends is hostile)."""
    if len(payload) > limit:
        raise error(f"larger than {limit // 1024} KiB")
    try:
        return decode_json(payload, error)
    except RecursionError:
        raise error("not JSON: nested too deeply") from None


def parse_summary(text: str | bytes) -> dict[str, Any]:
    """A received summary, validated."""
    data = _decoded(text, MAX_SUMMARY_BYTES, PracticeError)
    validate_summary(data)
    return data


def validate_live(data: Any) -> None:
    """Raise LiveError unless `data` is a valid `hingewatch.live/1` frame."""
    check_schema(data, {LIVE_SCHEMA_ID: LIVE_SCHEMA_PATH}, LiveError)


def parse_live(payload: bytes) -> dict[str, Any]:
    """A received live frame, validated."""
    data = _decoded(payload, MAX_LIVE_BYTES, LiveError)
    validate_live(data)
    return data
