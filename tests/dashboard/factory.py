"""Synthetic but plausible `BendEvent`s for the dashboard's tests and benchmark.

A stick figure seen from the side (facing right) is posed from a trunk inclination and a
knee flexion, so the skeleton page shows a person in a hinge, a rounded fold or a squat.
Events are made with the real `edge.events.BendEvent` and published as its `to_json()`.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from edge.events import BendEvent, BendMetrics, utc_ms
from edge.ulid import new_ulid

POSES = {
    # posture: (trunk inclination deg, knee flexion deg, reasons)
    "hinge": (68.0, 28.0, ()),
    "round": (82.0, 6.0, ("lumbar_rounding", "locked_knees")),
    "squat": (32.0, 105.0, ()),
    # A bend whose back could not be read (bend/2): seen from the front.
    "unsure": (64.0, 20.0, ("front_view",)),
}
# The view each posture is seen from: an unsure bend is a front view.
VIEWS = {"unsure": "front"}
ACTIVITIES = ("dishwasher", "laundry", "crib", "garden", "groceries")


def _at(origin: tuple[float, float], angle_deg: float, length: float) -> tuple[float, float]:
    """The point `length` from `origin` at `angle_deg` from straight up, clockwise (+x)."""
    a = math.radians(angle_deg)
    return origin[0] + length * math.sin(a), origin[1] - length * math.cos(a)


def skeleton(trunk_deg: float, knee_deg: float, round_back: bool = False,
             jitter: float = 0.0, rng: random.Random | None = None) -> list[list[float]]:
    """33 BlazePose landmarks [x, y, visibility], normalised to a 4:3 frame."""
    rng = rng or random.Random(0)
    sx = 0.75  # x is over the frame's width: shrink horizontal lengths for a 4:3 frame

    def p(xy: tuple[float, float], v: float = 0.95) -> list[float]:
        x = 0.45 + (xy[0] - 0.45) * sx + rng.uniform(-jitter, jitter)
        return [round(x, 4), round(xy[1] + rng.uniform(-jitter, jitter), 4), v]

    ankle = (0.45, 0.9)
    shank_lean = knee_deg * 0.45
    knee = _at(ankle, shank_lean, 0.22)
    hip = _at(knee, shank_lean - knee_deg, 0.22)
    trunk = 0.27
    mid = _at(hip, trunk_deg - (8 if round_back else 0), trunk * 0.5)
    shoulder = _at(mid, trunk_deg + (22 if round_back else 0), trunk * 0.5)
    head = _at(shoulder, trunk_deg + (35 if round_back else 5), 0.09)
    elbow = _at(shoulder, 180 - 8, 0.13)
    wrist = _at(elbow, 180 - 4, 0.12)
    heel, toe = (ankle[0] - 0.03, ankle[1] + 0.02), (ankle[0] + 0.07, ankle[1] + 0.02)
    face = [p((head[0] + dx, head[1] + dy)) for dx, dy in (
        (0.025, 0.01), (0.02, -0.005), (0.022, -0.006), (0.024, -0.006),
        (0.02, -0.005), (0.022, -0.006), (0.024, -0.006), (-0.005, -0.003),
        (-0.005, -0.003), (0.025, 0.02), (0.025, 0.02))]
    face[8][2] = face[4][2] = face[5][2] = face[6][2] = 0.4  # the far side of the face
    near, far = 0.95, 0.55
    pts = face + [
        p(shoulder, near), p(shoulder, far), p(elbow, near), p(elbow, far),
        p(wrist, near), p(wrist, far),
        p((wrist[0] + 0.01, wrist[1] + 0.03), near), p((wrist[0] + 0.01, wrist[1] + 0.03), far),
        p((wrist[0] + 0.02, wrist[1] + 0.03), near), p((wrist[0] + 0.02, wrist[1] + 0.03), far),
        p((wrist[0] + 0.015, wrist[1] + 0.02), near), p((wrist[0] + 0.015, wrist[1] + 0.02), far),
        p(hip, near), p(hip, far), p(knee, near), p(knee, far), p(ankle, near), p(ankle, far),
        p(heel, near), p(heel, far), p(toe, near), p(toe, far),
    ]
    assert len(pts) == 33
    return pts


def make_event(posture: str, started: datetime, *, device_id: str = "kitchen",
               activity: str = "dishwasher", simulated: bool = False, frames: int = 30,
               rng: random.Random | None = None, event_id: str | None = None,
               reasons: tuple[str, ...] | None = None) -> BendEvent:
    """A bend in `posture` (hinge, round, squat or unsure); `reasons` overrides the pose's."""
    rng = rng or random.Random()
    trunk, knee, pose_reasons = POSES[posture]
    reasons = pose_reasons if reasons is None else reasons
    trunk += rng.uniform(-6, 6)
    duration = round(rng.uniform(1.5, 4.0), 2)
    deep = max(0.0, round((duration * 0.4) if trunk > 60 else 0.0, 2))
    trace = []
    for i in range(frames):
        f = math.sin(math.pi * (i + 0.5) / frames)  # up, down to the deepest, up again
        trace.append(skeleton(trunk * f, knee * f, posture == "round" and f > 0.6,
                              jitter=0.002, rng=rng))
    started = started.astimezone(UTC)
    return BendEvent(
        device_id=device_id, started_at=utc_ms(started),
        ended_at=utc_ms(started + timedelta(seconds=duration)), duration_s=duration,
        posture=posture,  # type: ignore[arg-type]  # test events name their posture as text
        confidence=round(rng.uniform(0.6, 0.98), 3), reasons=reasons,
        activity=activity, zone="sink" if activity == "dishwasher" else None,
        # type: ignore on the next line: a view name from VIEWS
        lift=posture == "squat", view=VIEWS.get(posture, "side"),  # type: ignore[arg-type]
        metrics=BendMetrics(
            peak_trunk_inclination_deg=round(trunk, 1),
            peak_hip_flexion_deg=round(trunk + knee * 0.6, 1),
            peak_knee_flexion_deg=round(knee, 1),
            peak_hip_shift_norm=round(0.35 if posture == "hinge" else 0.1, 3),
            back_bulge_norm=round(0.09 if posture == "round" else 0.01, 3),
            time_beyond_60_deg_s=deep,
        ),
        # type: ignore on the next line: fixed-length points built from lists
        skeleton=tuple(tuple(p) for p in skeleton(trunk, knee, posture == "round")),  # type: ignore[misc]
        trace_rate_hz=10.0,
        # type: ignore on the next line: fixed-length points built from lists
        trace=tuple(tuple(tuple(p) for p in f) for f in trace),  # type: ignore[misc]
        model_name="blazepose_ghum", model_variant="full", simulated=simulated,
        event_id=event_id or new_ulid(int(started.timestamp() * 1000)),
    )


def week_of_events(now: datetime, per_day: int = 6, days: int = 7, *, seed: int = 1,
                   device_id: str = "kitchen", frames: int = 10,
                   unsure: float = 0.0) -> list[BendEvent]:
    """A household's bends over the `days` days before `now`, improving as it goes;
    `unsure` weighs bends whose back could not be read (against 0.25 for squats)."""
    rng = random.Random(seed)
    events = []
    for d in range(days):
        for k in range(per_day):
            started = now - timedelta(days=days - 1 - d, minutes=10 * (per_day - k) + 1)
            hinge_p = 0.4 + 0.5 * d / max(days - 1, 1)
            # A zero weight leaves the draws, and so the household, as they were.
            posture = rng.choices(("hinge", "round", "squat", "unsure"),
                                  (hinge_p, 1 - hinge_p, 0.25, unsure))[0]
            events.append(make_event(posture, started, device_id=device_id,
                                     activity=rng.choice(ACTIVITIES), frames=frames, rng=rng))
    return events


def now_utc() -> datetime:
    return datetime.now(UTC)
