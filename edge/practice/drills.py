"""The guide's hinge drills, in the order it teaches them, each with what a good rep is in
the product's own terms: the classifier's verdict, the trunk angle reached, how far the
hips go back (`hip_shift_norm`), the knee bend, the head (`head_flexion_deg`) and the
back line (a hinge verdict means the back line read straight).

The thresholds sit on what the synthetic bodies and the fixtures read (kinematics.py):
good hinges put the hips 0.24–0.34 leg lengths behind the ankles, squats 0.15–0.2 and
bends from the waist under 0.05; knees posed at 20° read 15–21°, locked knees 5–10°, so
the hinge drills ask 12° and the soft-knee drill 25° (posed at 40° they read 43–49°).
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.analysis.classifier import HEAD_DROP_DEG

# A drill is done well after at least PASS_MIN_REPS reps with at least PASS_GOOD_SHARE of
# them good: the progression then suggests the next drill. Raising either asks for more
# practice before moving on.
PASS_MIN_REPS = 5
PASS_GOOD_SHARE = 0.8
# After the last drill the guide carries the pattern into real tasks.
REAL_TASKS = ("take the hinge into real tasks: the dishwasher, lifting a child, groceries, "
              "gardening, sitting into a chair")


@dataclass(frozen=True)
class Target:
    """A good rep: a hinge verdict, and each measure within its range (degrees, or leg
    lengths for the hips). `max_knee_deg` None: no upper bound (the classifier's squat
    rule already catches a knee-led rep)."""

    min_trunk_deg: float
    min_hip_shift_norm: float
    min_knee_deg: float
    max_knee_deg: float | None
    max_head_flexion_deg: float = HEAD_DROP_DEG


@dataclass(frozen=True)
class Drill:
    id: str
    name: str
    # How to set up and do it, in the guide's words (shown before the first rep).
    how: str
    target: Target
    # Cues this drill says in its own words, overriding the common ones (cues.py).
    cues: tuple[tuple[str, str], ...] = ()


DRILLS: tuple[Drill, ...] = (
    Drill(
        "dowel_hinge", "Dowel hinge",
        "Stand side-on to the camera. Hold a stick along your back so it touches your head, "
        "mid-back and tailbone; push the hips back and let the chest come forward, keeping "
        "all three touching. (If the verdict says the back is hidden, practise without the "
        "stick and imagine it.)",
        Target(min_trunk_deg=40.0, min_hip_shift_norm=0.12, min_knee_deg=12.0,
               max_knee_deg=45.0),
    ),
    Drill(
        "wall_hinge", "Wall hinge",
        "Stand side-on to the camera, a foot's length in front of a wall, back to it. "
        "Push your hips back until they touch the wall, chest forward, back long; "
        "step further away as it gets easy.",
        Target(min_trunk_deg=40.0, min_hip_shift_norm=0.18, min_knee_deg=12.0,
               max_knee_deg=45.0),
        cues=(("hips_forward", "hips back to the wall, as if closing a drawer with them"),),
    ),
    Drill(
        "soft_knee_hinge", "Soft-knee hinge to a low shelf",
        "Stand side-on to the camera in front of a low shelf or chair seat. Soften the "
        "knees, hinge at the hips and touch the shelf with a long back, then stand tall.",
        Target(min_trunk_deg=45.0, min_hip_shift_norm=0.15, min_knee_deg=25.0,
               max_knee_deg=70.0),
    ),
    Drill(
        "floor_lift", "Lift from the floor",
        "Stand side-on to the camera with a light box or basket between your feet. Hips "
        "back, knees bent, back long; grip it, and stand up by driving the hips forward.",
        Target(min_trunk_deg=55.0, min_hip_shift_norm=0.15, min_knee_deg=30.0,
               max_knee_deg=None),
    ),
)
DRILL_IDS: tuple[str, ...] = tuple(d.id for d in DRILLS)


def drill_named(drill_id: str) -> Drill:
    for d in DRILLS:
        if d.id == drill_id:
            return d
    raise ValueError(f"drill: expected one of {', '.join(DRILL_IDS)}, got {drill_id!r}")


def next_drill(drill: Drill) -> Drill | None:
    """The drill the guide teaches after this one; None after the last."""
    i = DRILL_IDS.index(drill.id)
    return DRILLS[i + 1] if i + 1 < len(DRILLS) else None


def passed(reps: int, good: int) -> bool:
    return reps >= PASS_MIN_REPS and good >= PASS_GOOD_SHARE * reps
