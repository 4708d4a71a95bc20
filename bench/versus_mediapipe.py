"""MediaPipe 0.10.14's `solutions.pose` against this engine (int8 and float), same frames,
same cores, taking turns: the issue's MediaPipe/ours target, measured robustly.

Each round runs, one after the other and pinned with taskset to the same CPUs, this engine
with the int8 models, with the float ones (bench/pose_bench.py) and MediaPipe's solution in
its own venv (bench/mediapipe_pose_bench.py, made by bench/setup_mediapipe.sh). The figure
of each is the lowest of its rounds' medians (the run least disturbed by other processes);
the ratio is also given per round (neighbouring runs see the same machine), and its median.

    python bench/versus_mediapipe.py [--clip squats_720x1280] [--rounds 3] [--frames 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
MP_PY = Path(os.environ.get("HINGEWATCH_BENCH_MP_VENV", ROOT / ".venv-bench-mp")) / "bin" / "python"
# The targets: MediaPipe's ms per frame over ours, by cores.
TARGETS = {1: 1.5, 2: 2.5}
PRECISIONS = ("int8", "float")


def log(message: str) -> None:
    print(f"versus mediapipe: {message}", file=sys.stderr, flush=True)


def _run(cmd: list[str]) -> dict[str, Any]:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"{' '.join(cmd[2:5])} failed:\n{tail}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def one_round(clip: str, cores: int, frames: int, nice: int = 0) -> dict[str, Any]:
    """ms per frame (median) of each contender, and the CPUs' other load, in one round."""
    pin = ["taskset", "-c", ",".join(str(c) for c in range(cores))]
    if nice:
        pin = ["nice", "-n", str(nice), *pin]
    out: dict[str, Any] = {}
    for precision in PRECISIONS:
        r = _run(pin + [sys.executable, str(BENCH / "pose_bench.py"), "--clip", clip,
                        "--threads", str(cores), "--frames", str(frames),
                        "--precision", precision])
        out[precision] = {"engine_ms": r["ms_per_frame"]["engine"]["median"],
                          "every_mask_ms": r["ms_per_frame"]["engine_reading_every_mask"]["median"],
                          "invoke_ms": r["ms_per_frame"]["bare_invoke"]["median"],
                          "other_load_pct": r["other_load_pct"],
                          "detector_share": r["detector_share"]}
    r = _run(pin + [str(MP_PY), str(BENCH / "mediapipe_pose_bench.py"), "--clip", clip,
                    "--frames", str(frames)])
    out["mediapipe"] = {"engine_ms": r["ms_per_frame"]["mediapipe"]["median"],
                        "other_load_pct": r["other_load_pct"], "version": r["runtime"]}
    return out


def summarize(rounds: dict[int, list[dict[str, Any]]]) -> dict[str, Any]:
    cases = []
    for cores, runs in rounds.items():
        mp = min(r["mediapipe"]["engine_ms"] for r in runs)
        case: dict[str, Any] = {"cores": cores, "threads": cores, "rounds": len(runs),
                                "mediapipe_ms": mp, "target": TARGETS.get(cores),
                                "mediapipe": runs[0]["mediapipe"]["version"]}
        for p in PRECISIONS:
            ours = min(r[p]["engine_ms"] for r in runs)
            invoke = min(r[p]["invoke_ms"] for r in runs)
            # A frame whose mask is read runs the model's mask head too (a person bent over).
            every_mask = min(r[p]["every_mask_ms"] for r in runs)
            per_round = [round(r["mediapipe"]["engine_ms"] / r[p]["engine_ms"], 3) for r in runs]
            case[p] = {
                "engine_ms": ours,
                "invoke_ms": invoke,
                "overhead_pct": round((ours / invoke - 1) * 100, 1),
                "ratio": round(mp / ours, 3),
                "every_mask_ms": every_mask,
                "ratio_reading_every_mask": round(mp / every_mask, 3),
                "ratio_per_round": per_round,
                "ratio_median_of_rounds": round(statistics.median(per_round), 3),
                "other_load_pct": [r[p]["other_load_pct"] for r in runs],
            }
        case["mediapipe_other_load_pct"] = [r["mediapipe"]["other_load_pct"] for r in runs]
        cases.append(case)
    return {"cases": cases}


def markdown(summary: dict[str, Any]) -> str:
    lines = ["| cores / threads | MediaPipe ms | ours int8 ms (invoke) | MediaPipe/int8 "
             "(median of rounds) | int8 reading every mask ms (MediaPipe/that) "
             "| ours float ms (invoke) | MediaPipe/float | target |",
             "|---|---|---|---|---|---|---|---|"]
    for c in summary["cases"]:
        i, f = c["int8"], c["float"]
        lines.append(
            f"| {c['cores']} / {c['threads']} | {c['mediapipe_ms']:.1f} | "
            f"{i['engine_ms']:.1f} ({i['invoke_ms']:.1f}) | {i['ratio']:.2f} "
            f"({i['ratio_median_of_rounds']:.2f}) | {i['every_mask_ms']:.1f} "
            f"({i['ratio_reading_every_mask']:.2f}) | {f['engine_ms']:.1f} ({f['invoke_ms']:.1f}) "
            f"| {f['ratio']:.2f} ({f['ratio_median_of_rounds']:.2f}) | ≥ {c['target']} |")
    lines.append("")
    lines.append("ms: the lowest of the rounds' medians (whole engine, tracking, smoothing; "
                 "invoke: the bare landmark model as the engine runs it on a frame whose mask is "
                 "not read, without its mask head). Ratios: MediaPipe's ms over ours.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", default="squats_720x1280")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--cores", default="1,2", help="comma-separated core counts")
    parser.add_argument("--nice", type=int, default=0,
                        help="run both contenders at this niceness (negative needs root): "
                             "on a machine shared with a nice-19 job, a multi-threaded run "
                             "waits on its slowest thread, which that job delays")
    args = parser.parse_args(argv)
    if not MP_PY.exists():
        log(f"{MP_PY} missing: run bash bench/setup_mediapipe.sh first")
        return 2
    counts = [int(c) for c in args.cores.split(",")]
    if max(counts) > (os.cpu_count() or 1):
        log(f"this machine has {os.cpu_count()} CPUs: cannot pin {max(counts)}")
        return 2
    rounds: dict[int, list[dict[str, Any]]] = {c: [] for c in counts}
    for k in range(args.rounds):
        for cores in counts:
            log(f"round {k + 1}/{args.rounds}, {cores} core(s)")
            rounds[cores].append(one_round(args.clip, cores, args.frames, args.nice))
    summary = summarize(rounds)
    summary["clip"] = args.clip
    summary["nice"] = args.nice
    print(json.dumps(summary, indent=2))
    print()
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
