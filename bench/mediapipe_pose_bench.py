"""(c): the same clip through MediaPipe 0.10.14's own pose solution, for comparison.

Runs in .venv-bench-mp (bench/setup_mediapipe.sh), not the project's venv: mediapipe
0.10.14 pins numpy<2. Prints one JSON object shaped like pose_bench.py's.

    .venv-bench-mp/bin/python bench/mediapipe_pose_bench.py --clip walk_640x480
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clips  # noqa: E402
import timing  # noqa: E402


def bench_mediapipe(clip: clips.Clip, order: list[int], n_timed: int) -> dict[str, Any]:
    import mediapipe as mp  # only this venv has it

    found = 0

    # The settings that match the engine under test: tracking (not static images), the
    # full landmark model, One Euro smoothing on, no segmentation output.
    with mp.solutions.pose.Pose(
        static_image_mode=False,
        model_complexity=1,
        smooth_landmarks=True,
        enable_segmentation=False,
    ) as pose:

        def step(k: int) -> None:
            nonlocal found
            # process() stamps frames itself, a fixed step apart, rising across loops.
            result = pose.process(clip.rgb[order[k]])
            found += k >= timing.WARMUP_FRAMES and result.pose_landmarks is not None

        timed = timing.Timed(step=step)
        other = timing.OtherLoad()
        timed.run_timed(n_timed)
    return {
        "samples": timed.samples_s,
        "frames_with_pose": found,
        "other_load_pct": other.pct(),
        "version": mp.__version__,
    }


def run(clip_name: str, n_timed: int | None) -> dict[str, Any]:
    clip = clips.load_clip(clip_name)
    n_timed = timing.timed_count(len(clip.rgb), n_timed)
    order = clips.schedule(len(clip.rgb), timing.WARMUP_FRAMES + n_timed)
    gc.collect()
    result = bench_mediapipe(clip, order, n_timed)
    rss_mb = timing.peak_rss_mb()
    clip_mb = round(clip.nbytes / (1 << 20), 1)
    samples: list[float] = result["samples"]
    return {
        "bench": "mediapipe",
        "engine": "mediapipe.solutions.pose (model_complexity=1, smooth_landmarks)",
        "runtime": f"mediapipe {result['version']}",
        "clip": clip.name,
        "source": clip.source,
        "resolution_wh": list(clip.resolution_wh),
        # MediaPipe picks its own thread count; taskset is what bounds its cores.
        "threads": None,
        "cpus": timing.cpus(),
        "warmup_frames": timing.WARMUP_FRAMES,
        "timed_frames": len(samples),
        "ms_per_frame": {"mediapipe": timing.stats_ms(samples)},
        # The solution API does not say when its detector ran.
        "detector_runs": None,
        "detector_share": None,
        "frames_with_pose": result["frames_with_pose"],
        "other_load_pct": result["other_load_pct"],
        "peak_rss_mb": rss_mb,
        "clip_mb": clip_mb,
        "peak_rss_less_clip_mb": round(rss_mb - clip_mb, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", choices=sorted(clips.CLIPS), required=True)
    parser.add_argument("--frames", type=int, default=None,
                        help=f"timed frames ({timing.MIN_TIMED_FRAMES}-{timing.MAX_TIMED_FRAMES})")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.clip, args.frames)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
