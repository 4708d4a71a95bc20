"""Reviewed bends as `hingewatch.review/1` lines (edge.review_export is the contract):
what `hingewatch dashboard export-reviews OUT` writes and `hingewatch eval --reviews`
reads. Landmarks and readings only: the store holds no pixel to leak."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np

from dashboard.store.reader import Reader
from dashboard.store.records import EventRecord
from dashboard.store.sql import EventQuery
from edge.review_export import READINGS, REVIEW_SCHEMA_ID

PAGE = 500


def _points(values: np.ndarray) -> list[Any]:
    return np.round(values, 4).tolist()


def review_line(e: EventRecord, reader: Reader) -> dict[str, Any]:
    """One reviewed bend as its export line (the event must carry a review)."""
    assert e.review is not None
    trace = reader.event_trace(e.event_id)
    return {
        "schema": REVIEW_SCHEMA_ID,
        "event_id": e.event_id,
        "device_id": e.device_id,
        "started_at": e.started_at,
        "label": e.review.label,
        "reviewer": e.review.reviewer,
        "posture": e.posture,
        "confidence": e.confidence,
        "reasons": list(e.reasons),
        "view": e.view,
        "readings": {k: getattr(e.metrics, k) for k in READINGS},
        "trace": {"rate_hz": trace.rate_hz if trace else 1.0,
                  "skeleton": _points(trace.skeleton) if trace else [[0.0, 0.0, 0.0]] * 33,
                  "frames": _points(trace.trace) if trace else []},
    }


def reviewed(reader: Reader, device_id: str | None = None) -> Iterator[EventRecord]:
    """Every reviewed bend, oldest first, a page at a time (bounded memory)."""
    query = EventQuery(device_id=device_id, reviewed=True)
    offset = 0
    while True:
        page, _ = reader.event_page(query, PAGE, offset, newest_first=False)
        yield from page
        if len(page) < PAGE:
            return
        offset += PAGE


def export_lines(reader: Reader, device_id: str | None = None) -> Iterator[str]:
    for e in reviewed(reader, device_id):
        yield json.dumps(review_line(e, reader), separators=(",", ":")) + "\n"
