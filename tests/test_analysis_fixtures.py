"""Bends on real pictures and clips: the fixtures' labels, read by the real pipeline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edge.analysis.backline import back_line
from edge.capture.frames import Frame
from edge.capture.sources import read_image
from edge.commands.analyze import classify_frame
from tests.conftest import ROOT, assert_starter_renders_hold

pytestmark = pytest.mark.pose
METRICS = ROOT / "tests" / "metrics.json"


@pytest.fixture(scope="module")
def still_engine():
    from edge.pose.blazepose import BlazePose

    return BlazePose(tracking=False)


def _verdict(engine, path: Path):
    result = classify_frame(Frame(0.0, read_image(path)), engine)
    assert result.verdict is not None, f"nobody found in {path.name}"
    return result.verdict


@pytest.mark.parametrize(
    ("picture", "posture"),
    [
        ("forward_fold_frame01.png", "hinge"),
        ("forward_fold_frame04.png", "round"),
        ("forward_fold_frame36.png", "round"),
        ("squat.png", "squat"),
        ("image2.jpeg", "stand"),
        ("image3.jpeg", "stand"),
        ("two_people_walking.png", "stand"),
    ],
)
def test_labelled_pictures(fixtures: Path, still_engine, picture: str, posture: str) -> None:
    verdict = _verdict(still_engine, fixtures / "images" / picture)
    assert verdict.posture == posture, verdict


def test_a_rounded_fold_names_a_rounding_reason(fixtures: Path, still_engine) -> None:
    for picture in ("forward_fold_frame04.png", "forward_fold_frame36.png"):
        verdict = _verdict(still_engine, fixtures / "images" / picture)
        assert {"lumbar_rounding", "upper_back_rounding"} & set(verdict.reasons), verdict


def test_the_flat_back_reads_flatter_than_the_rounded_folds(fixtures: Path, still_engine) -> None:
    bulges = {}
    for picture in ("forward_fold_frame01.png", "forward_fold_frame04.png",
                    "forward_fold_frame36.png"):
        pose = still_engine.process(Frame(0.0, read_image(fixtures / "images" / picture)))
        line = back_line(pose)
        assert line is not None, picture
        bulges[picture] = line.bulge_norm
    flat = bulges.pop("forward_fold_frame01.png")
    # ≥ 0.05 apart: about 20° of spread flexion (θ ≈ 8 × sagitta).
    assert all(b > flat + 0.05 for b in bulges.values()), bulges


def test_eval_on_the_fixture_labels_is_right_on_every_row_and_never_regresses(
    fixtures: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "edge.cli", "eval", str(fixtures / "labels.csv")],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["confusion"]["squat"] == {"squat": 4}  # three in the clip, one picture
    assert figures["confusion"]["hinge"] == {"hinge": 1}
    assert figures["confusion"]["round"] == {"round": 2}
    assert figures["confusion"]["stand"] == {"stand": 3}
    stored = json.loads(METRICS.read_text())["fixtures"]
    for key in ("detection_recall", "detection_precision", "accuracy", "balanced_accuracy"):
        assert figures[key] >= stored[key], f"{key} fell from {stored[key]} to {figures[key]}"


def test_analyze_json_reports_each_squat_with_its_peak(fixtures: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.png"
    done = subprocess.run(
        [sys.executable, "-m", "edge.cli", "analyze", str(fixtures / "video/pose_squats.mp4"),
         "--json", "--sheet", str(sheet)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    bends = [json.loads(line) for line in done.stdout.splitlines()]
    assert [b["posture"] for b in bends] == ["squat"] * 3
    # No zones configured: no zone and no chore is made up for them.
    assert [b["activity"] for b in bends] == ["unknown"] * 3
    windows = [(0.6, 3.6), (5.6, 8.2), (10.4, 13.0)]
    for b, (lo, hi) in zip(bends, windows, strict=True):
        assert lo <= b["deepest_s"] <= hi
        assert b["peak"]["knee_flexion_deg"] > 60
    assert bends[-1]["cut"]["at_end"] is True  # the clip stops at the third squat's bottom
    assert sheet.is_file() and sheet.stat().st_size > 10_000


def test_eval_runs_on_movenet_and_finds_the_squats(fixtures: Path) -> None:
    # MoveNet has no world landmarks and no mask: angles come from the picture and the back
    # line is never seen, so only what angles can tell is held here.
    done = subprocess.run(
        [sys.executable, "-m", "edge.cli", "eval", str(fixtures / "labels.csv"),
         "--engine", "movenet",
         "--model", str(fixtures / "models/movenet_single_pose_lightning_ptq.tflite")],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["detection_recall"] == 1.0 and figures["detection_precision"] == 1.0
    assert figures["confusion"]["squat"] == {"squat": 4}
    assert figures["confusion"]["stand"] == {"stand": 3}


def test_the_starter_renders_are_right_or_unsure(fixtures: Path) -> None:
    """Rendered people with known spines (../shared/fixtures/rendered): at 45° a flat back
    used to read as a rounded upper back and a rounded one as a hinge. Each verdict must be
    right, or an honest unsure — never the wrong posture."""
    labels = fixtures / "rendered" / "labels.csv"
    if not labels.is_file():
        pytest.skip(f"{labels} is absent")
    done = subprocess.run(
        [sys.executable, "-m", "edge.cli", "eval", str(labels)],
        capture_output=True, text=True, timeout=300,
    )
    assert_starter_renders_hold(done)
