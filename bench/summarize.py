"""Join the per-case JSON of pose_bench.py and mediapipe_pose_bench.py; check the targets.

Reads a folder of `<clip>.<cores>c.<bench>.json` files written by run.sh, prints the summary
as one JSON object and then a Markdown table for the README. Standard library only.

    python bench/summarize.py OUT_DIR [--skipped-c REASON]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

# The targets the README promises, compared on median ms per frame.
MAX_ENGINE_OVER_BARE = 1.10  # (b)/(a): the engine's own work costs at most 10 % on top
MIN_MEDIAPIPE_OVER_ENGINE = 2.0  # (c)/(b): at least twice as fast as MediaPipe's solution
MAX_DETECTOR_SHARE = 0.10  # the detector runs on at most 1 frame in 10 when tracking
MAX_PEAK_RSS_MB = 250.0  # checked on the peak less the decoded clip the bench holds


def _load(out_dir: Path) -> dict[tuple[str, int], dict[str, Any]]:
    cases: dict[tuple[str, int], dict[str, Any]] = {}
    for path in sorted(out_dir.glob("*.json")):
        clip, cores, bench = path.name.removesuffix(".json").split(".")
        case = cases.setdefault((clip, int(cores.removesuffix("c"))), {})
        case[bench] = json.loads(path.read_text())
    return cases


def _ratio(num: float | None, den: float | None) -> float | None:
    return round(num / den, 3) if num is not None and den else None


def summarize(out_dir: Path, skipped_c: str | None) -> dict[str, Any]:
    rows = []
    for (clip, cores), case in sorted(_load(out_dir).items()):
        hw = case.get("hingewatch")
        mp = case.get("mediapipe")
        a = hw["ms_per_frame"]["bare_invoke"] if hw else None
        b = hw["ms_per_frame"]["engine"] if hw else None
        # (b) with every frame's mask read: the model's mask head runs too (older runs lack it).
        b_mask = hw["ms_per_frame"].get("engine_reading_every_mask") if hw else None
        # Its floor: the whole landmark model's invoke, mask head and all (older runs lack it).
        a_whole = hw["ms_per_frame"].get("bare_invoke_whole_model") if hw else None
        c = mp["ms_per_frame"]["mediapipe"] if mp else None
        b_over_a = _ratio(b and b["median"], a and a["median"])
        c_over_b = _ratio(c and c["median"], b and b["median"])
        share = hw["detector_share"] if hw else None
        rss = hw["peak_rss_less_clip_mb"] if hw else None
        rows.append({
            "clip": clip,
            "resolution_wh": (hw or mp or {}).get("resolution_wh"),
            "cores": cores,
            "threads": hw["threads"] if hw else None,
            "timed_frames": hw["timed_frames"] if hw else None,
            "a_bare_invoke_ms": a,
            "b_engine_ms": b,
            "b_engine_reading_every_mask_ms": b_mask,
            "a_whole_model_invoke_ms": a_whole,
            "b_every_mask_over_a_whole": _ratio(b_mask and b_mask["median"],
                                                a_whole and a_whole["median"]),
            "c_mediapipe_ms": c,
            "b_over_a": b_over_a,
            "b_over_a_ok": None if b_over_a is None else b_over_a <= MAX_ENGINE_OVER_BARE,
            "c_over_b": c_over_b,
            "c_over_b_ok": None if c_over_b is None else c_over_b >= MIN_MEDIAPIPE_OVER_ENGINE,
            "detector_share": share,
            "detector_ok": None if share is None else share <= MAX_DETECTOR_SHARE,
            "peak_rss_mb": hw["peak_rss_mb"] if hw else None,
            "peak_rss_less_clip_mb": rss,
            "rss_ok": None if rss is None else rss <= MAX_PEAK_RSS_MB,
            "mediapipe_peak_rss_less_clip_mb": mp["peak_rss_less_clip_mb"] if mp else None,
            # Other processes' share of these CPUs while measuring: high means noisy.
            "other_load_pct_ab": hw.get("other_load_pct") if hw else None,
            "other_load_pct_c": mp.get("other_load_pct") if mp else None,
        })
    checks = [r[k] for r in rows for k in ("b_over_a_ok", "c_over_b_ok", "detector_ok", "rss_ok")]
    return {
        "targets": {
            "b_over_a_max": MAX_ENGINE_OVER_BARE,
            "c_over_b_min": MIN_MEDIAPIPE_OVER_ENGINE,
            "detector_share_max": MAX_DETECTOR_SHARE,
            "peak_rss_mb_max": MAX_PEAK_RSS_MB,
        },
        "cases": rows,
        "c_skipped": skipped_c,
        "all_targets_met": bool(rows) and all(v is not False for v in checks),
    }


def _ms(stats: dict[str, float] | None) -> str:
    return f"{stats['median']:.1f} / {stats['p90']:.1f}" if stats else "skipped"


def _check(value: float | None, ok: bool | None, fmt: str) -> str:
    """The figure and whether it meets its target; `ok` None: a figure with no target."""
    if value is None:
        return "n/a"
    mark = "" if ok is None else " ✓" if ok else " ✗"
    return f"{value:{fmt}}{mark}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def markdown(summary: dict[str, Any]) -> str:
    t = summary["targets"]
    lines = [
        "| clip | cores / threads | (a) bare invoke ms | (b) engine + smoothing ms "
        "| (b) reading every mask ms | (c) MediaPipe ms "
        f"| (b)/(a) ≤ {t['b_over_a_max']:.2f} | (b) every mask / whole model "
        f"| (c)/(b) ≥ {t['c_over_b_min']:.1f} "
        f"| detector ≤ {t['detector_share_max']:.0%} | peak RSS MB ≤ {t['peak_rss_mb_max']:.0f} "
        "| other load % (a+b / c) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary["cases"]:
        wh = r["resolution_wh"]
        clip = f"{r['clip'].split('_')[0]} {wh[0]}×{wh[1]}" if wh else r["clip"]
        rss = _check(r["peak_rss_less_clip_mb"], r["rss_ok"], ".0f")
        if r["peak_rss_mb"] is not None:
            rss += f" ({r['peak_rss_mb']:.0f} with clip)"
        lines.append(
            f"| {clip} | {r['cores']} / {r['threads']} | {_ms(r['a_bare_invoke_ms'])} "
            f"| {_ms(r['b_engine_ms'])} | {_ms(r['b_engine_reading_every_mask_ms'])} "
            f"| {_ms(r['c_mediapipe_ms'])} "
            f"| {_check(r['b_over_a'], r['b_over_a_ok'], '.2f')} "
            f"| {_check(r['b_every_mask_over_a_whole'], None, '.2f')} "
            f"| {_check(r['c_over_b'], r['c_over_b_ok'], '.2f')} "
            f"| {_check(r['detector_share'], r['detector_ok'], '.0%')} | {rss} "
            f"| {_pct(r['other_load_pct_ab'])} / {_pct(r['other_load_pct_c'])} |"
        )
    lines.append("")
    lines.append(
        "ms per frame: median / p90 after 5 warm-up frames; ratios on medians. "
        "Peak RSS is ru_maxrss of the engine's process less the decoded clip the bench holds. "
        "Other load: the share of the pinned CPUs other processes used during the run. "
        "(a) is the model the engine runs on every frame: the landmark model without its "
        "mask head, which runs only for a mask that is read (edge/pose/split.py); "
        "(b) every mask / whole model: a frame whose mask is read against the whole "
        "landmark model's invoke alone, the same model work inside."
    )
    if summary["c_skipped"]:
        lines.append(f"(c) skipped: {summary['c_skipped']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--skipped-c", default=None, help="why (c) was not measured")
    args = parser.parse_args(argv)
    summary = summarize(args.out_dir, args.skipped_c)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    print()
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
