"""The synthetic household: engine-shaped poses, true labels, a back outline that shows the
spine's shape, and reproducibility."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest

from edge.analysis.backline import back_line
from edge.analysis.classifier import ROUND_MAX_CHORD_TO_LEG, TUCK_FLAT, TUCK_ROUND
from edge.analysis.kinematics import kinematics
from edge.pose.landmarks import NUM_JOINTS, Joint, Pose
from edge.synth import (
    REASONS,
    Camera,
    Motion,
    SynthBody,
    SynthNoise,
    household_day,
    make_clip,
    render_frame,
)
from edge.synth.motion import Kind

# Degrees a measured angle may miss the one the body was posed with (landmark geometry:
# shoulder and hip landmarks are joint centres, the posed angle is the same chord).
ANGLE_TOLERANCE_DEG = 3.0


def side_camera(yaw_deg: float = 0.0, pitch_deg: float = 0.0) -> Camera:
    return Camera.around(yaw_deg, pitch_deg, 3.2, resolution_wh=(640, 480), fps=15.0)


def hinge(trunk_deg: float, **kw: float) -> Motion:
    params = dict(kind="hinge", subtype="hip_hinge", depth=1.0, down_s=1.0, hold_s=0.6,
                  up_s=1.0, trunk_deg=trunk_deg, knee_deg=20.0, lumbar_deg=0.0,
                  thoracic_deg=-5.0, neck_deg=0.0)
    params.update(kw)
    return Motion(**params)  # type: ignore[arg-type]  # test values of each field's type, checked by Motion


def world_inclination_deg(pose: Pose) -> float:
    """Mid-hip → mid-shoulder against the world's up (−y), in degrees."""
    assert pose.world_m is not None
    w = pose.world_m
    trunk = (w[Joint.LEFT_SHOULDER] + w[Joint.RIGHT_SHOULDER]) / 2 - (
        w[Joint.LEFT_HIP] + w[Joint.RIGHT_HIP]) / 2
    return math.degrees(math.acos(-trunk[1] / np.linalg.norm(trunk)))


def image_inclination_deg(pose: Pose) -> float:
    """The same against the image's vertical."""
    xy = pose.xy_px
    trunk = (xy[Joint.LEFT_SHOULDER] + xy[Joint.RIGHT_SHOULDER]) / 2 - (
        xy[Joint.LEFT_HIP] + xy[Joint.RIGHT_HIP]) / 2
    return math.degrees(math.atan2(abs(trunk[0]), -trunk[1]))


def dorsal_bulge(pose: Pose) -> float:
    """How far the mask's back outline bulges out of the line through its ends, over the
    hip–shoulder chord (the dowel test), measured along the chord's normals in the crop."""
    assert pose.segmentation is not None
    a = pose.segmentation.crop_to_frame
    xy = (pose.xy_px - a[:, 2]) @ np.linalg.inv(a[:, :2]).T
    mask = pose.segmentation.mask >= 0.5
    hip = (xy[Joint.LEFT_HIP] + xy[Joint.RIGHT_HIP]) / 2
    chord = (xy[Joint.LEFT_SHOULDER] + xy[Joint.RIGHT_SHOULDER]) / 2 - hip
    length = float(np.linalg.norm(chord))
    unit = chord / length
    normal = np.array([-unit[1], unit[0]])
    knees = (xy[Joint.LEFT_KNEE] + xy[Joint.RIGHT_KNEE]) / 2
    dorsal = -np.sign(np.dot(knees - hip, normal)) * normal  # the thighs fold to the belly
    stations = np.linspace(0.2, 0.85, 14)
    steps = np.arange(0.0, 0.6 * length, 0.5)
    depth = np.full(len(stations), np.nan)
    for i, s in enumerate(stations):
        ray = hip + s * chord + steps[:, None] * dorsal
        idx = np.round(ray).astype(int)
        ok = ((idx >= 0) & (idx < mask.shape[0])).all(axis=1)
        inside = np.zeros(len(steps), bool)
        inside[ok] = mask[idx[ok, 1], idx[ok, 0]]
        if inside[0] and not inside.all():
            depth[i] = steps[np.argmin(inside)]
    found = np.flatnonzero(np.isfinite(depth))
    assert len(found) >= 8, "the back's outline was not found"
    f, g = found[0], found[-1]
    line = depth[f] + (depth[g] - depth[f]) * (stations - stations[f]) / (stations[g] - stations[f])
    return float(np.nanmax(depth - line)) / length


def test_poses_have_the_engines_shapes_and_types() -> None:
    clip = make_clip(np.random.default_rng(0), n_bends=1)
    poses = [p for p in clip.poses if p is not None]
    assert len(poses) > 0.9 * len(clip.poses)
    assert len(clip.truth.t_s) == len(clip.poses)
    for p in poses[:: max(1, len(poses) // 10)]:
        assert p.resolution_wh == clip.camera.resolution_wh
        assert p.xy_norm.shape == (NUM_JOINTS, 2) and p.xy_norm.dtype == np.float64
        assert p.visibility.shape == (NUM_JOINTS,)
        assert ((p.visibility >= 0) & (p.visibility <= 1)).all()
        assert p.z_norm is not None and p.z_norm.shape == (NUM_JOINTS,)
        assert p.world_m is not None and p.world_m.shape == (NUM_JOINTS, 3)
        hip_mid = (p.world_m[Joint.LEFT_HIP] + p.world_m[Joint.RIGHT_HIP]) / 2
        assert np.allclose(hip_mid, 0.0, atol=1e-9)
        assert p.aux_xy_norm is not None and p.aux_xy_norm.shape == (2, 2)
        assert 0.5 <= p.presence <= 1.0
        assert p.engine.startswith("blazepose")
        seg = p.segmentation
        assert seg is not None
        assert seg.mask.shape == (256, 256) and seg.mask.dtype == np.float32
        assert float(seg.mask.min()) >= 0.0 and float(seg.mask.max()) <= 1.0
        assert seg.crop_to_frame.shape == (2, 3)
        # The mask, put back on the frame, covers the hips.
        frame_mask = p.mask_in_frame()
        assert frame_mask is not None
        hx, hy = np.round((p.xy_px[Joint.LEFT_HIP] + p.xy_px[Joint.RIGHT_HIP]) / 2).astype(int)
        assert frame_mask[hy, hx] > 0.5
    assert all(p.t_s == pytest.approx(i / clip.fps) for i, p in enumerate(clip.poses)
               if p is not None)


def test_world_axes_follow_blazepose() -> None:
    """y down, x towards image right, z away from the camera (signs as the real engine)."""
    rng = np.random.default_rng(1)
    clip = make_clip(rng, motions=[hinge(70)], camera=side_camera(), noise=SynthNoise.none())
    stand = clip.poses[0]
    assert stand is not None and stand.world_m is not None and stand.z_norm is not None
    w = stand.world_m
    assert w[Joint.NOSE, 1] < w[Joint.LEFT_SHOULDER, 1] < w[Joint.LEFT_HIP, 1] + 0.05
    assert w[Joint.LEFT_KNEE, 1] > 0.3 and w[Joint.LEFT_ANKLE, 1] > 0.6
    # Camera on the person's left: the left side is nearer (negative z), in both units.
    assert w[Joint.LEFT_SHOULDER, 2] < w[Joint.RIGHT_SHOULDER, 2]
    assert stand.z_norm[Joint.LEFT_SHOULDER] < stand.z_norm[Joint.RIGHT_SHOULDER]
    deep = clip.deepest_pose(clip.labels[0])
    assert deep is not None and deep.world_m is not None
    head_x = deep.world_m[Joint.NOSE, 0]
    img_dx = deep.xy_norm[Joint.NOSE, 0] - deep.xy_norm[Joint.LEFT_HIP, 0]
    assert np.sign(head_x) == np.sign(img_dx)


def test_a_side_view_standing_body_is_upright() -> None:
    rng = np.random.default_rng(2)
    for _ in range(3):
        clip = make_clip(rng, motions=[hinge(60)], camera=side_camera(),
                         noise=SynthNoise.none())
        stand = clip.poses[1]
        assert stand is not None
        assert world_inclination_deg(stand) < 5.0
        assert image_inclination_deg(stand) < 5.0


@pytest.mark.parametrize("trunk_deg", [40.0, 70.0, 90.0])
def test_a_hinge_reaches_the_inclination_it_was_posed_with(trunk_deg: float) -> None:
    clip = make_clip(np.random.default_rng(3), motions=[hinge(trunk_deg)],
                     camera=side_camera(), noise=SynthNoise.none())
    label = clip.labels[0]
    deep = clip.deepest_pose(label)
    assert deep is not None
    assert label.trunk_inclination_deg == pytest.approx(trunk_deg, abs=ANGLE_TOLERANCE_DEG)
    assert world_inclination_deg(deep) == pytest.approx(trunk_deg, abs=ANGLE_TOLERANCE_DEG)
    # A level camera on the side sees the same angle, less a little perspective.
    assert image_inclination_deg(deep) == pytest.approx(trunk_deg, abs=2 * ANGLE_TOLERANCE_DEG)


def _deepest_poses(seed: int, per_kind: int = 12) -> dict[str, list[Pose]]:
    """The deepest pose of `per_kind` single-bend clips of each kind, hinge and round."""
    rng = np.random.default_rng(seed)
    poses: dict[str, list[Pose]] = {"hinge": [], "round": []}
    kind: Kind
    for kind in ("hinge", "round"):
        for _ in range(per_kind):
            clip = make_clip(rng, kinds=(kind,), n_bends=1, yaw_range_deg=(-30, 30))
            deep = clip.deepest_pose(clip.labels[0])
            assert deep is not None
            poses[kind].append(deep)
    return poses


def test_the_back_outline_bulges_for_a_round_back_and_not_for_a_hinge() -> None:
    poses = _deepest_poses(4)
    hinges = np.array([dorsal_bulge(p) for p in poses["hinge"]])
    rounds = np.array([dorsal_bulge(p) for p in poses["round"]])
    # Flat backs stay within a few % of the chord; rounded ones stand clearly out.
    assert np.median(hinges) < 0.03
    assert np.median(rounds) - np.median(hinges) > 0.04
    ordered = (rounds[:, None] > hinges[None, :]).mean()
    assert ordered > 0.95, (hinges.round(3), rounds.round(3))


def test_labels_are_consistent() -> None:
    rng = np.random.default_rng(5)
    seen_postures = set()
    for _ in range(6):
        clip = make_clip(rng, n_bends=3, n_stands=1)
        assert len(clip.labels) == 3 and len(clip.stand_spans) == 1
        for lb in clip.labels:
            seen_postures.add(lb.posture)
            assert lb.start_s < lb.deepest_s < lb.end_s
            assert set(lb.reasons) <= set(REASONS)
            assert 0.6 <= lb.depth <= 1.0
            if lb.posture == "round":
                assert lb.reasons, lb
            else:
                assert not set(lb.reasons) & {"lumbar_rounding", "upper_back_rounding",
                                              "waist_bend"}
            if lb.posture == "squat":
                assert lb.knee_flexion_deg > 70
            if lb.posture == "hinge":
                assert lb.lumbar_flexion_deg + lb.thoracic_flexion_deg <= 15
            i = clip.index_at(lb.deepest_s)
            assert clip.truth.posture[i] == lb.posture
            assert 0.0 <= lb.hands_xy_norm[0] <= 1.0 and 0.0 <= lb.hands_xy_norm[1] <= 1.0
    assert seen_postures == {"hinge", "round", "squat"}


def test_standing_motions_are_no_bends() -> None:
    clip = make_clip(np.random.default_rng(6), kinds=("stand",), n_bends=4)
    assert clip.labels == [] and len(clip.stand_spans) == 4
    assert np.nanmax(clip.truth.trunk_inclination_deg) < 20
    assert np.nanmax(clip.truth.knee_flexion_deg) < 30


def test_open_ended_clips_cut_a_bend_under_way() -> None:
    clip = make_clip(np.random.default_rng(7), n_bends=2, open_start=True, open_end=True)
    first, last = clip.labels[0], clip.labels[-1]
    assert first.start_s < 0 < first.deepest_s
    assert last.deepest_s < clip.duration_s < last.end_s
    assert clip.truth.trunk_inclination_deg[0] > 10 or clip.truth.knee_flexion_deg[0] > 20


def test_the_same_seed_gives_the_same_clip() -> None:
    a = make_clip(np.random.default_rng(8), n_bends=2)
    b = make_clip(np.random.default_rng(8), n_bends=2)
    assert a.labels == b.labels and a.camera == b.camera and a.body == b.body
    assert len(a.poses) == len(b.poses)
    for p, q in zip(a.poses, b.poses, strict=True):
        assert (p is None) == (q is None)
        if p is not None and q is not None:
            assert np.array_equal(p.xy_norm, q.xy_norm)
            assert np.array_equal(p.visibility, q.visibility)
            assert p.world_m is not None and q.world_m is not None
            assert np.array_equal(p.world_m, q.world_m)
            assert p.segmentation is not None and q.segmentation is not None
            assert np.array_equal(p.segmentation.mask, q.segmentation.mask)
    c = make_clip(np.random.default_rng(9), n_bends=2)
    assert c.labels != a.labels


def test_a_front_view_spreads_the_shoulders() -> None:
    def shoulder_gap(front: bool) -> float:
        cam = (Camera.around(90, 10, 3.2, resolution_wh=(640, 480)) if front
               else side_camera(pitch_deg=10))
        clip = make_clip(np.random.default_rng(10), motions=[hinge(50)], camera=cam,
                         noise=SynthNoise.none(), with_mask=False)
        p = clip.poses[1]
        assert p is not None
        return abs(float(p.xy_norm[Joint.LEFT_SHOULDER, 0] - p.xy_norm[Joint.RIGHT_SHOULDER, 0]))

    assert shoulder_gap(front=True) > 5 * shoulder_gap(front=False)
    rng = np.random.default_rng(11)
    assert make_clip(rng, n_bends=1, front=True, with_mask=False).camera.yaw_deg == 90


def test_the_far_side_is_less_visible() -> None:
    clip = make_clip(np.random.default_rng(12), motions=[hinge(60)], camera=side_camera(),
                     with_mask=False)
    vis = np.array([p.visibility for p in clip.poses if p is not None])
    near = vis[:, [Joint.LEFT_KNEE, Joint.LEFT_ANKLE, Joint.LEFT_WRIST]].mean()
    far = vis[:, [Joint.RIGHT_KNEE, Joint.RIGHT_ANKLE, Joint.RIGHT_WRIST]].mean()
    assert near > 0.8 and far < 0.6


def test_world_legs_lean_towards_the_camera_like_the_engine() -> None:
    clip = make_clip(np.random.default_rng(13), motions=[hinge(60)], camera=side_camera(),
                     with_mask=False, noise=SynthNoise(world_tilt_deg=(14.0, 14.0)))
    p = next(p for p in clip.poses if p is not None)
    assert p.world_m is not None
    w = p.world_m
    for hip, ankle in ((Joint.LEFT_HIP, Joint.LEFT_ANKLE), (Joint.RIGHT_HIP, Joint.RIGHT_ANKLE)):
        leg = w[ankle] - w[hip]
        lean = math.degrees(math.atan2(leg[2], leg[1]))
        assert 4.0 < lean < 26.0
    # The trunk is not tilted by it.
    assert world_inclination_deg(p) < 6.0


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="kinds"):
        make_clip(np.random.default_rng(0), kinds=("cartwheel",))  # type: ignore[arg-type]  # an unknown kind on purpose
    with pytest.raises(ValueError, match="subtype"):
        Motion.random(np.random.default_rng(0), "hinge", "squat")
    with pytest.raises(ValueError, match="height_m"):
        SynthBody(height_m=3.0)


def test_a_household_day_has_activities_with_zone_hints() -> None:
    day = household_day(np.random.default_rng(14), ("dishwasher", "crib", "chair"),
                        with_mask=False)
    assert [a.name for a in day.activities] == ["dishwasher", "crib", "chair"]
    assert {lb.activity for lb in day.clip.labels} == {"dishwasher", "crib", "chair"}
    for a in day.activities:
        assert 0.0 < a.zone_hint_xy_norm[0] < 1.0 and 0.0 < a.zone_hint_xy_norm[1] < 1.0
        assert a.start_s < a.end_s
    assert all(lb.lift for lb in day.clip.labels if lb.activity == "crib")
    chair = [lb for lb in day.clip.labels if lb.activity == "chair"]
    assert [lb.subtype for lb in chair] == ["sit"] and chair[0].posture == "squat"
    times = [p.t_s for p in day.clip.poses if p is not None]
    assert times == sorted(times)


def test_render_frame_draws_the_person() -> None:
    clip = make_clip(np.random.default_rng(15), motions=[hinge(70)], camera=side_camera(),
                     noise=SynthNoise.none())
    deep = clip.deepest_pose(clip.labels[0])
    pic = render_frame(deep, caption="hinge")
    assert pic.shape == (480, 640, 3) and pic.dtype == np.uint8
    assert pic.reshape(-1, 3).std(axis=0).max() > 10
    assert render_frame(None).shape == (480, 640, 3)


def test_the_pelvis_tucks_under_in_a_rounded_lift_and_not_in_a_hinge() -> None:
    """The hip tuck (the outline at the hips against the mid-back's) is what lets the
    classifier refuse a low arc over a pelvis that stayed out: the synthetic bodies must
    show it as the renders do."""
    tucks: dict[str, list[float]] = {"hinge": [], "round": []}
    for kind, poses in _deepest_poses(6).items():
        for pose in poses:
            line = back_line(pose, yaw_deg=20.0)
            if line is not None and np.isfinite(line.hip_tuck_norm):
                tucks[kind].append(line.hip_tuck_norm)
    hinges, rounds = np.array(tucks["hinge"]), np.array(tucks["round"])
    assert hinges.size >= 8 and rounds.size >= 8, tucks
    assert np.median(hinges) > TUCK_ROUND > np.median(rounds), (hinges.round(3), rounds.round(3))
    assert (hinges > TUCK_FLAT).mean() >= 0.9, hinges.round(3)


def test_a_rounded_spine_shortens_the_trunk_and_a_hinge_does_not() -> None:
    """The classifier refuses a round verdict on a trunk as long as a standing one's
    (ROUND_MAX_CHORD_TO_LEG): the synthetic bodies' rounds must shorten it as the renders'
    do, and their hinges must not."""
    poses = _deepest_poses(6)
    ratio = {kind: np.array([kinematics(p).chord_to_leg for p in ps]) for kind, ps in poses.items()}
    hinges, rounds = ratio["hinge"], ratio["round"]
    assert hinges.size >= 8 and rounds.size >= 8
    assert np.median(rounds) < np.median(hinges) - 0.03, (hinges.round(3), rounds.round(3))
    assert (rounds < ROUND_MAX_CHORD_TO_LEG).mean() >= 0.9, rounds.round(3)


def _mirrored(pose: Pose) -> Pose:
    """The pose with every left and right landmark swapped, as a pose model does when it
    loses which side is which."""
    other = {"LEFT": "RIGHT", "RIGHT": "LEFT"}
    order = [Joint[re.sub("LEFT|RIGHT", lambda m: other[m.group()], j.name)].value
             for j in Joint]
    assert pose.world_m is not None
    return dataclasses.replace(pose, xy_norm=pose.xy_norm[order], world_m=pose.world_m[order],
                               visibility=pose.visibility[order])


def test_a_deep_fold_read_with_left_and_right_swapped_still_bends_forward() -> None:
    """Swapped sides turn the facing direction round: a fold past horizontal would read as
    a backward lean no body makes (and a picture of a deep fold as someone standing)."""
    clip = make_clip(np.random.default_rng(16), motions=[hinge(110)], camera=side_camera(),
                     noise=SynthNoise.none())
    deep = clip.deepest_pose(clip.labels[0])
    assert deep is not None
    as_seen = kinematics(deep).trunk_inclination_deg
    swapped = kinematics(_mirrored(deep)).trunk_inclination_deg
    assert as_seen == pytest.approx(110.0, abs=10.0)
    assert swapped == pytest.approx(as_seen, abs=1.0)


def _world_knees_straightened(pose: Pose) -> Pose:
    """The pose with each world ankle moved onto its thigh's line: the world landmarks then
    read straight knees (as BlazePose's read deep squats tens of degrees low)."""
    assert pose.world_m is not None
    w = pose.world_m.copy()
    for hip, knee, ankle in ((Joint.LEFT_HIP, Joint.LEFT_KNEE, Joint.LEFT_ANKLE),
                             (Joint.RIGHT_HIP, Joint.RIGHT_KNEE, Joint.RIGHT_ANKLE)):
        thigh = w[knee] - w[hip]
        w[ankle] = w[knee] + thigh / np.linalg.norm(thigh) * np.linalg.norm(w[ankle] - w[knee])
    return dataclasses.replace(pose, world_m=w)


# Side-on the picture shows the knee's whole bend; at 35° foreshortened (both segments lean
# towards the vertical), still far more than the straightened world landmarks; head-on not.
@pytest.mark.parametrize(("yaw_deg", "at_least"), [(0.0, 85.0), (35.0, 45.0), (90.0, None)])
def test_the_knee_is_read_from_the_picture_too_unless_seen_from_the_front(
        yaw_deg: float, at_least: float | None) -> None:
    clip = make_clip(np.random.default_rng(17), motions=[hinge(40, knee_deg=100.0)],
                     camera=side_camera(yaw_deg), noise=SynthNoise.none())
    deep = clip.deepest_pose(clip.labels[0])
    assert deep is not None
    assert kinematics(deep).knee_flexion_deg == pytest.approx(100.0, abs=12.0)
    straightened = kinematics(_world_knees_straightened(deep)).knee_flexion_deg
    if at_least is not None:  # the picture shows the bend the world landmarks lost
        assert at_least <= straightened <= 112.0, straightened
    else:  # head-on the picture's knee angle is no measure: the world's stands
        assert straightened < 10.0, straightened
