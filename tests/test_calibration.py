"""Calibration: the standing baseline learned from upright frames, saved, loaded, used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge.analysis.calibration import MIN_FRAMES, Calibrator, load_baseline, save_baseline
from edge.analysis.kinematics import kinematics
from edge.synth import SynthNoise, make_clip


def test_a_standing_spell_teaches_up_and_sizes() -> None:
    rng = np.random.default_rng(4)
    clip = make_clip(rng, kinds=("hinge",), n_bends=1, yaw_range_deg=(-20, 20), n_stands=1,
                     noise=SynthNoise.none())
    cal = Calibrator()
    for pose in clip.poses:
        if pose is not None:
            cal.update(pose, kinematics(pose))
    assert cal.standing_frames >= MIN_FRAMES
    base = cal.baseline
    assert base is not None
    tilt = np.degrees(np.arccos(np.clip(-base.up_world[1], -1, 1)))
    assert tilt < 15, f"up is {tilt:.1f}° off the world's vertical"
    assert 0.3 < base.torso_chord_m < 0.8 and 0.6 < base.leg_length_m < 1.2


def test_bending_frames_teach_nothing() -> None:
    rng = np.random.default_rng(5)
    clip = make_clip(rng, kinds=("round",), n_bends=1, yaw_range_deg=(0, 0))
    deep = max((p for p in clip.poses if p is not None),
               key=lambda p: kinematics(p).trunk_inclination_deg)
    cal = Calibrator()
    for _ in range(3 * MIN_FRAMES):
        cal.update(deep, kinematics(deep))
    assert cal.baseline is None and cal.standing_frames == 0


def test_baseline_round_trips_and_rejects_nonsense(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    clip = make_clip(rng, kinds=("hinge",), n_bends=1, n_stands=1, noise=SynthNoise.none())
    cal = Calibrator()
    for pose in clip.poses:
        if pose is not None:
            cal.update(pose, kinematics(pose))
    assert cal.baseline is not None
    path = tmp_path / "baseline.json"
    save_baseline(cal.baseline, path)
    again = load_baseline(path)
    assert np.allclose(again.up_world, cal.baseline.up_world, atol=1e-4)
    path.write_text(json.dumps({"up_world": [0, 0, 0], "torso_chord_m": 0.5,
                                "leg_length_m": 0.8}))
    with pytest.raises(ValueError, match="up_world"):
        load_baseline(path)


@pytest.mark.pose
def test_calibrate_command_on_real_clips(fixtures: Path, tmp_path: Path) -> None:
    out = tmp_path / "baseline.json"
    done = subprocess.run([sys.executable, "-m", "edge.cli", "calibrate",
                           str(fixtures / "video/pose_squats.mp4"), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["standing_frames"] >= MIN_FRAMES
    assert load_baseline(out).leg_length_m == pytest.approx(record["leg_length_m"], abs=1e-3)
    # A clip with no upright standing (a yoga flow): one clear line, exit 2.
    done = subprocess.run([sys.executable, "-m", "edge.cli", "calibrate",
                           str(fixtures / "video/pose_tracking_example.gif")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("hingewatch: error:")
    assert "standing frames" in done.stderr


def _standing_clip() -> list:
    rng = np.random.default_rng(4)
    clip = make_clip(rng, kinds=("hinge",), n_bends=1, yaw_range_deg=(-20, 20), n_stands=1,
                     noise=SynthNoise.none())
    return [p for p in clip.poses if p is not None]


def test_a_learned_baseline_is_kept_in_its_file_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "state" / "baseline.json"
    now = [0.0]
    cal = Calibrator(path, clock=lambda: now[0])
    assert cal.baseline is None and not path.exists()
    first = None
    for pose in _standing_clip():
        if cal.update(pose, kinematics(pose)) is not None and first is None:
            first = cal.baseline
            assert path.is_file()  # the first baseline is saved at once
    assert first is not None and cal.baseline is not None
    # Later ones wait for SAVE_EVERY_S (the clock stood still) or the stream's end.
    assert np.allclose(load_baseline(path).up_world, first.up_world, atol=1e-4)
    assert not np.allclose(cal.baseline.up_world, first.up_world, atol=1e-4)
    cal.flush()
    again = Calibrator(path)  # a restart
    assert again.baseline is not None
    assert np.allclose(again.baseline.up_world, cal.baseline.up_world, atol=1e-4)
    assert again.baseline.leg_length_m == pytest.approx(cal.baseline.leg_length_m, abs=1e-3)


def test_a_damaged_learned_baseline_costs_only_the_baseline(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "baseline.json"
    path.write_text("{not json")
    cal = Calibrator(path)
    assert cal.baseline is None
    assert "cannot read the learned baseline" in caplog.text
    for pose in _standing_clip():
        cal.update(pose, kinematics(pose))
    assert load_baseline(path).leg_length_m == pytest.approx(cal.baseline.leg_length_m, abs=1e-3)
