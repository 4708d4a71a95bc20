"""A per-device adjustment of the classifier's cut-offs, learnt from a household's reviews
(issue 13 item 4b): the back line's flat and round cut-offs (classifier BULGE_FLAT,
BULGE_ROUND) and the squat/hinge boundary (SQUAT_MIN_KNEE_DEG). The contract between the
dashboard, which proposes it and publishes an accepted one retained on
`hingewatch/<device>/adjust` (`hingewatch.adjust/1`; an empty retained payload means the
defaults), and the device, which applies it to its own verdicts only.

Bounded on purpose: the reviews of one household may push a cut-off, but never past what
a back or a knee can mean. A bulge of 1.5 % of the trunk's length is within the noise of a
straight back's outline and 6.5 % is plainly rounded, so a flat cut-off stays in
0.015–0.035 and a round one in 0.035–0.065, with at least 0.01 between them (a "between"
band always remains, so a rounded back is never called a hinge by a nudge). A squat bends
the knees well past a soft-knee hinge (15–50°), so its boundary stays in 45–75°. The
defaults are the classifier's own (defined here, read there), so the fixtures and the
synthetic metrics, measured with the defaults, cannot fall by anything adjusted here.

`reread` is what an adjustment means for a bend already recorded: its verdict again from
its recorded peak readings, with the cut-offs moved. Only the decisions these cut-offs
make are re-read; everything else (an upper-back hump, a bend from the waist, an unread
back) keeps the device's verdict.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from edge.events import decode_json

ADJUST_SCHEMA_ID = "hingewatch.adjust/1"
MAX_ADJUST_BYTES = 1024

# The classifier's defaults, defined here once (edge.analysis.classifier explains them).
BULGE_FLAT = 0.025
BULGE_ROUND = 0.045
SQUAT_MIN_KNEE_DEG = 60.0
# The squat rule's trunk limit: a bend leaning further than this is no squat whatever the
# knees do (classifier SQUAT_LEAN_MAX_TRUNK_DEG).
SQUAT_LEAN_MAX_TRUNK_DEG = 55.0

# The biomechanically sane ranges (see above).
BULGE_FLAT_RANGE = (0.015, 0.035)
BULGE_ROUND_RANGE = (0.035, 0.065)
MIN_BAND = 0.01
SQUAT_MIN_KNEE_RANGE = (45.0, 75.0)

# A proposal needs this many reviews of hinges, rounded backs and squats on the device,
# with at least MIN_PER_CLASS of each: fewer would fit the cut-offs to a handful of bends.
MIN_REVIEWS = 20
MIN_PER_CLASS = 5
CLASSES = ("hinge", "round", "squat")
# Reasons that are not the back line's lower cut-offs: such a rounded verdict stays.
KEPT_ROUND = frozenset(("upper_back_rounding", "waist_bend"))


class AdjustmentError(ValueError):
    """Not an adjustment, or one outside the sane ranges; the message says which field."""


@dataclass(frozen=True)
class Adjustment:
    bulge_flat: float = BULGE_FLAT
    bulge_round: float = BULGE_ROUND
    squat_min_knee_deg: float = SQUAT_MIN_KNEE_DEG

    def __post_init__(self) -> None:
        for name, (lo, hi) in (("bulge_flat", BULGE_FLAT_RANGE),
                               ("bulge_round", BULGE_ROUND_RANGE),
                               ("squat_min_knee_deg", SQUAT_MIN_KNEE_RANGE)):
            value = getattr(self, name)
            if (not isinstance(value, int | float) or isinstance(value, bool)
                    or not math.isfinite(value) or not lo - 1e-9 <= value <= hi + 1e-9):
                raise AdjustmentError(f"{name}: expected {lo}-{hi}, got {value!r}")
        if self.bulge_round - self.bulge_flat < MIN_BAND - 1e-9:
            raise AdjustmentError(f"bulge_round: at least {MIN_BAND} above bulge_flat "
                                  f"({self.bulge_flat}), got {self.bulge_round}")

    @property
    def is_default(self) -> bool:
        return self == Adjustment()

    def to_json(self, device_id: str) -> str:
        return json.dumps({"schema": ADJUST_SCHEMA_ID, "device_id": device_id,
                           **asdict(self)}, separators=(",", ":"))


def parse_adjustment(payload: bytes) -> Adjustment:
    """A received adjustment (an empty payload: the defaults), checked."""
    if not payload:
        return Adjustment()
    if len(payload) > MAX_ADJUST_BYTES:
        raise AdjustmentError(f"larger than {MAX_ADJUST_BYTES} bytes")
    data = decode_json(payload, AdjustmentError)
    if not isinstance(data, dict) or data.get("schema") != ADJUST_SCHEMA_ID:
        raise AdjustmentError(f"expected a {ADJUST_SCHEMA_ID} object")
    fields = {"bulge_flat", "bulge_round", "squat_min_knee_deg"}
    extra = set(data) - fields - {"schema", "device_id"}
    if extra or not fields <= set(data):
        raise AdjustmentError(f"expected the keys schema, device_id, {', '.join(sorted(fields))}")
    return Adjustment(**{k: data[k] for k in fields})


def reread(posture: str, reasons: tuple[str, ...], readings: Mapping[str, float | None],
           adj: Adjustment) -> str:
    """The verdict of a recorded bend under `adj`, from its peak readings (the bend event's
    metric names): the classifier's order — a rounded lower back, then a squat, then a
    flat back — with the cut-offs moved."""
    if posture == "round" and KEPT_ROUND & set(reasons):
        return posture
    bulge = readings.get("back_bulge_norm")
    knee = readings.get("peak_knee_flexion_deg")
    trunk = readings.get("peak_trunk_inclination_deg")
    if bulge is not None and bulge >= adj.bulge_round:
        return "round"
    if knee is not None and posture == "squat":
        if knee >= adj.squat_min_knee_deg:
            return "squat"
    elif (knee is not None and trunk is not None and adj.squat_min_knee_deg <= knee
          < SQUAT_MIN_KNEE_DEG and trunk <= SQUAT_LEAN_MAX_TRUNK_DEG):
        return "squat"  # under a lowered boundary: a knee-led bend with the chest up
    if bulge is None:
        return "unsure" if posture == "squat" else posture
    if posture == "unsure" and bulge <= BULGE_FLAT:
        return posture  # flat already, yet unsure: the upper back or the distance said so
    return "hinge" if bulge <= adj.bulge_flat else "unsure"
