"""The JSON API, documented at /api/openapi.json. Same login as the pages (the session
cookie, or loopback when allowed); a write also needs the `X-CSRF-Token` header."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query
from pydantic import BeforeValidator

from dashboard.errors import WeekError
from dashboard.store.records import EventRecord
from dashboard.store.sql import EventQuery
from dashboard.store.summary import (
    COUNTED,
    FIRST_DAY,
    LAST_DAY,
    IsoWeek,
    PostureCounts,
    Streak,
    day_bounds_utc,
    today,
    week_camera_checks,
    week_summary,
)
from dashboard.web import words
from dashboard.web.api_models import (
    ActivityOut,
    CameraCheckOut,
    CountsOut,
    DayOut,
    DeviceSeenOut,
    ErrorOut,
    EventDetailOut,
    EventPageOut,
    HealthOut,
    HouseholdOut,
    IngestOut,
    Label,
    PostureName,
    RejectOut,
    ReviewIn,
    ReviewOut,
    ReviewResultOut,
    StreakOut,
    SummaryOut,
    TrendOut,
)
from dashboard.web.deps import ReviewerDep, SvcDep, UserDep
from edge.events import now_ms
from edge.state import StatePayload

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "not logged in"},
    403: {"model": ErrorOut, "description": "not allowed, or no valid CSRF token"},
}
router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)

EVENT_ID = Annotated[str, Path(pattern=r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$",
                               description="the event's ULID")]
NAME = r"^[A-Za-z0-9_-]{1,64}$"
# Years 2000-9998 (summary.MIN_YEAR, MAX_YEAR), weeks 01-53.
WEEK = r"^([2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-W(0[1-9]|[1-4][0-9]|5[0-3])$"


def _iso_day(value: object) -> object:
    """Only YYYY-MM-DD: pydantic alone would take `0` or `1700000000` as a Unix time."""
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("expected a date YYYY-MM-DD")
    return value


DAY = Annotated[date | None, BeforeValidator(_iso_day)]


def event_out(e: EventRecord) -> dict[str, Any]:
    return {
        "event_id": e.event_id, "device_id": e.device_id, "started_at": e.started_at,
        "ended_at": e.ended_at, "day": e.day, "duration_s": e.duration_s, "posture": e.posture,
        "effective_posture": e.effective_posture, "confidence": e.confidence,
        "reasons": list(e.reasons), "activity": e.activity, "zone": e.zone, "lift": e.lift,
        "view": e.view,
        "metrics": asdict(e.metrics),
        "reba_trunk_score": e.reba_trunk,
        "model": {"name": e.model_name, "variant": e.model_variant},
        "software_version": e.software_version, "simulated": e.simulated,
        "received_at": e.received_at,
        "review": None if e.review is None else ReviewOut(**e.review.__dict__).model_dump(),
    }


@router.get("/events", response_model=EventPageOut, summary="Events, newest first")
def list_events(
    *,
    device: Annotated[str | None, Query(pattern=NAME)] = None,
    activity: Annotated[str | None, Query(pattern=r"^[a-z0-9_-]{1,32}$")] = None,
    posture: Annotated[PostureName | None, Query(
        description="the device's verdict (unsure: the back could not be seen)")] = None,
    label: Annotated[Label | None, Query(description="the review label")] = None,
    reviewed: bool | None = None,
    simulated: bool | None = None,
    start: Annotated[DAY, Query(description="first local day, YYYY-MM-DD")] = None,
    end: Annotated[DAY, Query(description="last local day, YYYY-MM-DD")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    user: UserDep, svc: SvcDep,
) -> dict[str, Any]:
    zone = svc.settings.zone
    # No event lies outside the years the dashboard counts: clamp, so the day's bounds
    # stay within `date` (9999-12-31 + 1 day would overflow).
    start = start and min(max(start, FIRST_DAY), LAST_DAY)
    end = end and min(max(end, FIRST_DAY), LAST_DAY)
    started_from = day_bounds_utc(start, zone)[0] if start else None
    started_before = day_bounds_utc(end, zone)[1] if end else None
    query = EventQuery(device_id=device, activity=activity, posture=posture, label=label,
                       reviewed=reviewed, simulated=simulated, started_from=started_from,
                       started_before=started_before)
    events, total = svc.reader.event_page(query, limit, offset)
    following = offset + len(events)
    return {"total": total, "limit": limit, "offset": offset,
            "next_offset": following if following < total else None,
            "events": [event_out(e) for e in events]}


@router.get("/events/{event_id}", response_model=EventDetailOut,
            responses={404: {"model": ErrorOut, "description": "no such event"}},
            summary="One event with its skeleton and trace")
def get_event(event_id: EVENT_ID, user: UserDep,
              svc: SvcDep) -> dict[str, Any]:
    event = svc.reader.event(event_id)
    stored = svc.reader.event_trace(event_id)
    if event is None or stored is None:
        raise HTTPException(404, "no such event")
    return {**event_out(event), "skeleton": stored.skeleton.tolist(),
            "trace": {"rate_hz": stored.rate_hz, "frames": stored.trace.tolist()}}


def _counts(c: PostureCounts) -> dict[str, Any]:
    return {**{p: getattr(c, p) for p in COUNTED}, "bends": c.bends,
            "hinge_share": c.hinge_share}


def _streak(s: Streak) -> StreakOut:
    return StreakOut(days=s.days, first=s.first.isoformat() if s.first else None,
                     last=s.last.isoformat() if s.last else None)


@router.get("/summary", response_model=SummaryOut, summary="One week in numbers",
            responses={404: {"model": ErrorOut,
                             "description": "the year has no such week (most have no W53)"}})
def summary(
    *,
    week: Annotated[str | None, Query(pattern=WEEK,
                                      description="ISO week, e.g. 2026-W48; default: this week")
                    ] = None,
    device: Annotated[str | None, Query(pattern=NAME)] = None,
    user: UserDep, svc: SvcDep,
) -> SummaryOut:
    try:
        w = IsoWeek.parse(week) if week else IsoWeek.of(today(svc.settings.zone))
    except WeekError as exc:
        raise HTTPException(404, str(exc)) from None
    s = week_summary(svc.reader, w, device, svc.settings.streak_goal)
    checks = week_camera_checks(svc.reader, w, svc.settings.zone, device)
    return SummaryOut(
        week=str(s.week), first_day=s.week.first_day.isoformat(),
        last_day=s.week.last_day.isoformat(), device_id=device, goal=s.goal,
        totals=CountsOut(**_counts(s.totals)),
        per_posture={p: getattr(s.totals, p) for p in COUNTED},
        hinge_share=s.totals.hinge_share, deep_s=s.deep_s, simulated=s.simulated,
        reba_trunk={str(i + 1): n for i, n in enumerate(s.reba)},
        per_day=[DayOut(day=d.day.isoformat(), deep_s=d.deep_s, bent_s=d.bent_s,
                        simulated=d.simulated, **_counts(d.counts)) for d in s.days],
        per_activity=[ActivityOut(activity=a.activity, **_counts(a.counts))
                      for a in s.activities],
        trend=[TrendOut(week=str(p.week), bends=p.counts.bends,
                        hinge_share=p.counts.hinge_share) for p in s.trend],
        best_streak=_streak(s.best_streak), current_streak=_streak(s.current_streak),
        camera_checks=[CameraCheckOut(device_id=c.device_id, why=c.why, n=c.n, bends=c.bends)
                       for c in checks],
    )


@router.get("/health", response_model=HealthOut, summary="What ingest took in and refused")
def health(user: UserDep, svc: SvcDep) -> HealthOut:
    counts = svc.reader.ingest_counts()
    status = svc.ingest.status() if svc.ingest else None
    return HealthOut(
        ingest=IngestOut(**status.__dict__) if status else None,
        ingested=counts.by_kind, rejected_total=counts.rejected_total,
        rejected={r.reason: r.count for r in counts.rejects},
        rejects=[RejectOut(meaning=words.REJECT_WORDS.get(r.reason, r.reason), **r.__dict__)
                 for r in counts.rejects],
        devices=[DeviceSeenOut(device_id=d.device_id, status=d.status,
                               last_message_at=d.last_message_at,
                               last_event_at=d.last_event_at, events_total=d.events_total,
                               software_version=d.software_version, model=d.model,
                               outbox_dead=_outbox_dead(d.state))
                 for d in svc.reader.devices()],
        households=[HouseholdOut(**h.__dict__) for h in svc.reader.household_totals()],
        events_total=svc.reader.event_total(), db_bytes=svc.reader.size_bytes(),
    )


def _outbox_dead(state: StatePayload | None) -> int | None:
    # Optional in both state versions: a state without it has set nothing aside.
    return None if state is None else int(state.get("outbox_dead", 0))


@router.post("/events/{event_id}/review", response_model=ReviewResultOut,
             responses={400: {"model": ErrorOut, "description": "the body is not JSON"},
                        404: {"model": ErrorOut, "description": "no such event"}},
             summary="Relabel an event (reviewers); the device's verdict is kept beside it")
def review(*, event_id: EVENT_ID, body: ReviewIn,
           x_csrf_token: Annotated[str | None, Header(
               alias="X-CSRF-Token",
               description="the csrf token of your session (in every page's <meta name=csrf>)",
           )] = None,
           user: ReviewerDep,
           svc: SvcDep) -> ReviewResultOut:
    now = now_ms()
    if not svc.writer.review(event_id, body.label, body.note.strip(), user.name, now):
        raise HTTPException(404, "no such event")
    event = svc.reader.event(event_id)
    assert event is not None and event.review is not None
    return ReviewResultOut(event_id=event_id, original_posture=event.posture,  # type: ignore[arg-type]  # a stored posture passed the schema on ingest
                           **event.review.__dict__)
