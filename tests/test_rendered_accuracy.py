"""The classifier on rendered people (tests/data/rendered/benchmark.json: the real
BlazePose's output on renders of known posture, yaw 0-90°, with props), held to
tests/metrics.json so the figures can only go up. Issue 9's targets are written beside them."""

from __future__ import annotations

import json

import pytest

from edge.analysis.analyzer import AnalyzedBend
from edge.analysis.classifier import (
    SQUAT_DEEP_KNEE_DEG,
    SQUAT_DEEP_MAX_HIP_LEAD_DEG,
    SQUAT_DEEP_MAX_TRUNK_DEG,
    SQUAT_MAX_TRUNK_DEG,
)
from edge.analysis.evaluation import Tally, hinges_called_round, verdict_of
from edge.analysis.recorded import load_recorded
from edge.analysis.recorded_eval import near_side, score_items
from tests.conftest import ROOT

SET = ROOT / "tests" / "data" / "rendered" / "benchmark.json"
METRICS = ROOT / "tests" / "metrics.json"
# The recording and the classifier are deterministic; this slack absorbs float differences
# between machines in the landmark arithmetic.
SLACK = 0.01


@pytest.fixture(scope="module")
def scored() -> tuple[Tally, Tally]:
    items = load_recorded(SET)
    return score_items(items), score_items(near_side(items))


def test_the_rendered_set_holds_its_figures(scored: tuple[Tally, Tally]) -> None:
    every, near = scored
    held = json.loads(METRICS.read_text())["rendered"]
    now = every.summary()
    near_now = near.summary()
    figures = {
        "coverage": now["coverage"],
        "confident_balanced_accuracy": now["confident_balanced_accuracy"],
        "coverage_yaw45": near_now["coverage"],
        "confident_balanced_accuracy_yaw45": near_now["confident_balanced_accuracy"],
    }
    assert now["items_labelled"] >= held["items"], now
    for key, value in figures.items():
        assert value >= held[key] - SLACK, f"{key} fell from {held[key]} to {value}"
    ece = now["expected_calibration_error"]
    assert ece <= held["expected_calibration_error"] + SLACK, f"calibration error rose to {ece}"


def test_hinges_called_round_with_confidence_never_grow(scored: tuple[Tally, Tally]) -> None:
    """Issue 9's target is none; the count held in tests/metrics.json can only fall."""
    every, _ = scored
    wrong = hinges_called_round(every.outcomes)
    held = json.loads(METRICS.read_text())["rendered"]["hinge_called_round_confident"]
    assert len(wrong) <= held, wrong


def test_deep_squats_read_leaning_forward_are_squats(scored: tuple[Tally, Tally]) -> None:
    """The benchmark's pictures with the knees past any hinge's and the trunk read past the
    chest-up limit but within a deep squat's lean (seen side-on or obliquely, the hips not
    leading as a hinge's do): squats, every one said so (one was unsure before the rule)."""
    every, _ = scored
    leaning = []
    for outcome in every.outcomes:
        verdict = verdict_of(outcome.detail)
        if verdict is None:
            continue
        k = verdict.peak
        if (k.view != "front" and k.knee_flexion_deg >= SQUAT_DEEP_KNEE_DEG
                and SQUAT_MAX_TRUNK_DEG < k.trunk_inclination_deg <= SQUAT_DEEP_MAX_TRUNK_DEG
                and k.hip_lead_deg <= SQUAT_DEEP_MAX_HIP_LEAD_DEG):
            leaning.append((outcome.item, outcome.truth, outcome.predicted))
    assert len(leaning) >= 3, leaning
    assert all(truth == said == "squat" for _, truth, said in leaning), leaning


HELD_OUT = ROOT / "tests" / "data" / "rendered"
# Rendered after the confidence map and the thresholds they judge were set; no fit may read
# them (tools/fit_confidence.py reads benchmark.json). Their figures, the calibration error
# above all, are the honest ones. set3 (seed 3, 240) since babdf57; set4 (seed 4, 240)
# rendered and scored first once the hip tuck and the view were in the rounded-back
# confidence (set3 had been looked at while that was made); set7 (seed 7, 300) rendered and
# scored first after the trunk-shortening round; set8 (seed 8, 300) the first rendered with
# hair hanging from the head (tools/render/README.md), scored first after the caps on weak
# rounds; set9 (seed 9, 300) the first with the head drawn whatever the class, scored once;
# set10 (seed 10, 300) rendered as set9, scored once after a hidden upper back over a
# straight lower back became a hinge; set11c (seed 11, 36 clips of whole bends, no stills),
# scored once after that and the cap on a hump over a straight outline; set12 (seed 12,
# 300) rendered as set9, scored once with no classifier change since; set13c and set15c
# (seeds 13 and 15, 36 clips each) scored once right after; set17c10 (seed 17, 36 clips at
# 10 frames a second, a device's rate) scored once after the cap on rounds past 45° of yaw;
# set16c10 (seed 16, as set17c10) scored once right after; set14 (seed 14, 300 rendered as
# set9) once after that; set18 (seed 18, as set14) once after the front squat by the legs.
# set21s (seed 21, 18 sit clips) scored once after every seated mend made on set19s and
# set20s; set22s (seed 22, as set21s) once after the seat facing the camera; set24s (seed
# 24, as set21s) once after a seat read 0.15 down and the hips of a seat facing the camera
# not in front of the heels. (set20s, 18 sit clips, was held out and scored once, then
# looked at: it is with set19s.) set26h (seed 26, 18 bends held 5 s) is held out in
# test_a_bend_held_still_is_one_bend_not_a_seat. set27c10 (seed 27, 27 clips as set17c10)
# scored once after the seated mends. set28r10 (seed 28, 16 clips of hinges and rounds
# within 60°, as set29r10, which is for development) scored once after the lower back read
# alone. set30 (seed 30, 150) scored once after the deep squats leaning forward. set33r10
# (seed 33, as set29r10) scored once after the lower back's own edge and the seated fold.
HELD_OUT_SETS = {"set3": "rendered_held_out", "set4": "rendered_held_out_set4",
                 "set7": "rendered_held_out_set7", "set8": "rendered_held_out_set8",
                 "set9": "rendered_held_out_set9", "set10": "rendered_held_out_set10",
                 "set11c": "rendered_held_out_set11c", "set12": "rendered_held_out_set12",
                 "set13c": "rendered_held_out_set13c", "set14": "rendered_held_out_set14",
                 "set15c": "rendered_held_out_set15c", "set16c10": "rendered_held_out_set16c10",
                 "set17c10": "rendered_held_out_set17c10", "set18": "rendered_held_out_set18",
                 "set21s": "rendered_held_out_set21s", "set22s": "rendered_held_out_set22s",
                 "set24s": "rendered_held_out_set24s", "set27c10": "rendered_held_out_set27c10",
                 "set28r10": "rendered_held_out_set28r10", "set30": "rendered_held_out_set30",
                 "set33r10": "rendered_held_out_set33r10"}


@pytest.mark.parametrize(("name", "key"), HELD_OUT_SETS.items(), ids=list(HELD_OUT_SETS))
def test_the_held_out_renders_hold_their_figures(name: str, key: str) -> None:
    """Every class, yaw 0-90°, props: held to their own figures in tests/metrics.json."""
    assert name not in SET.read_text(), "a held-out set must stay out of the benchmark"
    _holds_its_figures(name, key)


@pytest.mark.parametrize("name", ["set19s", "set20s", "set23s"])
def test_the_sit_clips_developed_on_hold_their_figures(name: str) -> None:
    """18 sit clips each (seeds 19, 20 and 23): what the seated logic was made on (the rise
    from a chair, the brief sit-down, a seat read shallow, a bend made seated never a
    squat); held so it keeps finding the sit-downs and no rise."""
    _holds_its_figures(name, f"rendered_sit_dev_{name}")


@pytest.mark.parametrize("name", ["set29r10", "set32r10"])
def test_the_bend_clips_developed_on_hold_their_figures(name: str) -> None:
    """16 clips of hinges and rounded backs within 60° of side-on each (seeds 29 and 32),
    the clip sets made for development (every one before them is held out): held so they
    keep finding every bend and call no hinge round with confidence."""
    _holds_its_figures(name, f"rendered_clip_dev_{name}")


@pytest.mark.parametrize(("name", "key"), [("set25h", "rendered_held_bends_set25h"),
                                         ("set26h", "rendered_held_out_set26h")])
def test_a_bend_held_still_is_one_bend_not_a_seat(name: str, key: str) -> None:
    """12 squats at yaw 0-90° and 6 hinges and rounds facing the camera, each bottom held
    still for 5 s (`generate.py --bottom-hold-s 5`), as in weeding or at a low cupboard:
    seed 25's (set25h, developed on) and seed 26's (set26h, held out). Each is one bend
    that lasts its hold, not a seat from its bottom on (a squat facing the camera was, its
    hips read in front of the heels); set25h keeps one: a squat with a load held in front
    whose hips read 0.3 behind the heels, as a seat's do."""
    tally = _holds_its_figures(name, key)
    held = json.loads(METRICS.read_text())[key]
    # The bends the scoring found, each clip's: matched to its span or false (an outcome is
    # named "clip@time", and every clip's span gives one, found or not).
    found: dict[str, list[AnalyzedBend]] = {o.item.split("@")[0]: [] for o in tally.outcomes}
    for o in tally.outcomes:
        if isinstance(o.detail, AnalyzedBend):
            found[o.item.split("@")[0]].append(o.detail)
    for clip, d in tally.false_detections:
        found[clip].append(d.detail)
    seats = [clip for clip, bends in sorted(found.items()) for b in bends if b.bend.ends_seated]
    whole = sum(any(b.bend.duration_s >= 5.0 for b in bends) for bends in found.values())
    assert len(found) == 18
    assert len(seats) <= held["seats"], seats
    assert whole >= held["whole_bends"]


def _holds_its_figures(name: str, key: str) -> Tally:
    """The set scored and held to its figures; the tally, for a test to read on."""
    held = json.loads(METRICS.read_text())[key]
    tally = score_items(load_recorded(HELD_OUT / name))
    now = tally.summary()
    assert now["items_labelled"] >= held["items"], now
    for figure in ("coverage", "confident_balanced_accuracy"):
        assert now[figure] >= held[figure] - SLACK, f"{figure}: {held[figure]} -> {now[figure]}"
    assert now["expected_calibration_error"] <= held["expected_calibration_error"] + SLACK
    wrong = hinges_called_round(tally.outcomes)
    assert len(wrong) <= held["hinge_called_round_confident"], wrong
    assert now["hinge_called_round_confident"] == len(wrong)
    # A sit set is about the bends found as much as their verdicts: no false one from
    # standing up or leaning in to eat, none missed.
    for figure in ("detection_precision", "detection_recall"):
        if figure in held:
            assert now[figure] >= held[figure] - SLACK, f"{figure}: {held[figure]} -> {now[figure]}"
    return tally
