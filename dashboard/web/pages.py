"""The server-rendered pages: Today, Week, Events (list and detail with review), Devices,
Health, and the login form. The Report and the CSV export are in `report.py`."""

from __future__ import annotations

import json
import logging
import math
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from anyio import to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from dashboard.store.sql import LABELS, EventQuery
from dashboard.store.summary import (
    IsoWeek,
    PostureCounts,
    WeekSummary,
    day_bounds_utc,
    today,
    week_camera_checks,
)
from dashboard.web import auth, charts, skeleton, words
from dashboard.web.deps import (
    CsrfDep,
    Forbidden,
    ReviewerDep,
    Services,
    SvcDep,
    UserDep,
    identity,
    render,
    session_cookie,
)
from dashboard.web.params import (
    BadRequest,
    opt,
    parse_choice,
    parse_day,
    parse_device,
    utc_bounds,
    week_view,
)
from edge.events import POSTURES, now_ms, parse_utc_ms, utc_ms

router = APIRouter(include_in_schema=False)
log = logging.getLogger("hingewatch.dashboard.login")
PAGE_SIZE = 50
MAX_NOTE_CHARS = 2000
# The bands of "bends per day by posture"; an unsure bend is a bend too, in grey.
SERIES = (("hinge", "Hinge", "c-hinge"), ("squat", "Squat", "c-squat"),
          ("round", "Rounded", "c-round"), ("unsure", "Unsure", "c-unsure"))


# --- Today ----------------------------------------------------------------------------------


def today_context(svc: Services) -> dict[str, Any]:
    zone = svc.settings.zone
    day = today(zone)
    start, end = day_bounds_utc(day, zone)
    events, total = svc.reader.event_page(EventQuery(started_from=start, started_before=end),
                                          PAGE_SIZE, 0)
    counts = PostureCounts()
    deep_s = 0.0
    for row in svc.reader.day_rows(day.isoformat(), day.isoformat(), None):
        counts = counts.plus(row.posture, row.n)
        deep_s += row.deep_s if row.posture != "not_a_bend" else 0.0
    return {"today": day, "events": events, "events_total": total, "counts": counts,
            "deep_s": deep_s, "devices": svc.reader.devices(), "goal": svc.settings.streak_goal}


@router.get("/")
def today_page(request: Request, user: UserDep,
               svc: SvcDep) -> Response:
    return render(request, "today.html", today_context(svc))


# --- Week -----------------------------------------------------------------------------------


def week_charts(s: WeekSummary) -> dict[str, Any]:
    labels = [f"{d.day:%a} {d.day.day}" for d in s.days]
    per_day = charts.stacked_bars(
        labels,
        [charts.Series(name, [getattr(d.counts, key) for d in s.days], css)
         for key, name, css in SERIES],
        title="Bends per day by posture",
    )
    share_day = charts.share_bars(labels, [d.counts.hinge_share for d in s.days],
                                  title="Hinge share per day", goal=s.goal)
    acts = s.activities[:8]
    share_act = charts.share_bars(
        [words.activity_word(a.activity) for a in acts],
        [a.counts.hinge_share for a in acts], title="Hinge share per activity", goal=s.goal,
    )
    # Seconds while the days are short of two minutes each, minutes after that.
    in_minutes = max((d.deep_s for d in s.days), default=0) >= 120
    unit, scale = ("min", 60.0) if in_minutes else ("s", 1.0)
    deep = charts.bars(labels, [d.deep_s / scale for d in s.days],
                       title=f"Time bent beyond 60° per day ({unit})",
                       fmt=lambda v: f"{v:.0f} {unit}", whole=True)
    trend = charts.line([f"W{p.week.week:02d}" for p in s.trend],
                        [p.counts.hinge_share for p in s.trend],
                        title="Hinge share, last 8 weeks", goal=s.goal)
    return {"chart_per_day": per_day, "chart_share_day": share_day,
            "chart_share_activity": share_act, "chart_deep": deep, "chart_trend": trend,
            "deep_unit": "minutes" if in_minutes else "seconds"}


@router.get("/week")
def week_page(request: Request, *, week: str | None = None, device: str | None = None,
              user: UserDep, svc: SvcDep) -> Response:
    _, device_id, summary = week_view(svc, week, device)
    practice = {p.day: p for p in svc.reader.practice_days(
        summary.week.first_day.isoformat(), summary.week.last_day.isoformat(), device_id)}
    checks = week_camera_checks(svc.reader, summary.week, svc.settings.zone, device_id)
    return render(request, "week.html", {
        "s": summary, **week_charts(summary), "devices": svc.reader.devices(),
        "practice": practice, "checks": checks,
        "device": device_id, "this_week": IsoWeek.of(today(svc.settings.zone)),
    })


# --- Events ---------------------------------------------------------------------------------


@router.get("/events")
def events_page(request: Request, *, device: str | None = None, activity: str | None = None,
                posture: str | None = None, reviewed: str | None = None,
                start: str | None = None, end: str | None = None, page: int = 1,
                user: UserDep, svc: SvcDep) -> Response:
    started_from, started_before = utc_bounds(parse_day("start", start), parse_day("end", end),
                                              svc.settings.zone)
    query = EventQuery(
        device_id=parse_device(svc, device),
        activity=parse_choice("activity", activity, tuple(svc.reader.activities())),
        posture=parse_choice("posture", posture, POSTURES),
        reviewed={"yes": True, "no": False, None: None}[parse_choice("reviewed", reviewed,
                                                                  ("yes", "no"))],
        started_from=started_from, started_before=started_before,
    )
    page = max(1, min(page, 100_000))
    events, total = svc.reader.event_page(query, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    filters = {k: v for k, v in {"device": device, "activity": activity, "posture": posture,
                                 "reviewed": reviewed, "start": start, "end": end}.items()
               if opt(v)}
    return render(request, "events.html", {
        "events": events, "total": total, "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)), "filters": filters,
        "query_for": lambda p: urlencode({**filters, "page": p}),
        "devices": svc.reader.devices(), "activities": svc.reader.activities(),
        "postures": POSTURES,
    })


@router.get("/events/{event_id}")
def event_page(request: Request, *, event_id: str, saved: int = 0,
               user: UserDep, svc: SvcDep) -> Response:
    event = svc.reader.event(event_id)
    stored = svc.reader.event_trace(event_id)
    if event is None or stored is None:
        raise HTTPException(404, f"no event {event_id[:40]!r}")
    label = (f"{words.posture_word(event.posture)}: skeleton at the deepest moment, "
             f"trunk {event.metrics.peak_trunk_inclination_deg:.0f}° from vertical")
    figure = skeleton.svg(stored.skeleton, stored.trace, label=label, posture=event.posture,
                          svg_id="skeleton")
    replay = None
    if len(stored.trace):
        replay = json.dumps({
            "rate_hz": stored.rate_hz,
            "bones": skeleton.CONNECTIONS,
            "trunk": [skeleton.LEFT_HIP, skeleton.RIGHT_HIP, skeleton.LEFT_SHOULDER,
                      skeleton.RIGHT_SHOULDER],
            "frames": skeleton.replay_frames(stored.skeleton, stored.trace),
        }, separators=(",", ":"))
    return render(request, "event.html", {
        "e": event, "figure": figure, "replay": replay, "n_frames": len(stored.trace),
        "labels": LABELS, "saved": bool(saved),
    })


@router.post("/events/{event_id}/review")
async def review_form(request: Request, event_id: str,
                      user: ReviewerDep,
                      svc: SvcDep) -> Response:
    form = await request.form()
    label = form.get("label")
    note = form.get("note") or ""
    if not isinstance(label, str) or label not in LABELS:
        raise BadRequest(f"label: expected one of {', '.join(LABELS)}")
    if not isinstance(note, str) or len(note) > MAX_NOTE_CHARS:
        raise BadRequest(f"note: at most {MAX_NOTE_CHARS} characters")
    # Off the event loop: a write may wait for SQLite's lock (busy_timeout).
    if not await to_thread.run_sync(svc.writer.review, event_id, label, note.strip(), user.name,
                                    now_ms()):
        raise HTTPException(404, f"no event {event_id[:40]!r}")
    return RedirectResponse(f"/events/{event_id}?saved=1#review", status_code=303)


# --- Devices and health -------------------------------------------------------------------


@router.get("/devices")
def devices_page(request: Request, user: UserDep,
                 svc: SvcDep) -> Response:
    return render(request, "devices.html", {"devices": svc.reader.devices()})


@router.get("/health")
def health_page(request: Request, user: UserDep,
                svc: SvcDep) -> Response:
    return render(request, "health.html", {
        "counts": svc.reader.ingest_counts(), "devices": svc.reader.devices(),
        "households": svc.reader.household_totals(),
        "ingest": svc.ingest.status() if svc.ingest else None,
        "events_total": svc.reader.event_total(), "db_bytes": svc.reader.size_bytes(),
        "practice": getattr(request.app.state, "practice", None),
    })


# --- Login ----------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Only paths on this site: `//evil.example` and `https://...` become `/`."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
async def login(request: Request, svc: SvcDep) -> Response:
    form = await request.form()
    who = identity(request, svc)
    fields = {k: form.get(k) for k in ("username", "password", auth.CSRF_FIELD, "next")}
    name, password, token, target = (v if isinstance(v, str) else "" for v in fields.values())
    session = None if request.state.session_fresh else who.session_token
    if not auth.csrf_ok(svc.secret, session, token):
        raise Forbidden("The login form has expired: reload the page and try again.")
    address = request.client.host if request.client else "?"
    guard = svc.logins
    wait_s = guard.retry_after_s(name, address)
    if wait_s > 0:
        log.warning("login refused for %r from %s: too many failures, %.0f s to wait",
                    name[:64], address, wait_s)
        response = render(request, "login.html", {
            "next": _safe_next(target),
            "error": f"Too many failed logins: try again in {math.ceil(wait_s)} s."},
            status_code=429, who=who)
        response.headers["retry-after"] = str(math.ceil(wait_s))
        return response
    # The database and scrypt run in worker threads: the event loop keeps serving.
    found = await to_thread.run_sync(svc.reader.user_credentials, name)
    if not await guard.verify(password, found[1] if found else None) or found is None:
        failures = guard.failed(name, address)
        log.warning("login failed for %r from %s (%d in a row)", name[:64], address, failures)
        return render(request, "login.html",
                      {"next": _safe_next(target), "error": "Wrong user name or password."},
                      status_code=401, who=who)
    guard.succeeded(name)
    fresh = auth.new_token()  # a new token on login: a planted cookie is worth nothing
    now = now_ms()
    expires = _plus_seconds(now, svc.settings.session_max_age_s)
    await to_thread.run_sync(svc.writer.create_session, auth.token_hash(fresh), found[0].name,
                             now, expires)
    response = RedirectResponse(_safe_next(target), status_code=303)
    response.headers.append("set-cookie", session_cookie(fresh, svc.settings))
    return response


@router.post("/logout")
def logout(request: Request, _: CsrfDep,
           svc: SvcDep) -> Response:
    svc.writer.delete_session(auth.token_hash(request.state.session_token))
    response = RedirectResponse("/login", status_code=303)
    response.headers.append("set-cookie", session_cookie(auth.new_token(), svc.settings))
    return response


def _plus_seconds(utc_text: str, seconds: int) -> str:
    return utc_ms(parse_utc_ms(utc_text) + timedelta(seconds=seconds))
