"""The printable weekly report (for a caregiver or an ergonomist) and the CSV export."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import astuple
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from dashboard.ergonomics import REBA_TRUNK_BANDS
from dashboard.store.records import METRIC_COLUMNS, EventRecord
from dashboard.store.sql import EventQuery
from dashboard.web.deps import SvcDep, UserDep, render
from dashboard.web.pages import week_charts
from dashboard.web.params import opt, parse_day, parse_device, parse_week, utc_bounds, week_view

router = APIRouter(include_in_schema=False)

CSV_COLUMNS = (
    "event_id", "device_id", "started_at", "ended_at", "local_day", "duration_s", "posture",
    "confidence", "reasons", "activity", "zone", "lift", "view", *METRIC_COLUMNS,
    "reba_trunk_score",
    "simulated", "model", "software_version", "review_label", "review_note", "reviewer",
    "reviewed_at",
)


def _cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_row(e: EventRecord) -> list[Any]:
    r = e.review
    return [_cell(v) for v in (
        e.event_id, e.device_id, e.started_at, e.ended_at, e.day, e.duration_s, e.posture,
        e.confidence, " ".join(e.reasons), e.activity, e.zone or "", int(e.lift), e.view,
        *("" if v is None else v for v in astuple(e.metrics)),
        e.reba_trunk, int(e.simulated),
        f"{e.model_name}/{e.model_variant}", e.software_version,
        r.label if r else "", r.note if r else "", r.reviewer if r else "",
        r.reviewed_at if r else "",
    )]


def review_table(events: list[EventRecord]) -> dict[str, Any]:
    """How the reviews of a week compare with the device's verdicts."""
    reviewed = [e for e in events if e.review]
    pairs = Counter((e.posture, e.review.label) for e in reviewed if e.review)
    agree = sum(n for (said, label), n in pairs.items() if said == label)
    return {"reviewed": len(reviewed), "agree": agree, "pairs": pairs,
            "notes": [e for e in reviewed if e.review and e.review.note][:50]}


@router.get("/report")
def report_page(request: Request, *, week: str | None = None, device: str | None = None,
                user: UserDep, svc: SvcDep) -> Response:
    w, device_id, summary = week_view(svc, week, device)
    started_from, started_before = utc_bounds(w.first_day, w.last_day, svc.settings.zone)
    query = EventQuery(device_id=device_id, reviewed=True, started_from=started_from,
                       started_before=started_before)
    reviewed = list(svc.reader.iter_events(query))
    reba_total = sum(summary.reba) or 1
    return render(request, "report.html", {
        "s": summary, **week_charts(summary), "device": device_id,
        "bands": list(zip(REBA_TRUNK_BANDS, summary.reba, strict=True)),
        "reba_total": reba_total, "reviews": review_table(reviewed),
    })


@router.get("/export.csv")
def export_csv(request: Request, *, week: str | None = None, device: str | None = None,
               start: str | None = None, end: str | None = None,
               user: UserDep,
               svc: SvcDep) -> StreamingResponse:
    """Every event (or a week's, or a date range's) with its review, oldest first."""
    device_id = parse_device(svc, device)
    first: date | None
    last: date | None
    if opt(week):
        w = parse_week(svc, week)
        first, last, name = w.first_day, w.last_day, f"hingewatch-{w}"
    else:
        first, last = parse_day("start", start), parse_day("end", end)
        name = "hingewatch-events"
    started_from, started_before = utc_bounds(first, last, svc.settings.zone)
    query = EventQuery(device_id=device_id, started_from=started_from,
                       started_before=started_before)

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for i, event in enumerate(svc.reader.iter_events(query)):
            writer.writerow(csv_row(event))
            if i % 200 == 199:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="{name}.csv"',
        "cache-control": "no-store",
    })
