"""The motion gate on real frames: a static clip sleeps, a person walking in wakes it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.capture.frames import Frame
from edge.capture.motion import MotionGate
from edge.capture.sources import open_source


def _frames(fixtures: Path, n: int) -> list[np.ndarray]:
    out = []
    with open_source(str(fixtures / "video/walking_and_box_jump.mp4")) as src:
        for frame in src:
            out.append(frame.rgb)
            if len(out) == n:
                break
    return out


def test_a_static_scene_runs_the_model_on_few_frames(fixtures: Path) -> None:
    still = _frames(fixtures, 1)[0]
    gate = MotionGate(sleep_after_s=1.0)
    noise = np.random.default_rng(0)
    runs = 0
    for i in range(300):  # 20 s at 15 fps of one picture with sensor noise: only the
        # first frame is looked at
        jitter = noise.integers(-3, 4, still.shape, dtype=np.int16)
        rgb = np.clip(still.astype(np.int16) + jitter, 0, 255).astype(np.uint8)
        runs += gate.should_run(Frame(i / 15, rgb, i))
    assert runs / 300 < 0.05, f"model ran on {runs} of 300 static frames"


def test_a_person_walking_in_wakes_it_within_half_a_second(fixtures: Path) -> None:
    frames = _frames(fixtures, 40)
    empty = np.full_like(frames[0], 90)
    gate = MotionGate(sleep_after_s=1.0)
    t = 0.0
    for i in range(60):  # an empty room until the gate sleeps
        gate.should_run(Frame(t, empty, i))
        t += 1 / 15
    assert not gate.should_run(Frame(t, empty, 60))
    woke_at = None
    for i, rgb in enumerate(frames):  # someone is in the picture, walking
        t += 1 / 15
        if gate.should_run(Frame(t, rgb, 61 + i)):
            woke_at = i / 15
            break
    assert woke_at is not None and woke_at <= 0.5


def test_a_person_standing_still_keeps_it_awake() -> None:
    gate = MotionGate(sleep_after_s=1.0)
    still = np.zeros((120, 160, 3), np.uint8)
    ran = []
    for i in range(60):
        t = i / 15
        run = gate.should_run(Frame(t, still, i))
        ran.append(run)
        if run:
            gate.saw_person(t, present=True)
    assert all(ran)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"pixel_threshold": 0}, "pixel_threshold"), ({"min_changed_share": 1.5}, "min_changed_share"),
    ({"sleep_after_s": 0}, "sleep_after_s")])
def test_settings_are_checked(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MotionGate(**kwargs)
