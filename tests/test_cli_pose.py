"""`hingewatch pose` end to end, and every bad input ending in one line and exit code 2."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.pose.models import load_manifest

pytestmark = pytest.mark.pose


def hingewatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", *args],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )


def test_pose_json_on_a_picture_matches_the_landmark_format(fixtures: Path) -> None:
    done = hingewatch("pose", str(fixtures / "images/pose.jpg"), "--json")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 1
    rec = records[0]
    assert set(rec) == {"frame", "t_s", "presence", "landmarks_px", "visibility", "world_m"}
    assert rec["presence"] > 0.5
    assert np.asarray(rec["landmarks_px"]).shape == (33, 2)
    assert np.asarray(rec["world_m"]).shape == (33, 3)
    expected = json.loads((fixtures / "expected/expected_pose_jpg_blazepose.json").read_text())
    err = np.abs(np.asarray(rec["landmarks_px"]) - np.asarray(expected["landmarks_px_xy_33"]))
    assert err.max() <= 15.0, f"worst landmark {err.max():.1f} px off"


def test_pose_on_a_video_is_tracked_and_drawn(fixtures: Path, tmp_path: Path) -> None:
    out = tmp_path / "sheet.png"
    done = hingewatch("pose", str(fixtures / "video/pose_tracking_example.gif"), "--json",
                      "--out", str(out), "--max-frames", "12")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["frame"] for r in records] == list(range(12))
    assert all(r["presence"] > 0.5 for r in records)
    # The GIF plays at 200 ms a frame.
    assert records[5]["t_s"] == pytest.approx(1.0)
    assert str(out.resolve()) in done.stderr
    sheet = cv2.imread(str(out))
    assert sheet is not None and sheet.shape[1] >= 800


def test_a_frame_with_nobody_gives_presence_zero(tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    cv2.imwrite(str(empty), np.full((480, 640, 3), 128, np.uint8))
    done = hingewatch("pose", str(empty), "--json")
    assert done.returncode == 0, done.stderr
    rec = json.loads(done.stdout)
    assert rec["presence"] == 0 and rec["landmarks_px"] == [] and rec["world_m"] == []


def huge_png_bytes() -> bytes:
    """A valid PNG whose header claims 100000 x 100000 pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))


def _truncated_video(fixtures: Path, tmp_path: Path) -> Path:
    data = (fixtures / "video/pose_squats.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    return cut


def _not_a_picture(tmp_path: Path) -> Path:
    p = tmp_path / "notes.jpg"
    p.write_text("this is text, not a JPEG")
    return p


def _huge_png(tmp_path: Path) -> Path:
    p = tmp_path / "huge.png"
    p.write_bytes(huge_png_bytes())
    return p


def _truncated_jpeg(fixtures: Path, tmp_path: Path) -> Path:
    data = (fixtures / "images/pose.jpg").read_bytes()
    p = tmp_path / "cut.jpg"
    p.write_bytes(data[: len(data) // 2])
    return p


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (lambda fx, tmp: tmp / "missing.jpg", "no such file"),
        (lambda fx, tmp: _not_a_picture(tmp), "not a picture"),
        (_truncated_video, "truncated"),
        (lambda fx, tmp: _huge_png(tmp), "too large"),
        (_truncated_jpeg, "cut short"),
        (lambda fx, tmp: "webcam:99", "webcam 99: cannot be opened"),
    ],
    ids=["missing-file", "not-a-picture", "truncated-video", "huge-png", "truncated-jpeg",
         "no-webcam"],
)
def test_bad_input_is_one_line_and_exit_2(
    fixtures: Path, tmp_path: Path, make_input, message: str
) -> None:
    done = hingewatch("pose", str(make_input(fixtures, tmp_path)))
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("hingewatch: error:") and message in lines[0]


@pytest.mark.parametrize("verb", ["pose", "analyze"])
def test_a_folder_skips_a_bad_picture_says_so_and_goes_on(fixtures: Path, tmp_path: Path,
                                                          verb: str) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    _huge_png(folder)
    _truncated_jpeg(fixtures, folder)
    (folder / "z_good.jpg").write_bytes((fixtures / "images/pose.jpg").read_bytes())
    done = hingewatch(verb, str(folder))
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 2, done.stderr
    assert any("huge.png" in w and "skipped" in w for w in warnings)
    assert any("cut.jpg" in w and "skipped" in w for w in warnings)
    assert "Traceback" not in done.stderr and "Premature end" not in done.stderr
    if verb == "pose":
        assert "person found in 1 of 1 frame(s)" in done.stderr
    else:
        assert "z_good.jpg" in done.stdout and "huge.png" not in done.stdout


def test_a_corrupt_model_fails_its_checksum_and_says_how_to_refetch(
    fixtures: Path, tmp_path: Path
) -> None:
    from edge.pose.models import model_path

    models = tmp_path / "models"
    models.mkdir()
    for name in ("pose_detection", "pose_landmark_full"):
        shutil.copy(model_path(name), models / load_manifest()[name].file)
    landmark = models / "pose_landmark_full.tflite"
    landmark.write_bytes(landmark.read_bytes()[:100_000])  # truncated download
    done = hingewatch("pose", str(fixtures / "images/pose.jpg"),
                      env={"HINGEWATCH_MODELS_DIR": str(models)})
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "checksum" in lines[0] and "hingewatch models fetch" in lines[0]


def test_help_names_every_verb() -> None:
    done = hingewatch("--help")
    assert done.returncode == 0
    for verb in ("models", "pose"):
        assert verb in done.stdout
