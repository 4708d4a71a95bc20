"""pose.jpg as the arm64 root saw it, against the golden and against this host's run.

    python tests/arm64/compare.py OUT_DIR FIXTURES
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from edge.capture.frames import Frame
from edge.capture.sources import read_image
from edge.pose.blazepose import BlazePose

IMAGE_PX_TOL = 15.0  # tests/test_blazepose.py: MediaPipe's own bound for pose.jpg


def main() -> int:
    out, fixtures = Path(sys.argv[1]), Path(sys.argv[2])
    golden = np.asarray(json.loads((fixtures / "expected" / "expected_pose_jpg_blazepose.json")
                                   .read_text())["landmarks_px_xy_33"])
    rgb = read_image(fixtures / "images" / "pose.jpg")
    failed = False
    for run in sorted(out.glob("pose_*.json")):
        precision = run.stem.rsplit("_", 1)[1]
        arm = np.asarray(json.loads(run.read_text())["landmarks_px"])
        host = BlazePose(tracking=False, precision=precision).process(Frame(0.0, rgb, 0))
        assert host is not None
        to_golden = float(np.abs(arm - golden).max())
        to_host = float(np.abs(arm - host.xy_px).max())
        ok = arm.shape == (33, 2) and to_golden < IMAGE_PX_TOL
        failed |= not ok
        print(f"arm64: {run.stem}: worst {to_golden:.2f} px from the golden (limit "
              f"{IMAGE_PX_TOL}), {to_host:.3f} px from x86-64: {'ok' if ok else 'FAILED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
