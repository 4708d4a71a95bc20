"""The reviewed-events export's contract (`hingewatch.review/1`, JSON Lines): what the
dashboard writes (`hingewatch dashboard export-reviews OUT`) and `hingewatch eval
--reviews FILE` reads, so that a household or an ergonomist measures the device on their
own bends. One line per reviewed bend: the device's verdict and readings, the skeleton at
the deepest moment and the trace (landmarks only, never a pixel), and the reviewer's label.

Read with `read_reviews`: every line is checked (a file from elsewhere is hostile until
then); a bad one stops the read with `FILE:LINE: field: why`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.errors import HingewatchError
from edge.events import POSTURES

REVIEW_SCHEMA_ID = "hingewatch.review/1"
LABELS: tuple[str, ...] = ("hinge", "round", "squat", "not_a_bend")
# The readings each line carries (the bend event's metrics, by the same names).
READINGS: tuple[str, ...] = ("peak_trunk_inclination_deg", "peak_hip_flexion_deg",
                             "peak_knee_flexion_deg", "peak_hip_shift_norm", "back_bulge_norm")
N_LANDMARKS = 33
MAX_LINE_BYTES = 256 * 1024
MAX_FRAMES = 64


class ReviewFileError(HingewatchError):
    """A reviews file that is not one; the message names the file and the line."""


@dataclass(frozen=True)
class ReviewedBend:
    event_id: str
    device_id: str
    started_at: str
    label: str                      # the reviewer's
    posture: str                    # the device's verdict
    confidence: float
    reasons: tuple[str, ...]
    view: str
    readings: dict[str, float | None]


def _need(ok: bool, where: str, why: str) -> None:
    if not ok:
        raise ValueError(f"{where}: {why}")


def _points(value: Any, where: str) -> None:
    _need(isinstance(value, list) and len(value) == N_LANDMARKS, where,
          f"expected {N_LANDMARKS} landmarks")
    for p in value:
        _need(isinstance(p, list) and len(p) == 3
              and all(isinstance(c, int | float) and math.isfinite(c) for c in p),
              where, "a landmark is [x, y, visibility], finite numbers")


def check_review(data: Any) -> ReviewedBend:
    """The checked line, or ValueError saying which field is wrong."""
    _need(isinstance(data, dict), "(top)", "expected a JSON object")
    _need(data.get("schema") == REVIEW_SCHEMA_ID, "schema", f"expected {REVIEW_SCHEMA_ID}")
    for key in ("event_id", "device_id", "started_at", "view", "reviewer"):
        _need(isinstance(data.get(key), str) and 0 < len(data[key]) <= 128, key,
              "expected a short string")
    _need(data.get("label") in LABELS, "label", f"expected one of {', '.join(LABELS)}")
    _need(data.get("posture") in POSTURES, "posture", f"expected one of {', '.join(POSTURES)}")
    conf = data.get("confidence")
    _need(isinstance(conf, int | float) and 0 <= conf <= 1, "confidence", "expected 0-1")
    reasons = data.get("reasons")
    _need(isinstance(reasons, list) and all(isinstance(r, str) for r in reasons), "reasons",
          "expected a list of strings")
    readings = data.get("readings")
    _need(isinstance(readings, dict) and set(readings) == set(READINGS), "readings",
          f"expected exactly {', '.join(READINGS)}")
    for key in READINGS:
        v = readings[key]
        if key == "back_bulge_norm" and v is None:
            continue  # the back line was not read
        _need(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v),
              f"readings/{key}", "expected a finite number")
    trace = data.get("trace")
    _need(isinstance(trace, dict) and set(trace) == {"rate_hz", "skeleton", "frames"}, "trace",
          "expected rate_hz, skeleton and frames")
    _need(isinstance(trace["rate_hz"], int | float) and 0 < trace["rate_hz"] <= 120,
          "trace/rate_hz", "expected 0-120")
    _points(trace["skeleton"], "trace/skeleton")
    _need(isinstance(trace["frames"], list) and len(trace["frames"]) <= MAX_FRAMES,
          "trace/frames", f"expected at most {MAX_FRAMES} frames")
    for i, frame in enumerate(trace["frames"]):
        _points(frame, f"trace/frames/{i}")
    return ReviewedBend(data["event_id"], data["device_id"], data["started_at"], data["label"],
                        data["posture"], float(conf), tuple(reasons), data["view"],
                        {k: (None if readings[k] is None else float(readings[k]))
                         for k in READINGS})


def read_reviews(path: Path) -> Iterator[ReviewedBend]:
    """Every reviewed bend in the file, checked; ReviewFileError on the first bad line."""
    if not path.is_file():
        raise ReviewFileError(f"{path}: no such file")
    with path.open("rb") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            if len(line) > MAX_LINE_BYTES:
                raise ReviewFileError(f"{path}:{n}: longer than {MAX_LINE_BYTES // 1024} KiB")
            try:
                yield check_review(json.loads(line))
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
                raise ReviewFileError(f"{path}:{n}: not JSON: {str(exc)[:80]}") from None
            except ValueError as exc:
                raise ReviewFileError(f"{path}:{n}: {exc}") from None
