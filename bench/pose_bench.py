"""Pose engine speed on one clip: (a) the bare landmark-model invoke, (b) the whole engine.

Prints one JSON object. (b) is BlazePose in tracking mode plus the smoothing stage, i.e.
what the agent runs per camera frame; (a) is the floor under it, the landmark model's
`invoke()` alone on an input set beforehand. (b)/(a) is the engine's own overhead. (c) is
(b) with every frame's mask read, which runs the model's mask head too: what a frame costs
while the analysis reads the back (the trunk forward); its floor is (a′), the whole
landmark model's invoke alone, and (c)/(a′) the engine's overhead on such a frame.

(a) and (b) take turns in blocks of frames in one process, so a drift in the machine's
speed (a shared VM, a warming CPU) lands on both and not on their ratio.

    python bench/pose_bench.py --clip walk_640x480 --threads 1
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import clips  # noqa: E402
import timing  # noqa: E402

from edge.capture.frames import Frame  # noqa: E402
from edge.pose.blazepose import INPUT_SIZE, BlazePose, cut_landmark_model  # noqa: E402
from edge.pose.models import model_names, model_path  # noqa: E402
from edge.pose.runtime import available_runtime, load_interpreter  # noqa: E402
from edge.pose.smoothing import PoseSmoother  # noqa: E402
from edge.pose.tensors import PixelInput  # noqa: E402

# Frames per turn of (a) and (b): short enough that a drift hits both alike, long enough
# that each turn runs with its own model's weights back in cache after the first frame.
BLOCK_FRAMES = 10
# Distinct inputs cycled through for (a): XNNPACK's cost does not depend on the pixels,
# and a handful keeps the bench's own memory small.
BARE_INPUTS = 8
_RUNTIME_DISTS = {"litert": "ai-edge-litert", "tflite": "tflite-runtime"}


class EngineCase:
    """(b): engine.process + smoother.smooth on the k-th scheduled frame; with `read_mask`,
    (c): each frame's mask read too, as the analysis does while the trunk is forward."""

    def __init__(self, clip: clips.Clip, order: list[int], threads: int,
                 precision: str, read_mask: bool = False) -> None:
        self.read_mask = read_mask
        self.engine = BlazePose(variant="full", num_threads=threads, tracking=True,
                                precision=precision)
        self.smoother = PoseSmoother()
        # Time stamps keep rising across loops, as a camera's do; the smoother needs that.
        self.frames = [Frame(k / clip.fps, clip.rgb[i], k) for k, i in enumerate(order)]
        self.found = 0
        self.runs_at_start = 0
        self.timed = timing.Timed(step=self.step)

    def step(self, k: int) -> None:
        if k == timing.WARMUP_FRAMES:
            # Counted over the timed frames only: the first frame always detects.
            self.runs_at_start, self.found = self.engine.detector_runs, 0
        pose = self.smoother.smooth(self.engine.process(self.frames[k]))
        self.found += pose is not None
        if self.read_mask and pose is not None and pose.segmentation is not None:
            pose.segmentation.mask  # noqa: B018  (reading it runs the mask head)

    def detector_runs(self) -> int:
        return self.engine.detector_runs - self.runs_at_start


class BareCase:
    """(a): the invoke() of the landmark model the engine runs on every frame alone (the
    pose part, when the engine cuts the mask head off: edge/pose/split.py); setting its
    input is off the clock. `whole`: the whole landmark model instead, mask head and all,
    the work the engine does on a frame whose mask is read (c)."""

    def __init__(self, clip: clips.Clip, threads: int, precision: str,
                 whole: bool = False) -> None:
        path = model_path(model_names("full", precision)[1])
        split = None if whole else cut_landmark_model(path.read_bytes())
        self.model = "pose part" if split is not None else "whole model"
        self.interpreter = load_interpreter(path, threads, "auto",
                                            split.pose if split is not None else None)
        # The engine's own input writer: float or int8, as the model declares.
        feed = PixelInput(self.interpreter, self.interpreter.get_input_details()[0],
                          1.0 / 255.0, 0.0)
        picks = np.linspace(0, len(clip.rgb) - 1, min(BARE_INPUTS, len(clip.rgb))).astype(int)
        self.inputs = [cv2.resize(clip.rgb[i], (INPUT_SIZE, INPUT_SIZE)) for i in picks]
        self.timed = timing.Timed(
            step=lambda k: self.interpreter.invoke(),
            prepare=lambda k: feed.write(self.inputs[k % len(self.inputs)]),
        )


def run(clip_name: str, threads: int, n_timed: int | None, precision: str = "float"
        ) -> dict[str, Any]:
    clip = clips.load_clip(clip_name)
    n_timed = timing.timed_count(len(clip.rgb), n_timed)
    order = clips.schedule(len(clip.rgb), timing.WARMUP_FRAMES + n_timed)
    gc.collect()
    # Decoding's own peak, for comparison: the figure below is the larger of the two.
    rss_before_engine_mb = timing.peak_rss_mb()
    b = EngineCase(clip, order, threads, precision)
    other = timing.OtherLoad()
    b.timed.run(timing.WARMUP_FRAMES + BLOCK_FRAMES)
    # Read before (a) loads a second interpreter, so the figure is the engine's footprint;
    # the engine allocates nothing new per frame once warm.
    rss_mb = timing.peak_rss_mb()
    a = BareCase(clip, threads, precision)
    a.timed.run(timing.WARMUP_FRAMES + BLOCK_FRAMES)
    c = EngineCase(clip, order, threads, precision, read_mask=True)
    c.timed.run(timing.WARMUP_FRAMES + BLOCK_FRAMES)
    # (a′): the floor under (c), where the engine cuts the model (else (a) is that already).
    whole = BareCase(clip, threads, precision, whole=True) if a.model == "pose part" else None
    if whole is not None:
        whole.timed.run(timing.WARMUP_FRAMES + BLOCK_FRAMES)
    while b.timed.calls < len(order) and max(a.timed.timed_s, b.timed.timed_s) < timing.MAX_TIMED_S:
        n = min(BLOCK_FRAMES, len(order) - b.timed.calls)
        b.timed.run(n)
        a.timed.run(n)
        c.timed.run(n)
        if whole is not None:
            whole.timed.run(n)
    runtime = available_runtime()
    clip_mb = round(clip.nbytes / (1 << 20), 1)
    timed_frames = len(b.timed.samples_s)
    return {
        "bench": "hingewatch",
        "engine": f"blazepose-full {precision} tracking + PoseSmoother",
        "precision": precision,
        "runtime": f"{runtime} {metadata.version(_RUNTIME_DISTS[runtime])}",
        "clip": clip.name,
        "source": clip.source,
        "resolution_wh": list(clip.resolution_wh),
        "threads": threads,
        "cpus": timing.cpus(),
        "warmup_frames": timing.WARMUP_FRAMES,
        "timed_frames": timed_frames,
        "bare_invoke_of": a.model,
        "ms_per_frame": {
            "bare_invoke": timing.stats_ms(a.timed.samples_s),
            "engine": timing.stats_ms(b.timed.samples_s),
            "engine_reading_every_mask": timing.stats_ms(c.timed.samples_s),
            "bare_invoke_whole_model": timing.stats_ms((whole or a).timed.samples_s),
        },
        "detector_runs": b.detector_runs(),
        "detector_share": round(b.detector_runs() / timed_frames, 4),
        "frames_with_pose": b.found,
        "other_load_pct": other.pct(),
        "peak_rss_before_engine_mb": rss_before_engine_mb,
        "peak_rss_mb": rss_mb,
        # The decoded clip is the bench's, not the engine's: the target is checked without it.
        "clip_mb": clip_mb,
        "peak_rss_less_clip_mb": round(rss_mb - clip_mb, 1),
        "peak_rss_end_mb": timing.peak_rss_mb(),  # with (a)'s interpreter as well
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", choices=sorted(clips.CLIPS), required=True)
    parser.add_argument("--threads", type=int, default=1, help="interpreter threads")
    parser.add_argument(
        "--frames", type=int, default=None,
        help=f"timed frames ({timing.MIN_TIMED_FRAMES}-{timing.MAX_TIMED_FRAMES})",
    )
    parser.add_argument("--precision", choices=("float", "int8"), default="float",
                        help="the landmark and detector models' precision")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads: expected >= 1, got {args.threads}")
    print(json.dumps(run(args.clip, args.threads, args.frames, args.precision)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
