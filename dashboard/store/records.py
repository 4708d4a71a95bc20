"""Plain values read from the store and handed to pages and the API."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import msgspec

from dashboard.store.sql import EVENT_COLUMNS
from edge.state import StateError, StatePayload, parse_state


@dataclass(frozen=True)
class Review:
    label: str
    note: str
    reviewer: str
    reviewed_at: str


@dataclass(frozen=True)
class EventRecord:
    """One stored bend: the device's verdict as sent, and the review if there is one."""

    event_id: str
    device_id: str
    started_at: str
    ended_at: str
    day: str
    duration_s: float
    posture: str
    confidence: float
    reasons: tuple[str, ...]
    activity: str
    zone: str | None
    lift: bool
    view: str
    peak_trunk_inclination_deg: float
    peak_hip_flexion_deg: float
    peak_knee_flexion_deg: float
    peak_hip_shift_norm: float
    back_bulge_norm: float | None
    time_beyond_60_deg_s: float
    reba_trunk: int
    model_name: str
    model_variant: str
    software_version: str
    simulated: bool
    received_at: str
    review: Review | None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> EventRecord:
        values = dict(zip(EVENT_COLUMNS, row[: len(EVENT_COLUMNS)], strict=True))
        values["reasons"] = tuple(values["reasons"].split())
        values["lift"] = bool(values["lift"])
        values["simulated"] = bool(values["simulated"])
        label, note, reviewer, reviewed_at = row[len(EVENT_COLUMNS):]
        review = None if label is None else Review(label, note, reviewer, reviewed_at)
        return cls(**values, review=review)

    @property
    def effective_posture(self) -> str:
        """What the charts count: the reviewer's label when there is one."""
        return self.review.label if self.review else self.posture


@dataclass(frozen=True)
class Device:
    device_id: str
    status: str | None
    status_at: str | None
    state: StatePayload | None
    state_at: str | None
    last_message_at: str | None
    last_event_at: str | None
    events_total: int
    software_version: str | None
    model: str | None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Device:
        return cls(row[0], row[1], row[2], state_or_none(row[3]), row[4], row[5], row[6],
                   row[7], row[8], row[9])

    @property
    def online(self) -> bool:
        return self.status == "online"


@dataclass(frozen=True)
class RejectCount:
    reason: str
    count: int
    last_at: str
    last_topic: str
    last_detail: str


@dataclass(frozen=True)
class IngestCounts:
    """What ingest has done since the store was made (kept across restarts)."""

    by_kind: dict[str, int]
    last_at: dict[str, str]
    rejects: tuple[RejectCount, ...]

    @property
    def rejected_total(self) -> int:
        return sum(r.count for r in self.rejects)

    @property
    def ingested_total(self) -> int:
        return sum(self.by_kind.values())


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def can_review(self) -> bool:
        return self.role == "reviewer"


@dataclass(frozen=True)
class DayRow:
    """One `daily` sum: a day, an activity and an effective posture, all devices or one."""

    day: str
    activity: str
    posture: str
    n: int
    n_simulated: int
    duration_s: float
    deep_s: float
    reba: tuple[int, int, int, int]


def state_or_none(state_json: str | None) -> StatePayload | None:
    """A stored state, if it is a valid one; anything else (stored before states were
    checked on arrival) reads as no state, so it can never break a page."""
    state = _checked_state(state_json) if state_json else None
    return None if state is None else state.copy()  # a copy: the cached one stays as read


@lru_cache(maxsize=256)
def _checked_state(state_json: str) -> StatePayload | None:
    try:
        return parse_state(msgspec.json.decode(state_json))
    except (msgspec.DecodeError, StateError):
        return None
