"""Practice sessions on synthetic bends of known truth: reps counted, scored and cued in
the guide's words; the progression; the summary's schema."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import jsonschema
import numpy as np
import pytest

from edge.practice import (
    CUES,
    DRILL_IDS,
    DRILLS,
    FAULTS,
    PracticeSession,
    PracticeSummary,
    Rep,
    drill_named,
    next_drill,
)
from edge.practice.drills import PASS_MIN_REPS, REAL_TASKS
from edge.practice.summary import (
    PRACTICE_SCHEMA_ID,
    PRACTICE_SCHEMA_PATH,
    PracticeError,
    parse_summary,
    validate_summary,
)
from edge.synth import Camera, Motion, make_clip

REPS = 5


def side_camera() -> Camera:
    return Camera.around(0.0, 0.0, 3.2, resolution_wh=(640, 480), fps=15.0)


def motion(kind: str, subtype: str, trunk: float, knee: float, lumbar: float = 0.0) -> Motion:
    return Motion(kind=kind, subtype=subtype, depth=1.0, down_s=1.0, hold_s=0.6,  # type: ignore[arg-type]  # kind and subtype names, checked by Motion
                  up_s=1.0, trunk_deg=trunk, knee_deg=knee, lumbar_deg=lumbar,
                  thoracic_deg=-5.0, neck_deg=0.0)


MOTIONS = {
    "hinge": motion("hinge", "hip_hinge", 70, 20),
    "locked": motion("hinge", "hip_hinge", 75, 0),
    "round": motion("round", "lumbar", 70, 15, lumbar=45),
    "squat": motion("squat", "squat", 30, 110),
    "soft_knee": motion("hinge", "bent_knee_hinge", 65, 45),
}


def practise(kind: str, drill: str = "dowel_hinge", seed: int = 0) -> PracticeSummary:
    clip = make_clip(np.random.default_rng(seed), motions=[MOTIONS[kind]] * REPS,
                     camera=side_camera())
    seen: list[Rep] = []
    session = PracticeSession(drill_named(drill), "kitchen")
    summary = session.run(((i / clip.fps, p) for i, p in enumerate(clip.poses)), seen.append)
    assert [r.index for r in seen] == list(range(1, len(seen) + 1))
    assert tuple(seen) == summary.reps  # every rep was said as it happened
    return summary


@pytest.fixture(scope="module")
def summaries() -> dict[str, PracticeSummary]:
    return {kind: practise(kind) for kind in MOTIONS}


def test_good_hinges_are_counted_scored_good_and_move_the_person_on(
        summaries: dict[str, PracticeSummary]) -> None:
    s = summaries["hinge"]
    assert len(s.reps) == REPS
    assert all(r.good and r.posture == "hinge" and r.cue == CUES["good"] for r in s.reps), s.reps
    assert s.good_share == 1.0 and s.passed
    assert s.next_drill == "wall_hinge"
    assert s.practise_next == "move on to the wall hinge"


def test_a_rounded_rep_gets_the_dowel_cue(summaries: dict[str, PracticeSummary]) -> None:
    s = summaries["round"]
    assert len(s.reps) == REPS
    for r in s.reps:
        assert r.posture == "round" and not r.good
        assert r.faults[0] == "rounded_back"
        assert r.cue == "keep the stick on your head, mid-back and tailbone"
    assert not s.passed and s.next_drill is None
    assert s.practise_next == CUES["rounded_back"]


def test_a_hinge_with_locked_knees_gets_the_soft_knee_cue(
        summaries: dict[str, PracticeSummary]) -> None:
    s = summaries["locked"]
    assert len(s.reps) == REPS
    for r in s.reps:
        assert r.posture == "hinge" and not r.good  # the back was fine, the knees not
        assert r.knee_deg < drill_named("dowel_hinge").target.min_knee_deg
        assert r.cue == "soften the knees"
    assert s.practise_next == "soften the knees"


def test_a_squat_is_a_rep_but_not_a_hinge_and_the_cue_says_so(
        summaries: dict[str, PracticeSummary]) -> None:
    s = summaries["squat"]
    assert len(s.reps) == REPS
    assert all(r.posture == "squat" and r.faults == ("squat",) and "squat" in r.cue
               for r in s.reps), s.reps
    assert s.good == 0


def test_the_drill_sets_the_target_a_plain_hinge_lacks_soft_knees_for_the_soft_knee_drill(
        ) -> None:
    s = practise("hinge", "soft_knee_hinge")
    assert all(r.posture == "hinge" for r in s.reps)
    # Knees at ~20° pass the dowel hinge but are short of the soft-knee drill's bend.
    assert all("locked_knees" in r.faults and r.cue == "soften the knees" for r in s.reps)
    bent = practise("soft_knee", "soft_knee_hinge")
    assert len(bent.reps) == REPS and bent.passed, bent.reps


def _rep(i: int, good: bool) -> Rep:
    return Rep(i, float(i), i + 1.0, i + 0.5, "hinge" if good else "round", 0.9,
               () if good else ("lumbar_rounding",), "side", 60.0, 0.25, 18.0, -10.0,
               "read", 0.01 if good else 0.06, False, good,
               () if good else ("rounded_back",),
               CUES["good"] if good else CUES["rounded_back"])


def _summary(drill: str, goods: list[bool]) -> PracticeSummary:
    return PracticeSummary("kitchen", drill, "2026-12-05T02:00:00.000Z",
                           "2026-12-05T02:05:00.000Z",
                           tuple(_rep(i + 1, g) for i, g in enumerate(goods)))


@pytest.mark.parametrize(("goods", "moves_on"), [
    ([True] * 4 + [False], True),          # 80 % of 5
    ([True] * 3 + [False] * 2, False),     # 60 %
    ([True] * 4, False),                   # all good, too few
    ([True] * 8 + [False] * 2, True),
    ([True] * 7 + [False] * 3, False),
])
def test_the_progression_needs_enough_reps_and_enough_of_them_good(
        goods: list[bool], moves_on: bool) -> None:
    s = _summary("dowel_hinge", goods)
    assert s.passed is moves_on
    assert s.next_drill == ("wall_hinge" if moves_on else None)


def test_the_progression_follows_the_guide_and_ends_in_real_tasks() -> None:
    order = [d.id for d in DRILLS]
    assert order == ["dowel_hinge", "wall_hinge", "soft_knee_hinge", "floor_lift"]
    for a, b in zip(DRILLS, DRILLS[1:], strict=False):
        assert next_drill(a) == b
        assert _summary(a.id, [True] * PASS_MIN_REPS).next_drill == b.id
    last = _summary("floor_lift", [True] * PASS_MIN_REPS)
    assert last.passed and last.next_drill is None and last.practise_next == REAL_TASKS
    assert "more good reps" in _summary("wall_hinge", [True] * 2).practise_next
    assert "no reps" in _summary("wall_hinge", []).practise_next
    with pytest.raises(ValueError, match="drill: expected one of"):
        drill_named("cartwheel")


def test_the_summary_schema_matches_the_vocabulary() -> None:
    document = json.loads(PRACTICE_SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    assert document["$id"] == PRACTICE_SCHEMA_ID
    props = document["properties"]
    assert props["drill"]["enum"] == list(DRILL_IDS)
    assert set(props["faults"]["properties"]) == set(FAULTS)
    assert props["rep_scores"]["items"]["properties"]["faults"]["items"]["enum"] == list(FAULTS)


def test_a_summary_round_trips_through_json_and_the_schema(
        summaries: dict[str, PracticeSummary]) -> None:
    for s in summaries.values():
        data = parse_summary(s.to_json())
        assert data["reps"] == len(s.reps) == len(data["rep_scores"])
        assert data["good"] == s.good and data["drill"] == "dowel_hinge"
        assert data["session_id"] == s.session_id


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(good=d["reps"] + 1), "more good reps"),
    (lambda d: d.update(drill="cartwheel"), "drill"),
    (lambda d: d.update(extra=1), "Additional properties"),
    (lambda d: d.update(schema="hingewatch.practice/9"), "unknown schema"),
    (lambda d: d.update(device_id="a/b"), "device_id"),
    (lambda d: d.update(ended_at="2000-01-01T00:00:00.000Z"), "before"),
    (lambda d: d["rep_scores"][0].update(cue=""), "rep_scores/0/cue"),
    (lambda d: d["faults"].update(spine_snapped=1), "faults"),
])
def test_a_hostile_summary_is_refused_with_where(
        summaries: dict[str, PracticeSummary], change: Callable[[dict[str, Any]], object],
        message: str) -> None:
    data = copy.deepcopy(summaries["round"].to_dict())
    change(data)
    with pytest.raises(PracticeError, match=message):
        validate_summary(data)


def test_garbage_and_oversized_payloads_are_refused() -> None:
    for payload in (b"\xff\xfe", b"[1]", b"null", b"{" * 10, b"x" * (200 * 1024)):
        with pytest.raises(PracticeError):
            parse_summary(payload)


def test_an_unmeasured_angle_is_null_not_nan_in_json() -> None:
    rep = replace(_rep(1, True), knee_deg=float("nan"))
    s = PracticeSummary("kitchen", "wall_hinge", "2026-12-05T02:00:00.000Z",
                        "2026-12-05T02:00:01.000Z", (rep,))
    assert parse_summary(s.to_json())["rep_scores"][0]["knee_deg"] is None
