"""`hingewatch calibrate`: the standing baseline learned from a few seconds of standing."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edge.analysis.calibration import Calibrator, save_baseline
from edge.analysis.kinematics import kinematics
from edge.capture.sources import open_source
from edge.commands.pose import add_engine_arguments, engine_from
from edge.errors import HingewatchError
from edge.pose_stream import PoseStream
from edge.progress import Progress


def add_parser(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("calibrate", help="learn the standing baseline from a clip of standing")
    c.add_argument("source", help="video or camera with the person standing for a few seconds")
    c.add_argument("--out", type=Path, help="write the baseline JSON here")
    add_engine_arguments(c)
    c.set_defaults(func=run_calibrate)


def run_calibrate(args: argparse.Namespace) -> int:
    calibrator = Calibrator()
    source = open_source(args.source)
    with PoseStream(source, lambda: engine_from(args)) as stream:
        progress = Progress(f"calibrate {args.source}", source.frame_count)
        try:
            for timed in stream:
                pose = timed.pose
                if pose is not None and pose.world_m is not None:
                    calibrator.update(pose, kinematics(pose))
                progress.step()
        finally:
            progress.close()
    baseline = calibrator.baseline
    if baseline is None:
        raise HingewatchError(
            f"{args.source}: saw {calibrator.standing_frames} standing frames, need more; "
            "stand upright, side-on to the camera, whole body in view, for a few seconds")
    record = {"up_world": [round(float(v), 4) for v in baseline.up_world],
              "torso_chord_m": round(baseline.torso_chord_m, 3),
              "leg_length_m": round(baseline.leg_length_m, 3),
              "standing_frames": calibrator.standing_frames}
    print(json.dumps(record))
    if args.out:
        save_baseline(baseline, args.out)
        print(f"baseline saved to {args.out.resolve()}", file=sys.stderr)
    return 0
