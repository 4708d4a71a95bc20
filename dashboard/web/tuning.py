"""Learning from reviews (issue 13 item 4b): with enough reviews on a device, propose new
cut-offs for it (edge/adjustment.py: the back line's flat and round, the squat/hinge
boundary), shown with the before/after agreement on that device's reviews; a reviewer
accepts it (it goes retained to `hingewatch/<device>/adjust`) or undoes the last one."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from anyio import to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from dashboard.ingest.practice_link import PracticeLink, PracticeLinkError
from dashboard.store.reader import Reader
from dashboard.store.records import AdjustmentRecord
from dashboard.store.review_export import reviewed
from dashboard.web.deps import ReviewerDep, Services, SvcDep, UserDep, render
from dashboard.web.params import BadRequest, parse_device
from edge.adjustment import (
    BULGE_FLAT_RANGE,
    BULGE_ROUND_RANGE,
    CLASSES,
    MIN_BAND,
    MIN_PER_CLASS,
    MIN_REVIEWS,
    SQUAT_MIN_KNEE_RANGE,
    Adjustment,
    reread,
)
from edge.delivery.topics import adjust_topic
from edge.events import now_ms
from edge.review_export import READINGS

router = APIRouter(include_in_schema=False)
# The grid the proposal searches, inside the sane ranges (edge/adjustment.py).
FLAT_STEPS = np.round(np.arange(BULGE_FLAT_RANGE[0], BULGE_FLAT_RANGE[1] + 1e-9, 0.0025), 4)
ROUND_STEPS = np.round(np.arange(BULGE_ROUND_RANGE[0], BULGE_ROUND_RANGE[1] + 1e-9, 0.0025), 4)
KNEE_STEPS = np.arange(SQUAT_MIN_KNEE_RANGE[0], SQUAT_MIN_KNEE_RANGE[1] + 1e-9, 5.0)
# A proposal must beat the active cut-offs by this much: a point of agreement is noise.
MIN_GAIN = 0.02

Item = tuple[str, tuple[str, ...], Mapping[str, float | None], str]


@dataclass(frozen=True)
class Proposal:
    counts: dict[str, int]          # reviews per class (hinge, round, squat)
    enough: bool
    active: Adjustment
    before: float | None            # agreement under the active cut-offs
    best: Adjustment | None         # None: nothing beats the active cut-offs
    after: float | None

    @property
    def reviews(self) -> int:
        return sum(self.counts.values())


def items_of(reader: Reader, device_id: str) -> list[Item]:
    return [(e.posture, e.reasons, {k: getattr(e.metrics, k) for k in READINGS},
             e.review.label) for e in reviewed(reader, device_id) if e.review is not None]


def agreement(items: list[Item],
              adj: Adjustment) -> float | None:
    """Balanced agreement with the reviewers: the mean over the labelled classes (hinge,
    round, squat) of the share re-read as labelled. `items`: (device verdict, reasons,
    readings, label)."""
    hits: dict[str, list[bool]] = {}
    for posture, reasons, readings, label in items:
        if label in CLASSES:
            hits.setdefault(label, []).append(reread(posture, reasons, readings, adj) == label)
    shares = [sum(v) / len(v) for v in hits.values()]
    return round(sum(shares) / len(shares), 4) if shares else None


def _distance(a: Adjustment) -> float:
    """How far from the classifier's defaults, each cut-off over its range: ties go to the
    nearest."""
    d = Adjustment()
    return (abs(a.bulge_flat - d.bulge_flat) / (BULGE_FLAT_RANGE[1] - BULGE_FLAT_RANGE[0])
            + abs(a.bulge_round - d.bulge_round) / (BULGE_ROUND_RANGE[1] - BULGE_ROUND_RANGE[0])
            + abs(a.squat_min_knee_deg - d.squat_min_knee_deg)
            / (SQUAT_MIN_KNEE_RANGE[1] - SQUAT_MIN_KNEE_RANGE[0]))


def propose(items: list[Item], active: Adjustment) -> Proposal:
    counts = Counter(label for *_, label in items if label in CLASSES)
    per_class = {c: counts.get(c, 0) for c in CLASSES}
    enough = (sum(per_class.values()) >= MIN_REVIEWS
              and min(per_class.values()) >= MIN_PER_CLASS)
    before = agreement(items, active)
    if not enough or before is None:
        return Proposal(per_class, enough, active, before, None, None)
    best: tuple[float, float, Adjustment] | None = None
    for flat, rnd, knee in itertools.product(FLAT_STEPS, ROUND_STEPS, KNEE_STEPS):
        if rnd - flat < MIN_BAND - 1e-9:
            continue
        adj = Adjustment(float(flat), float(rnd), float(knee))
        score = agreement(items, adj) or 0.0
        key = (score, -_distance(adj))
        if best is None or key > best[:2]:
            best = (score, -_distance(adj), adj)
    assert best is not None
    if best[0] < before + MIN_GAIN:
        return Proposal(per_class, enough, active, before, None, None)
    return Proposal(per_class, enough, active, before, best[2], best[0])


def adjustment_of(record: AdjustmentRecord | None) -> Adjustment:
    if record is None:
        return Adjustment()
    return Adjustment(record.bulge_flat, record.bulge_round, record.squat_min_knee_deg)


def _proposal(svc: Services, device_id: str) -> tuple[Proposal, AdjustmentRecord | None]:
    record = svc.reader.active_adjustment(device_id)
    return propose(items_of(svc.reader, device_id), adjustment_of(record)), record


def _device(svc: Services, device: str) -> str:
    found = parse_device(svc, device)
    if found is None:
        raise HTTPException(404, "no such device")
    return found


@router.get("/devices/{device}/tuning")
async def tuning_page(request: Request, device: str, *, done: str | None = None,
                      user: UserDep, svc: SvcDep) -> Response:
    device_id = _device(svc, device)
    proposal, record = await to_thread.run_sync(_proposal, svc, device_id)
    return render(request, "tuning.html", {
        "device": device_id, "p": proposal, "record": record, "defaults": Adjustment(),
        "min_reviews": MIN_REVIEWS, "min_per_class": MIN_PER_CLASS,
        "done": done if done in ("accepted", "undone") else None,
    })


def _link(request: Request) -> PracticeLink:
    """The broker link, connected: checked before anything is written, so that what is
    stored is what the device is told."""
    link: PracticeLink | None = getattr(request.app.state, "practice", None)
    if link is None or not link.connected:
        raise HTTPException(503, "no broker connection now: the device cannot be told; try "
                                 "again in a moment")
    return link


def _send(request: Request, device_id: str, adj: Adjustment) -> None:
    """The device's active cut-offs, retained (the defaults: the retained message cleared)."""
    link = _link(request)
    try:
        link.publish_retained(adjust_topic(device_id),
                              "" if adj.is_default else adj.to_json(device_id))
    except PracticeLinkError as exc:
        raise HTTPException(503, str(exc)) from None


@router.post("/devices/{device}/tuning/accept")
async def accept(request: Request, device: str, user: ReviewerDep, svc: SvcDep) -> Response:
    device_id = _device(svc, device)
    form = await request.form()
    shown = form.get("proposal")
    proposal, _ = await to_thread.run_sync(_proposal, svc, device_id)
    if proposal.best is None:
        raise BadRequest("there is no proposal to accept for this device now")
    if shown != proposal.best.to_json(device_id):
        raise HTTPException(409, "the reviews changed since the page was shown: look at the "
                                 "new proposal and accept that one")
    _link(request)
    _send(request, device_id, proposal.best)
    b = proposal.best
    await to_thread.run_sync(lambda: svc.writer.accept_adjustment(
        device_id, (b.bulge_flat, b.bulge_round, b.squat_min_knee_deg), proposal.before,
        proposal.after, proposal.reviews, user.name, now_ms()))
    return RedirectResponse(f"/devices/{device_id}/tuning?done=accepted", status_code=303)


@router.post("/devices/{device}/tuning/undo")
async def undo(request: Request, device: str, user: ReviewerDep, svc: SvcDep) -> Response:
    device_id = _device(svc, device)
    _link(request)
    if not await to_thread.run_sync(svc.writer.undo_adjustment, device_id, user.name,
                                    now_ms()):
        raise BadRequest("this device has no adjustment to undo: it uses the defaults")
    _send(request, device_id, adjustment_of(svc.reader.active_adjustment(device_id)))
    return RedirectResponse(f"/devices/{device_id}/tuning?done=undone", status_code=303)
