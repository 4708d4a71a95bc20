"""`hingewatch pose`: landmarks for a picture, a folder or a video, as JSON or a drawing."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.capture.sources import open_source
from edge.errors import HingewatchError
from edge.pose.draw import contact_sheet, draw_pose, write_rgb
from edge.pose.engine import ENGINES, PoseEngine, create_engine
from edge.pose.landmarks import Pose
from edge.pose.models import PRECISION_CHOICES, VARIANTS
from edge.pose_stream import PoseStream
from edge.progress import Progress

SHEET_FRAMES = 6  # a video drawn to a picture shows this many evenly spaced frames


def add_engine_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=ENGINES, default="blazepose", help="pose model")
    p.add_argument("--variant", choices=sorted(VARIANTS), default="full",
                   help="BlazePose landmark model size (default: full)")
    p.add_argument("--precision", choices=PRECISION_CHOICES, default="auto",
                   help="BlazePose float or int8 models (`models quantize` builds them); "
                        "default auto: int8 on arm64 where built, else float")
    p.add_argument("--threads", type=int, default=2, help="interpreter threads (default: 2)")
    p.add_argument("--runtime", choices=("auto", "litert", "tflite"), default="auto",
                   help="TFLite runtime (default: ai-edge-litert if installed)")
    p.add_argument("--model", type=Path, help="MoveNet model file (default: models/)")


def engine_from(args: argparse.Namespace, tracking: bool = True) -> PoseEngine:
    """The engine the command line asks for (see add_engine_arguments)."""
    # MoveNet has no world landmarks and no person mask: its angles come from the picture
    # and its verdicts never see the back line (lower confidence, no rounding reasons).
    return create_engine(args.engine, args.variant, args.threads, args.runtime, tracking,
                         model=args.model, precision=args.precision)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pose", help="find the person's landmarks in a picture or video")
    p.add_argument("source", help="picture, folder of pictures, video, GIF, webcam:N or camera")
    p.add_argument("--json", action="store_true", help="one JSON object per frame on stdout")
    p.add_argument("--out", help="draw the skeleton: picture.png (a video gives a sheet of "
                   "frames) or video.mp4")
    p.add_argument("--no-smooth", action="store_true", help="turn landmark smoothing off (video)")
    p.add_argument("--max-frames", type=int, help="stop after this many frames")
    add_engine_arguments(p)
    p.set_defaults(func=run)


def frame_record(index: int, t_s: float, pose: Pose | None) -> dict[str, Any]:
    if pose is None:
        return {"frame": index, "t_s": round(t_s, 4), "presence": 0.0,
                "landmarks_px": [], "visibility": [], "world_m": []}
    return {
        "frame": index,
        "t_s": round(t_s, 4),
        "presence": round(pose.presence, 4),
        "landmarks_px": np.round(pose.xy_px, 2).tolist(),
        "visibility": np.round(pose.visibility, 4).tolist(),
        "world_m": [] if pose.world_m is None else np.round(pose.world_m, 4).tolist(),
    }


def run(args: argparse.Namespace) -> int:
    if args.threads < 1:
        raise HingewatchError(f"--threads: expected 1 or more, got {args.threads}")
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() not in {".png", ".jpg", ".jpeg", ".mp4"}:
        raise HingewatchError(f"--out {out}: expected a .png, .jpg or .mp4 file")
    source = open_source(args.source)
    with PoseStream(source, lambda: engine_from(args, tracking=not source.stills),
                    smooth=not args.no_smooth, max_frames=args.max_frames or None) as stream:
        total = source.frame_count
        if args.max_frames:
            total = min(total or args.max_frames, args.max_frames)
        progress = Progress(f"pose {args.source}", total)
        drawn: list[np.ndarray] = []
        writer: cv2.VideoWriter | None = None
        found = 0
        try:
            for timed in stream:
                frame, pose = timed.frame, timed.pose
                assert frame is not None  # a frame source's poses come with their frames
                found += pose is not None
                if args.json:
                    print(json.dumps(frame_record(frame.index, frame.t_s, pose)), flush=True)
                if out is not None:
                    picture = draw_pose(frame.rgb, pose)
                    if out.suffix.lower() == ".mp4":
                        writer = _write_video_frame(writer, out, picture, source.fps or 30.0)
                    else:
                        drawn.append(picture)
                progress.step()
        finally:
            progress.close()
            if writer is not None:
                writer.release()
    if out is not None and drawn:
        if len(drawn) == 1:
            write_rgb(str(out), drawn[0])
        else:
            picks = np.linspace(0, len(drawn) - 1, min(SHEET_FRAMES, len(drawn))).round()
            write_rgb(str(out), contact_sheet([drawn[int(i)] for i in picks]))
    if out is not None:
        print(f"drew the skeleton on {progress.done} frame(s): {out.resolve()}", file=sys.stderr)
    print(f"person found in {found} of {progress.done} frame(s)", file=sys.stderr)
    return 0


def _write_video_frame(
    writer: cv2.VideoWriter | None, path: Path, rgb: np.ndarray, fps: float
) -> cv2.VideoWriter:
    if writer is None:
        h, w = rgb.shape[:2]
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
        if not writer.isOpened():
            raise HingewatchError(f"{path}: cannot write a video there")
    writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return writer
