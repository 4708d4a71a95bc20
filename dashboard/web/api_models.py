"""The JSON API's shapes (pydantic, for the OpenAPI document); the pages never see these."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from edge.events import BendMetrics, Posture

Label = Literal["hinge", "round", "squat", "not_a_bend"]
# The device's verdicts, from the edge's one vocabulary: `unsure` (hingewatch.bend/2) is a
# bend whose back could not be seen.
PostureName = Posture
EffectivePosture = Posture | Label


class ErrorOut(BaseModel):
    detail: str


class ReviewOut(BaseModel):
    label: Label
    note: str
    reviewer: str
    reviewed_at: str = Field(description="UTC, ISO 8601 with milliseconds")


class ModelOut(BaseModel):
    name: str
    variant: str


class EventOut(BaseModel):
    event_id: str
    device_id: str
    started_at: str
    ended_at: str
    day: str = Field(description="the local date the bend started on")
    duration_s: float
    posture: PostureName = Field(
        description="the device's verdict, never changed; unsure: the back could not be seen "
                    "(the reasons say why: front_view, back_hidden, back_unclear)")
    effective_posture: EffectivePosture = Field(
        description="the review label if reviewed, else posture")
    confidence: float
    reasons: list[str]
    activity: str
    zone: str | None
    lift: bool
    view: str
    metrics: BendMetrics = Field(description="the event's own metrics (edge.events.BendMetrics)")
    reba_trunk_score: int = Field(ge=1, le=4)
    model: ModelOut
    software_version: str
    simulated: bool
    received_at: str
    review: ReviewOut | None


class TraceOut(BaseModel):
    rate_hz: float
    frames: list[list[list[float]]]


class EventDetailOut(EventOut):
    skeleton: list[list[float]] = Field(description="33 x [x, y, visibility]")
    trace: TraceOut


class EventPageOut(BaseModel):
    total: int
    limit: int
    offset: int
    next_offset: int | None
    events: list[EventOut]


class CountsOut(BaseModel):
    hinge: int
    round: int
    squat: int
    unsure: int = Field(description="bends whose back could not be seen: counted in bends, "
                                    "never in hinge_share")
    not_a_bend: int
    bends: int = Field(description="hinge + round + squat + unsure")
    hinge_share: float | None = Field(
        description="hinges / (hinges + rounded backs); squats and unsure bends count neither "
                    "way; null without either")


class DayOut(CountsOut):
    day: str
    deep_s: float = Field(description="seconds with the trunk beyond 60 degrees")
    bent_s: float
    simulated: int


class ActivityOut(CountsOut):
    activity: str


class TrendOut(BaseModel):
    week: str
    bends: int
    hinge_share: float | None


class StreakOut(BaseModel):
    days: int
    first: str | None
    last: str | None


class CameraCheckOut(BaseModel):
    device_id: str
    why: str = Field(description="the unsure reason: front_view, back_hidden or back_unclear")
    n: int = Field(description="the device's bends that week left unsure for it")
    bends: int = Field(description="the device's bends that week")


class SummaryOut(BaseModel):
    week: str
    first_day: str
    last_day: str
    device_id: str | None
    goal: float
    totals: CountsOut
    per_posture: dict[str, int] = Field(
        description="hinge, round, squat, unsure and not_a_bend (a reviewer's label)")
    hinge_share: float | None
    deep_s: float
    simulated: int
    reba_trunk: dict[str, int] = Field(description="bends per REBA trunk score 1-4")
    per_day: list[DayOut]
    per_activity: list[ActivityOut]
    trend: list[TrendOut]
    best_streak: StreakOut
    current_streak: StreakOut
    camera_checks: list[CameraCheckOut] = Field(
        description="devices whose bends went unread for one reason often enough (a quarter "
                    "of at least 10) that the camera's placement should change")


class IngestOut(BaseModel):
    broker: str
    connected: bool
    since: str | None
    last_error: str | None
    store_error: str | None = Field(
        description="why the database cannot be written now (ingest retries); null when it can")
    received: int
    written: int


class RejectOut(BaseModel):
    reason: str
    meaning: str
    count: int
    last_at: str
    last_topic: str
    last_detail: str


class DeviceSeenOut(BaseModel):
    device_id: str
    status: str | None
    last_message_at: str | None
    last_event_at: str | None
    events_total: int
    software_version: str | None
    model: str | None
    outbox_dead: int | None = Field(
        description="events the device set aside (the broker refused them), from its last "
                    "state; null when it has sent no state")


class HouseholdOut(BaseModel):
    household: str
    devices: int
    events: int
    last_event_at: str | None


class HealthOut(BaseModel):
    ingest: IngestOut | None = Field(description="null when this process runs no ingest")
    ingested: dict[str, int] = Field(
        description="event_stored, event_duplicate, status, state: the whole store's, over "
                    "every household; empty for an account that does not see them all")
    households: list[HouseholdOut] = Field(
        description="the account's households: their devices and events")
    rejected_total: int
    rejected: dict[str, int]
    rejects: list[RejectOut]
    devices: list[DeviceSeenOut]
    events_total: int
    db_bytes: int


class ReviewIn(BaseModel):
    label: Label
    note: str = Field(default="", max_length=2000)


class ReviewResultOut(ReviewOut):
    event_id: str
    original_posture: PostureName
