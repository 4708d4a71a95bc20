"""The practice session's summary: the value that crosses to the dashboard on
`hingewatch/<device>/practice` (QoS 1, not retained), with its versioned JSON Schema
`edge/schemas/practice-1.schema.json` (id `hingewatch.practice/1`), bumped the way the
bend event's is (edge/events.py): an optional new field keeps the version, anything else
makes the next.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from edge import __version__
from edge.practice.drills import PASS_MIN_REPS, REAL_TASKS, drill_named, next_drill, passed
from edge.practice.rep import FAULTS, Fault, Rep, cue_for
from edge.practice_contract import (  # noqa: F401 - the contract, re-exported here
    MAX_SUMMARY_BYTES,
    PRACTICE_SCHEMA_ID,
    PRACTICE_SCHEMA_PATH,
    PracticeError,
    parse_summary,
    validate_summary,
)
from edge.ulid import new_ulid

# A session longer than this many reps is summarised with its first ones only (the counts
# stay whole); it bounds the payload (~250 bytes a rep).
MAX_REPS_LISTED = 200
NO_REPS = "no reps seen: stand side-on, whole body in view, and hinge"


@dataclass(frozen=True)
class PracticeSummary:
    device_id: str
    drill: str
    started_at: str
    ended_at: str
    reps: tuple[Rep, ...]
    session_id: str = field(default_factory=new_ulid)
    software_version: str = __version__

    @property
    def good(self) -> int:
        return sum(r.good for r in self.reps)

    @property
    def good_share(self) -> float | None:
        return self.good / len(self.reps) if self.reps else None

    @property
    def passed(self) -> bool:
        return passed(len(self.reps), self.good)

    @property
    def next_drill(self) -> str | None:
        """The drill to move on to, once this one is done well."""
        if not self.passed:
            return None
        following = next_drill(drill_named(self.drill))
        return following.id if following is not None else None

    @property
    def fault_counts(self) -> dict[Fault, int]:
        counts = Counter(f for r in self.reps for f in r.faults)
        return {f: counts[f] for f in FAULTS if counts[f]}

    @property
    def practise_next(self) -> str:
        """What to practise next, in words: the next drill, more reps, or the cue for the
        fault seen most (ties go to the one cued first)."""
        drill = drill_named(self.drill)
        if not self.reps:
            return NO_REPS
        if self.passed:
            following = next_drill(drill)
            return f"move on to the {following.name.lower()}" if following else REAL_TASKS
        faults = self.fault_counts
        if not faults:
            return f"keep going: {PASS_MIN_REPS - len(self.reps)} more good reps to move on"
        worst = max(faults, key=lambda f: (faults[f], -FAULTS.index(f)))
        unsure = tuple(r for rep in self.reps if "back_unread" in rep.faults
                       for r in rep.reasons)
        return cue_for(drill, (worst,), _most_common(unsure))

    def to_dict(self) -> dict[str, Any]:
        share = self.good_share
        return {
            "schema": PRACTICE_SCHEMA_ID,
            "session_id": self.session_id,
            "device_id": self.device_id,
            "drill": self.drill,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "reps": len(self.reps),
            "good": self.good,
            "good_share": None if share is None else round(share, 4),
            "faults": self.fault_counts,
            "practise_next": self.practise_next,
            "passed": self.passed,
            "next_drill": self.next_drill,
            "rep_scores": [rep_record(r) for r in self.reps[:MAX_REPS_LISTED]],
            "software_version": self.software_version,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))


def _most_common(reasons: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(r for r, _ in Counter(reasons).most_common())


def _num(value: float | None, digits: int) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def rep_record(r: Rep) -> dict[str, Any]:
    """One rep as JSON (the summary's `rep_scores` item; the CLI's --json line)."""
    return {
        "index": r.index,
        "start_s": round(r.start_s, 3),
        "end_s": round(r.end_s, 3),
        "deepest_s": round(r.deepest_s, 3),
        "posture": r.posture,
        "confidence": round(r.confidence, 3),
        "reasons": list(r.reasons),
        "view": r.view,
        "trunk_deg": _num(r.trunk_deg, 1),
        "hip_shift_norm": _num(r.hip_shift_norm, 3),
        "knee_deg": _num(r.knee_deg, 1),
        "head_deg": _num(r.head_deg, 1),
        "back_status": r.back_status,
        "back_bulge_norm": _num(r.back_bulge_norm, 4),
        "good": r.good,
        "faults": list(r.faults),
        "cue": r.cue,
    }



