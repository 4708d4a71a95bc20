"""Plain values read from the store and handed to pages and the API; each is built from its
row by column name (the reader's rows: `sqlite3.Row`s, or PostgreSQL's alike)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import msgspec

from edge.events import BendMetrics
from edge.state import StateError, StatePayload, parse_state

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


class Row(Protocol):
    """A row read by column name (or position)."""

    def __getitem__(self, key: Any, /) -> Any: ...


# The `events` columns of the metrics: the event's own, by name (`BendMetrics`).
METRIC_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(BendMetrics))


@dataclass(frozen=True)
class Review:
    label: str
    note: str
    reviewer: str
    reviewed_at: str


REVIEW_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Review))


@dataclass(frozen=True)
class EventRecord:
    """One stored bend: the device's verdict as sent, and the review if there is one. Its
    fields, with `metrics` spread out, are the `events` table's columns (`EVENT_COLUMNS`)."""

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
    metrics: BendMetrics
    reba_trunk: int
    model_name: str
    model_variant: str
    software_version: str
    simulated: bool
    received_at: str
    review: Review | None

    @classmethod
    def from_row(cls, row: Row) -> EventRecord:
        values: dict[str, Any] = {c: row[c] for c in EVENT_COLUMNS if c not in METRIC_COLUMNS}
        values["reasons"] = tuple(values["reasons"].split())
        values["lift"] = bool(values["lift"])
        values["simulated"] = bool(values["simulated"])
        metrics = BendMetrics(**{c: row[c] for c in METRIC_COLUMNS})
        review = (None if row["label"] is None
                  else Review(**{c: row[c] for c in REVIEW_COLUMNS}))
        return cls(**values, metrics=metrics, review=review)

    @property
    def effective_posture(self) -> str:
        """What the charts count: the reviewer's label when there is one."""
        return self.review.label if self.review else self.posture


def _event_columns() -> tuple[str, ...]:
    out: list[str] = []
    for f in fields(EventRecord):
        if f.name == "metrics":
            out.extend(METRIC_COLUMNS)
        elif f.name != "review":
            out.append(f.name)
    return tuple(out)


# The `events` columns but `id`, in table order; a test holds them to the table.
EVENT_COLUMNS: tuple[str, ...] = _event_columns()


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
    def from_row(cls, row: Row) -> Device:
        values = {f.name: row[f.name] for f in fields(cls)}
        return cls(**{**values, "state": state_or_none(values["state"])})

    @property
    def online(self) -> bool:
        return self.status == "online"


@dataclass(frozen=True)
class RejectCount:
    """Messages refused for one reason (a key of `words.REJECT_WORDS`), and the last one."""

    reason: str
    count: int
    last_at: str
    last_topic: str
    last_detail: str


@dataclass(frozen=True)
class SetAside:
    """A message the store refused (`writer.set_aside`), kept as received."""

    topic: str
    payload: bytes
    reason: str
    set_aside_at: str


@dataclass(frozen=True)
class HouseholdTotal:
    """One household's devices and their events (Health)."""

    household: str
    devices: int
    events: int
    last_event_at: str | None


@dataclass(frozen=True)
class IngestCounts:
    """What ingest has done since the store was made (kept across restarts). `whole`: the
    counters by kind are the whole store's, over every household; an account that does not
    see every device gets none of them (`by_kind` empty), only its households' totals."""

    by_kind: dict[str, int]
    last_at: dict[str, str]
    rejects: tuple[RejectCount, ...]
    whole: bool = True

    @property
    def rejected_total(self) -> int:
        return sum(r.count for r in self.rejects)


@dataclass(frozen=True)
class User:
    """An account; a `reviewer` may relabel bends, a `viewer` only looks."""

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

    @classmethod
    def from_row(cls, row: Row) -> DayRow:
        return cls(row["day"], row["activity"], row["posture"], int(row["n"]),
                   int(row["n_simulated"]), float(row["duration_s"]), float(row["deep_s"]),
                   (int(row["reba1"]), int(row["reba2"]), int(row["reba3"]), int(row["reba4"])))


@dataclass(frozen=True)
class PracticeDay:
    """One local day's practice sessions (all devices or one): the Week page's row."""

    day: str
    sessions: int
    reps: int
    good: int
    practise_next: str          # of the day's last session

    @property
    def good_share(self) -> float | None:
        return self.good / self.reps if self.reps else None


@dataclass(frozen=True)
class AdjustmentRecord:
    """A device's accepted cut-off adjustment (`device_adjustments`)."""

    id: int
    device_id: str
    bulge_flat: float
    bulge_round: float
    squat_min_knee_deg: float
    agreement_before: float | None
    agreement_after: float | None
    reviews: int
    accepted_by: str
    accepted_at: str


def named(cls: type[R], row: Row) -> R:
    """A record whose fields are all columns of `row`, by name."""
    return cls(**{f.name: row[f.name] for f in fields(cls)})


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
