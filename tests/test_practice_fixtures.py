"""`hingewatch practice` on the fixtures' squats clip: every rep found, none extra, each a
squat (not a hinge) with a cue that says so; bad input ends in one line and exit code 2."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from edge.cli import main
from edge.practice.summary import parse_summary

CLIP = "video/pose_squats.mp4"


def _squat_spans(fixtures: Path) -> list[tuple[float, float]]:
    with (fixtures / "labels.csv").open(newline="") as handle:
        return [(float(r["start_s"]), float(r["end_s"])) for r in csv.DictReader(handle)
                if r["clip"] == CLIP and r["label"] == "squat"]


@pytest.mark.pose
def test_every_squat_is_one_rep_scored_a_squat_with_a_cue_that_says_so(
        fixtures: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spans = _squat_spans(fixtures)
    assert len(spans) == 3
    code = main(["practice", "dowel_hinge", "--source", str(fixtures / CLIP), "--json",
                 "--device-id", "kitchen"])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    reps, summary = [json.loads(x) for x in lines[:-1]], parse_summary(lines[-1])
    # Every labelled squat has exactly one rep whose deepest moment lies in it; none extra.
    assert len(reps) == len(spans), reps
    for (start, end), rep in zip(spans, reps, strict=True):
        assert start <= rep["deepest_s"] <= end, (start, end, rep)
        assert rep["posture"] == "squat" and not rep["good"]
        assert rep["faults"] == ["squat"] and "squat, not a hinge" in rep["cue"]
    assert summary["reps"] == 3 and summary["good"] == 0 and summary["good_share"] == 0.0
    assert summary["rep_scores"] == reps
    assert summary["device_id"] == "kitchen" and not summary["passed"]
    assert "squat" in summary["practise_next"]


@pytest.mark.pose
def test_the_text_output_says_each_rep_and_the_summary(
        fixtures: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["practice", "wall_hinge", "--source", str(fixtures / CLIP)]) == 0
    out = capsys.readouterr().out
    assert out.count("squat, not a hinge") == 3 + 1  # three reps, then "next:"
    assert "rep 3 " in out and "rep 4 " not in out
    assert "Wall hinge: 3 reps, 0 good hinges (0%)" in out


def test_bad_input_is_one_line_and_exit_code_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    picture = tmp_path / "still.png"
    import cv2
    import numpy as np

    cv2.imwrite(str(picture), np.zeros((32, 32, 3), np.uint8))
    assert main(["practice", "wall_hinge", "--source", str(picture)]) == 2
    assert "practice needs a video or a camera" in capsys.readouterr().err
    assert main(["practice", "wall_hinge", "--source", str(tmp_path / "nope.mp4")]) == 2
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["practice", "cartwheel", "--source", str(picture)])
    assert exit_info.value.code == 2
