"""The segmenter, the classifier's rules and the evaluation's arithmetic, on plain values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from edge.analysis.bends import (
    MAX_HELD_SAMPLES,
    MERGE_GAP_S,
    MIN_DURATION_S,
    RISE_MAX_S,
    SEATED_HOLD_FRONT_S,
    SEATED_STILL_IMAGE,
    BendSegmenter,
    Sample,
)
from edge.analysis.classifier import classify_bend, classify_samples
from edge.analysis.evaluation import (
    Detection,
    LabelRow,
    LabelsError,
    Outcome,
    Tally,
    balanced_accuracy,
    confusion_table,
    hinges_called_round,
    intervals,
    read_labels,
    reliability,
    uncovered_table,
)
from edge.analysis.kinematics import Kinematics, view_of
from edge.analysis.zones import Zone
from edge.pose.landmarks import Joint, Pose
from edge.review_export import ReviewedBend


def _pose(t: float) -> Pose:
    return Pose(t, (640, 480), np.full((33, 2), 0.5), np.ones(33), 1.0)


def _kin(t: float, trunk: float, lowering: float = 0.0, yaw: float = 10.0) -> Kinematics:
    return Kinematics(t, trunk, trunk, 10.0, 0.1, lowering, 15.0, 1.0, yaw, view_of(yaw), True,
                      True)


def _run(trunks: list[float], fps: float = 10.0, missing: set[int] = frozenset(),
         yaw: float = 10.0) -> list:
    seg = BendSegmenter()
    out = []
    for i, trunk in enumerate(trunks):
        t = i / fps
        sample = None if i in missing else Sample(_pose(t), _kin(t, trunk, yaw=yaw), None)
        out += seg.update(t, sample)
    return out + seg.finish()


def test_one_bend_with_hysteresis() -> None:
    # Dips under the entry threshold but stays over the exit one: still one bend.
    trunks = [0] * 5 + [35, 50, 70, 25, 45, 60, 40] + [10] * 10
    bends = _run(trunks)
    assert len(bends) == 1
    assert bends[0].start_s == pytest.approx(0.5)
    assert bends[0].deepest.kin.trunk_inclination_deg == 70


def test_a_fold_read_leaning_back_from_the_front_is_a_bend() -> None:
    """Head-on the model may put a deep fold's shoulders behind the hips (a rendered hinge to
    73° read −47°): seen from the front the tilt's size tells the bend, as nobody stands
    leaning back that far. Side-on, where the lean is seen in profile, it stays a lean."""
    trunks = [3] * 10 + [-20, -35, -46, -47, -47, -46, -45, -41, 20, 25, 18] + [5] * 10
    front = _run(trunks, yaw=80.0)
    assert len(front) == 1 and front[0].deepest.kin.trunk_inclination_deg == -47
    assert front[0].start_s == pytest.approx(1.2) and front[0].end_s == pytest.approx(1.7)
    assert _run(trunks, yaw=10.0) == []


def test_upright_seen_from_the_front_ends_a_bend_though_it_reads_25_degrees() -> None:
    """Head-on an upright person reads ~25° (reading, or seated facing the camera): after a
    bend that is upright, and a bend after it is a bend of its own. Side-on 25° is bent."""
    trunks = [3] * 10 + [50] * 10 + [25] * 50 + [50] * 10 + [3] * 10
    front = _run(trunks, yaw=80.0)
    assert [(b.start_s, b.end_s) for b in front] == [(1.0, 1.9), (7.0, 7.9)]
    assert len(_run(trunks, yaw=10.0)) == 1


def test_short_twitch_is_not_a_bend_but_a_clip_edge_bend_is() -> None:
    assert _run([0] * 5 + [40, 40] + [0] * 10) == []  # 0.1 s long
    assert MIN_DURATION_S > 0.1
    edge_cut = _run([60, 60, 10] + [0] * 10)
    assert len(edge_cut) == 1 and edge_cut[0].cut_at_start
    tail_cut = _run([0] * 10 + [40, 60])
    assert len(tail_cut) == 1 and tail_cut[0].cut_at_end


def test_a_short_pause_merges_two_dips_and_a_long_one_does_not() -> None:
    gap_frames = int(MERGE_GAP_S * 10) - 2
    merged = _run([0] * 3 + [60] * 8 + [5] * gap_frames + [60] * 8 + [0] * 15)
    assert len(merged) == 1
    apart = _run([0] * 3 + [60] * 8 + [5] * 20 + [60] * 8 + [0] * 15)
    assert len(apart) == 2


def test_missing_frames_inside_a_bend_are_bridged() -> None:
    bends = _run([0] * 3 + [60] * 12 + [0] * 10, missing={7, 8, 9})
    assert len(bends) == 1


def test_lowering_alone_starts_a_bend() -> None:
    seg = BendSegmenter()
    out = []
    for i in range(30):
        t = i / 10
        low = 0.3 if 5 <= i < 20 else 0.0
        out += seg.update(t, Sample(_pose(t), _kin(t, 10.0, low), None))
    assert len(out + seg.finish()) == 1


@pytest.mark.parametrize(("yaw", "view"), [(0, "side"), (29, "side"), (45, "oblique"),
                                            (61, "front"), (90, "front")])
def test_view_classes(yaw: float, view: str) -> None:
    assert view_of(yaw) == view


def test_zones_check_their_polygons() -> None:
    z = Zone("sink", "dishwasher", ((0, 0), (0.5, 0), (0.5, 0.5), (0, 0.5)))
    assert z.contains(np.array([[0.25, 0.25], [0.75, 0.25]])).tolist() == [True, False]
    with pytest.raises(ValueError, match="outside 0..1"):
        Zone("bad", "x", ((0, 0), (1.5, 0), (1, 1)))
    with pytest.raises(ValueError, match="3 or more"):
        Zone("bad", "x", ((0, 0), (1, 1)))


def _row(label: str, s: float | None = None, e: float | None = None) -> LabelRow:
    return LabelRow(2, Path("x.mp4"), s, e, label)


def test_tally_matches_deepest_moments_to_spans() -> None:
    tally = Tally()
    rows = [_row("hinge", 0, 2), _row("round", 3, 5), _row("ignore", 6, 7), _row("squat", 8, 9)]
    # a hinge right, a round called hinge, one in the ignore span, one false detection,
    # and the squat missed.
    tally.video(rows, [Detection(1.0, "hinge"), Detection(4.0, "hinge"),
                       Detection(6.5, "round"), Detection(10.0, "squat")])
    tally.item(Outcome("p.png", "stand", "stand"))
    s = tally.summary()
    assert s["bends_labelled"] == 3 and s["bends_detected"] == 3
    assert s["detection_recall"] == pytest.approx(2 / 3, abs=1e-3)
    assert s["detection_precision"] == pytest.approx(2 / 3, abs=1e-3)
    assert s["confusion"]["squat"] == {"none": 1}
    assert s["items_labelled"] == 4 and s["accuracy"] == 0.5
    # per-class recall: hinge 1, round 0, squat 0, stand 1
    assert math.isclose(s["balanced_accuracy"], 0.5)
    assert [d.t_s for _, d in tally.false_detections] == [10.0]


def test_the_summary_counts_hinges_called_round_with_confidence() -> None:
    tally = Tally()
    for item, truth, said, conf in [("a", "hinge", "round", 0.8), ("b", "hinge", "round", 0.79),
                                    ("c", "squat", "round", 0.95), ("d", "hinge", "hinge", 0.9)]:
        tally.item(Outcome(item, truth, said, conf))
    assert hinges_called_round(tally.outcomes) == ["a"]
    assert tally.summary()["hinge_called_round_confident"] == 1


def test_unsure_is_not_covered_and_confident_accuracy_counts_only_covered_items() -> None:
    tally = Tally()
    for truth, said, conf in [("hinge", "hinge", 0.95), ("hinge", "unsure", 0.3),
                              ("round", "round", 0.85), ("round", "hinge", 0.65),
                              ("squat", "squat", 0.9), ("squat", "none", None)]:
        tally.item(Outcome("x", truth, said, conf))
    s = tally.summary()
    assert s["hinge_called_round_confident"] == 0
    assert s["coverage"] == pytest.approx(4 / 6, abs=1e-3)
    # covered: hinge 1/1, round 1/2, squat 1/1
    assert s["confident_balanced_accuracy"] == pytest.approx((1 + 0.5 + 1) / 3, abs=1e-3)
    assert s["balanced_accuracy"] == pytest.approx((0.5 + 0.5 + 0.5) / 3, abs=1e-3)
    # bands: 0.6–0.7 holds one wrong item (0.65), 0.8–0.9 one right (0.85), 0.9–1.0 two right
    ece = (0.65 * 1 + 0.15 * 1 + 0.075 * 2) / 4
    assert s["expected_calibration_error"] == pytest.approx(ece, abs=1e-3)
    bands = {r["band"]: r for r in reliability(tally.outcomes)}
    assert bands["0.6–0.7"]["items"] == 1 and bands["0.6–0.7"]["accuracy"] == 0.0
    table = confusion_table(s["confusion"])
    assert table.splitlines()[0].split()[-1] == "unsure"
    assert "round" in table.splitlines()[2]


def _mixed_outcomes(n: int, seed: int) -> list[Outcome]:
    """`n` items of three classes, some unsure, some wrong."""
    rng = np.random.default_rng(seed)
    said_for = {"hinge": ("hinge", "hinge", "hinge", "round", "unsure"),
                "round": ("round", "round", "hinge", "unsure", "unsure"),
                "squat": ("squat", "squat", "squat", "squat", "none")}
    truths = rng.choice(sorted(said_for), size=n)
    return [Outcome(f"i{i}", str(t), str(rng.choice(said_for[str(t)])), 0.9)
            for i, t in enumerate(truths)]


def test_the_intervals_work_each_figure_out_as_the_summary_does_on_every_resample() -> None:
    from edge.analysis.evaluation import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED

    outcomes = _mixed_outcomes(60, seed=3)
    # The same resamples, each scored one by one with the summary's own definitions.
    picks = np.random.default_rng(BOOTSTRAP_SEED).integers(
        0, len(outcomes), size=(BOOTSTRAP_RESAMPLES, len(outcomes)))
    coverage, accuracy = [], []
    for row in picks:
        sample = [outcomes[i] for i in row]
        coverage.append(sum(o.covered for o in sample) / len(sample))
        covered = [o for o in sample if o.covered]
        if covered:
            accuracy.append(balanced_accuracy(covered))
    ci = intervals(outcomes)
    assert ci["coverage"] == pytest.approx(np.percentile(coverage, (2.5, 97.5)), abs=1e-4)
    assert ci["confident_balanced_accuracy"] == pytest.approx(
        np.percentile(accuracy, (2.5, 97.5)), abs=2e-4)  # (balanced_accuracy rounds to 1e-4)
    summary = Tally()
    for o in outcomes:
        summary.item(o)
    s = summary.summary()
    assert s["ci95"] == ci
    lo, hi = ci["confident_balanced_accuracy"]
    assert lo < s["confident_balanced_accuracy"] < hi


def test_more_items_of_the_same_kind_narrow_the_intervals_and_none_give_none() -> None:
    def width(n: int) -> float:
        lo, hi = intervals(_mixed_outcomes(n, seed=5))["confident_balanced_accuracy"]
        return hi - lo

    assert width(1000) < width(100) / 2  # ~1/sqrt(n): a tenth of the items, 3x the width
    assert intervals([]) == {"coverage": None, "confident_balanced_accuracy": None}
    nothing_said = [Outcome("x", "hinge", "unsure"), Outcome("y", "round", "none")]
    assert intervals(nothing_said) == {"coverage": [0.0, 0.0],
                                       "confident_balanced_accuracy": None}


def test_items_without_a_verdict_are_counted_by_why() -> None:
    """What keeps coverage down, by the unsure verdict's own reason (reviewed bends keep
    theirs), or nothing read at all."""
    def reviewed(posture: str, reasons: tuple[str, ...]) -> ReviewedBend:
        return ReviewedBend("e", "d", "2026-12-01T10:00:00Z", "hinge", posture, 0.0, reasons,
                            "side", {})

    tally = Tally()
    for truth, said, detail in [
            ("hinge", "hinge", reviewed("hinge", ())),
            ("hinge", "none", None),
            ("round", "unsure", reviewed("unsure", ("front_view",))),
            ("round", "unsure", reviewed("unsure", ("head_drop", "back_hidden"))),
            ("squat", "unsure", reviewed("unsure", ("front_view", "locked_knees"))),
            ("squat", "unsure", None)]:
        tally.item(Outcome("x", truth, said, None, detail))
    assert [o.uncovered_why for o in tally.outcomes] == [
        None, "nothing_read", "front_view", "back_hidden", "front_view", "back_unclear"]
    s = tally.summary()
    assert s["uncovered"] == {"nothing_read": 1, "front_view": 2, "back_hidden": 1,
                              "back_unclear": 1}
    assert sum(s["uncovered"].values()) == round((1 - s["coverage"]) * 6)
    rows = {line.split()[0]: line.split()[1:3] for line in
            uncovered_table(tally.outcomes).splitlines()[1:]}
    assert rows["front_view"] == ["2", "33%"] and rows["nothing_read"] == ["1", "17%"]
    # Out of the rules' reach: nobody found, and the rounded back seen from the front; the
    # squat seen from the front is not (the picture's proportions tell a squat).
    assert s["coverage_possible"] == round(4 / 6, 4)
    assert "at most 67% could be covered" in uncovered_table(tally.outcomes)
    # By the view each was seen from (a reviewed bend keeps its own; none known: unread).
    assert {v: f["items"] for v, f in s["by_view"].items()} == {"side": 4, "unread": 2}
    assert s["by_view"]["side"]["coverage"] == pytest.approx(1 / 4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("clip,start,end,label\n", "expected the header"),
        ("clip,start_s,end_s,label\nmissing.mp4,1,2,hinge\n", "not found"),
        ("clip,start_s,end_s,label\nv.mp4,2,1,hinge\n", "before start_s"),
        ("clip,start_s,end_s,label\nv.mp4,1,2,stand\n", "video label 'stand'"),
        ("clip,start_s,end_s,label\nv.mp4,,,ignore\n", "picture label 'ignore'"),
        ("clip,start_s,end_s,label\nv.mp4,a,2,hinge\n", "must be numbers"),
    ],
)
def test_bad_labels_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "v.mp4").write_bytes(b"")
    labels = tmp_path / "labels.csv"
    labels.write_text(text)
    with pytest.raises(LabelsError, match=message):
        read_labels(labels)


def _body_pose(t: float, lowering: float, bob: float) -> Pose:
    """A picture whose hips drop with the lowering (of a leg 1.7 trunk lengths long, an
    adult's) and move `bob` trunk lengths up and down, the trunk 0.2 of the frame's height
    above them."""
    xy = np.full((33, 2), 0.5)
    hip_y = 0.3 + 0.2 * (1.7 * lowering + bob * math.sin(9.0 * t))
    xy[[Joint.LEFT_HIP, Joint.RIGHT_HIP]] = [[0.47, hip_y], [0.53, hip_y]]
    xy[[Joint.LEFT_SHOULDER, Joint.RIGHT_SHOULDER]] = [[0.44, hip_y - 0.2], [0.56, hip_y - 0.2]]
    return Pose(t, (640, 480), xy, np.ones(33), 1.0)


def _seated_run(phases: list[tuple[float, float, float, float]], fps: float = 10.0,
                shift: float = 0.45, view: str = "side", jitter: float = 0.0,
                bob: float = 0.0) -> list:
    """Frames from (seconds, trunk°, lowering, knee°) phases, each value reached linearly;
    the hips `shift` behind the ankles once lowered (a seat's place). `view` "front": the
    world landmarks' lowering wobbles by ±`jitter` from frame to frame and the knees by
    ±300 × `jitter` degrees, as seen head-on; `bob`: the hips move that many trunk lengths
    up and down in the picture."""
    seg = BendSegmenter()
    out: list = []
    trunk, low, knee, t = 0.0, 0.0, 5.0, 0.0
    yaw = 80.0 if view == "front" else 10.0
    frame = 0
    for secs, trunk_to, low_to, knee_to in phases:
        n = max(1, round(secs * fps))
        for i in range(1, n + 1):
            f = i / n
            lowering = low + f * (low_to - low)
            wobble = math.sin(1.7 * frame)
            k = Kinematics(t, trunk + f * (trunk_to - trunk), 0.0,
                           knee + f * (knee_to - knee) + 300.0 * jitter * math.sin(2.3 * frame),
                           shift * min(1.0, lowering / 0.4), lowering + jitter * wobble, 15.0,
                           1.0, yaw, view_of(yaw), True, True)
            out += seg.update(t, Sample(_body_pose(t, lowering, bob), k, None))
            t += 1 / fps
            frame += 1
        trunk, low, knee = trunk_to, low_to, knee_to
    return out + seg.finish()


# Standing, hinging into the chair, settling onto the seat: how the sitting tests begin.
SIT_DOWN = [(1.0, 0.0, 0.0, 5.0), (1.5, 40.0, 0.3, 70.0), (0.5, 10.0, 0.45, 90.0)]


def test_sitting_down_is_one_bend_and_being_seated_and_standing_up_are_none() -> None:
    bends = _seated_run([
        *SIT_DOWN,
        (5.0, 10.0, 0.45, 90.0),   # seated, still
        (1.0, 40.0, 0.2, 60.0),    # standing up: trunk forward, hips rising
        (0.5, 0.0, 0.0, 5.0),
        (1.0, 0.0, 0.0, 5.0),
    ])
    assert len(bends) == 1, [(b.start_s, b.end_s) for b in bends]
    sit = bends[0]
    assert sit.ends_seated and not sit.seated
    assert 1.0 <= sit.start_s <= 2.2 and sit.end_s <= 4.0  # ends when the hips came to rest


def test_a_seat_read_shallow_is_still_a_seat() -> None:
    # The world landmarks read a seated body's hips as little as 0.17 of leg length down
    # seen obliquely (a seat puts them 0.4–0.5): still seated, the sit-down ends on the seat.
    bends = _seated_run([
        (1.0, 0.0, 0.0, 5.0),
        (1.5, 40.0, 0.15, 60.0),
        (0.5, 10.0, 0.17, 75.0),
        (4.0, 10.0, 0.17, 75.0),
        (1.0, 0.0, 0.0, 5.0),
        (1.0, 0.0, 0.0, 5.0),
    ], shift=0.7)  # the hips read 0.3 behind the heels on the seat, as there
    assert len(bends) == 1 and bends[0].ends_seated and bends[0].end_s <= 4.5


def test_a_sit_down_seen_only_as_the_hips_land_is_still_a_bend() -> None:
    # From the front the lean reads under the entry tilt; only the hips' last drop onto the
    # seat shows, a bend shorter than MIN_DURATION_S: the seat held after it confirms it.
    bends = _seated_run([
        (1.0, 0.0, 0.0, 5.0),
        (0.3, 10.0, 0.45, 90.0),   # hips down onto the seat within 0.3 s
        (3.0, 10.0, 0.45, 90.0),
        (1.0, 0.0, 0.0, 5.0),
        (1.0, 0.0, 0.0, 5.0),
    ])
    assert len(bends) == 1 and bends[0].ends_seated
    assert bends[0].duration_s < MIN_DURATION_S


def _reach_from_the_chair(trunk_deg: float, knee_deg: float) -> list:
    """Sitting down, then leaning to the floor from the chair (trunk and knees at the
    reach's deepest) and back."""
    return _seated_run([*SIT_DOWN, (2.0, 10.0, 0.45, 90.0), (1.0, trunk_deg, 0.45, knee_deg),
                        (1.0, 10.0, 0.45, 90.0), (2.0, 10.0, 0.45, 90.0)])


def test_a_seated_lean_to_the_floor_is_a_seated_bend() -> None:
    bends = _reach_from_the_chair(70.0, 90.0)
    assert [(b.ends_seated, b.seated) for b in bends] == [(True, False), (False, True)]
    lean = bends[1]
    assert max(s.kin.trunk_inclination_deg for s in lean.samples) >= 65


def test_a_seated_fold_whose_hips_read_up_is_still_a_seated_bend() -> None:
    """Folded over the knees to the floor, the hips read near standing height for a moment
    (as head-on renders read them): still seated and bending, not standing up."""
    bends = _seated_run([*SIT_DOWN, (2.0, 10.0, 0.45, 90.0), (1.0, 85.0, 0.45, 60.0),
                         (0.4, 95.0, 0.03, 25.0), (0.4, 85.0, 0.45, 60.0),
                         (1.0, 10.0, 0.45, 90.0), (2.0, 10.0, 0.45, 90.0)])
    assert [(b.ends_seated, b.seated) for b in bends] == [(True, False), (False, True)]
    assert max(s.kin.trunk_inclination_deg for s in bends[1].samples) >= 90


def test_a_bend_made_seated_is_never_a_squat() -> None:
    """A reach from the chair bends the knees because the chair does: judged by the back
    (here unread: unsure), never a squat, though the knees (95°) and the trunk (48°) are a
    squat's."""
    bends = _reach_from_the_chair(48.0, 95.0)
    assert [(b.ends_seated, b.seated) for b in bends] == [(True, False), (False, True)]
    assert classify_bend(bends[1]).posture == "unsure"
    # The same knees and trunk standing are a squat.
    assert classify_samples(bends[1].samples).posture == "squat"


def test_a_held_squat_is_not_seated() -> None:
    # Bouncing at the bottom of a squat: never still long enough to be seated.
    phases = [(1.0, 0.0, 0.0, 5.0)]
    for _ in range(4):
        phases += [(0.4, 30.0, 0.45, 110.0), (0.4, 30.0, 0.3, 90.0)]
    phases += [(0.6, 0.0, 0.0, 5.0), (1.0, 0.0, 0.0, 5.0)]
    bends = _seated_run(phases)
    assert len(bends) == 1 and not bends[0].ends_seated
    # Held still at the bottom, but balanced over the feet: a squat, not a seat.
    bends = _seated_run([(1.0, 0.0, 0.0, 5.0), (1.0, 30.0, 0.45, 110.0),
                         (4.0, 30.0, 0.45, 110.0), (1.0, 0.0, 0.0, 5.0)], shift=0.2)
    assert len(bends) == 1 and not bends[0].ends_seated


def test_a_seat_facing_the_camera_is_told_by_the_picture() -> None:
    """Head-on, the world landmarks put a still seated body's hips 0.06 behind the heels
    and from frame to frame 0.19–0.30 down, the knees 55–86° (a rendered sit clip): the
    seated test fails on most frames. The hips still in the picture for
    SEATED_HOLD_FRONT_S with a seated posture's medians: seated, and the sit-down ends
    there instead of running on as one long bend."""
    phases = [
        (1.0, 0.0, 0.0, 5.0),
        (1.5, 40.0, 0.25, 70.0),   # into the chair
        (0.5, 15.0, 0.25, 72.0),
        (8.0, 15.0, 0.25, 72.0),   # seated, still
        (1.0, 40.0, 0.1, 30.0),    # standing up
        (0.5, 0.0, 0.0, 5.0),
        (2.0, 0.0, 0.0, 5.0),
    ]
    bends = _seated_run(phases, shift=0.06, view="front", jitter=0.05)
    assert len(bends) == 1, [(b.start_s, b.end_s) for b in bends]
    assert bends[0].ends_seated and bends[0].end_s <= 3.5
    # Seen side-on the same hips, near the heels, are a squat's place: no seat there.
    side = _seated_run(phases, shift=0.06)
    assert len(side) == 1 and not side[0].ends_seated and side[0].end_s >= 10.0


def test_facing_the_camera_a_squat_is_not_taken_for_a_seat() -> None:
    # Held still for less than SEATED_HOLD_FRONT_S: a squat, its bend ends as it stands.
    bends = _seated_run([(1.0, 0.0, 0.0, 5.0), (1.0, 20.0, 0.35, 100.0),
                         (0.7 * SEATED_HOLD_FRONT_S, 20.0, 0.35, 100.0), (1.0, 0.0, 0.0, 5.0),
                         (1.0, 0.0, 0.0, 5.0)], shift=0.06, view="front", jitter=0.05)
    assert len(bends) == 1 and not bends[0].ends_seated
    # Longer, but the hips moving in the picture (weeding, shifting the weight): no seat.
    bends = _seated_run([(1.0, 0.0, 0.0, 5.0), (1.0, 20.0, 0.35, 100.0),
                         (3 * SEATED_HOLD_FRONT_S, 20.0, 0.35, 100.0), (1.0, 0.0, 0.0, 5.0),
                         (1.0, 0.0, 0.0, 5.0)],
                        shift=0.06, view="front", bob=2 * SEATED_STILL_IMAGE)
    assert len(bends) == 1 and not bends[0].ends_seated
    # Held still longer, but the hips read in front of the heels, over the feet: a squat
    # (rendered squats held 5 s facing the camera read 0.14–0.48 in front), one bend to
    # the end, not a seat from the bottom on.
    bends = _seated_run([(1.0, 0.0, 0.0, 5.0), (1.0, 20.0, 0.35, 100.0),
                         (3 * SEATED_HOLD_FRONT_S, 20.0, 0.35, 100.0), (1.0, 0.0, 0.0, 5.0),
                         (1.0, 0.0, 0.0, 5.0)], shift=-0.3, view="front", jitter=0.05)
    assert len(bends) == 1 and not bends[0].ends_seated
    assert bends[0].end_s >= 1.0 + 3 * SEATED_HOLD_FRONT_S
    # Standing still facing the camera is no seat either, however long.
    assert _seated_run([(10.0, 0.0, 0.02, 8.0)], view="front", jitter=0.01) == []


def test_standing_up_with_a_forward_lean_is_not_a_seated_bend() -> None:
    bends = _seated_run([
        *SIT_DOWN,
        (3.0, 10.0, 0.45, 90.0),
        (0.6, 50.0, 0.35, 80.0),   # the rise: trunk well forward, hips leaving the seat
        (0.6, 15.0, 0.12, 20.0),   # trunk back up before the hips are all the way up
        (0.5, 0.0, 0.0, 5.0),
        (1.0, 0.0, 0.0, 5.0),
    ])
    assert [(b.ends_seated, b.seated) for b in bends] == [(True, False)]


def test_the_rise_from_a_chair_is_no_bend_until_the_person_has_stood_upright() -> None:
    """The hips up before the trunk (the rendered sit clips: the model reads the rise's lean
    20–35° as the hips pass standing height): still the rise. A bend after standing upright
    is a bend."""
    bends = _seated_run([
        *SIT_DOWN,
        (3.0, 10.0, 0.45, 90.0),
        (0.6, 45.0, 0.3, 70.0),    # the rise: trunk forward, hips leaving the seat
        (0.6, 38.0, 0.02, 10.0),   # hips at standing height, the trunk still forward
        (0.8, 35.0, 0.02, 8.0),
        (0.6, 0.0, 0.0, 5.0),      # upright
        (1.0, 0.0, 0.0, 5.0),
        (1.0, 70.0, 0.05, 15.0),   # then a bend to the floor
        (1.0, 0.0, 0.0, 5.0),
        (1.0, 0.0, 0.0, 5.0),
    ])
    assert [(b.ends_seated, b.seated) for b in bends] == [(True, False), (False, False)]
    assert bends[1].start_s >= 9.0
    # Risen part way and sat back down: seated again, and a reach from there is a seated bend.
    bends = _seated_run([
        *SIT_DOWN,
        (2.0, 10.0, 0.45, 90.0),
        (0.6, 40.0, 0.05, 20.0),   # half up, still leaning
        (0.6, 10.0, 0.45, 90.0),   # back down on the seat
        (2.0, 10.0, 0.45, 90.0),
        (1.0, 70.0, 0.45, 90.0),   # reaching to the floor from the chair
        (1.0, 10.0, 0.45, 90.0),
        (2.0, 10.0, 0.45, 90.0),
    ])
    assert [(b.ends_seated, b.seated) for b in bends] == [(True, False), (False, True)]
    # Up from the chair and straight into a long bend, never upright between: past
    # RISE_MAX_S of the rise it is a bend again.
    bends = _seated_run([
        *SIT_DOWN,
        (2.0, 10.0, 0.45, 90.0),
        (0.6, 45.0, 0.02, 10.0),   # up, leaning on into a bend to the floor
        (5.0, 70.0, 0.05, 15.0),
        (1.0, 0.0, 0.0, 5.0),
        (1.0, 0.0, 0.0, 5.0),
    ])
    assert [(b.ends_seated, b.seated) for b in bends] == [(True, False), (False, False)]
    assert bends[1].start_s >= 4.5 + RISE_MAX_S


def test_a_long_bend_holds_a_bounded_number_of_frames_and_keeps_its_span_and_depth() -> None:
    # A five-minute kneel in the garden at 15 fps, hips low, trunk upright; its lowest
    # moment 200 s in.
    fps, n = 15.0, 15 * 300
    lowering = [0.0] * 15 + [0.3] * n + [0.0] * 15
    deepest_at = 15 + 200 * 15
    lowering[deepest_at] = 0.35
    seg = BendSegmenter()
    out, most_held = [], 0
    for i, low in enumerate(lowering):
        t = i / fps
        out += seg.update(t, Sample(_pose(t), _kin(t, 5.0, low), None))
        if seg._open is not None:
            most_held = max(most_held, len(seg._open.samples))
    out += seg.finish()
    assert len(out) == 1
    bend = out[0]
    assert most_held <= MAX_HELD_SAMPLES
    assert len(bend.samples) > MAX_HELD_SAMPLES // 2
    assert bend.start_s == pytest.approx(15 / fps)
    assert bend.end_s == pytest.approx((15 + n - 1) / fps)
    assert bend.deepest.kin.lowering_norm == 0.35
    # Held evenly over the whole bend, not thinned over and over at its start.
    gaps = np.diff([s.kin.t_s for s in bend.samples])
    assert gaps.max() <= 1.001 * np.median(gaps)
