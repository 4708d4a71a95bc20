"""Per-frame timing, statistics and memory figures, shared by both pose benchmarks.

Standard library and numpy only: the MediaPipe benchmark imports this from its own venv.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

# Calls made before timing starts: the first interpreter runs allocate and pack weights,
# and the first tracked frame always runs the detector.
WARMUP_FRAMES = 5
# Timed frames: at least MIN (for a stable p90), at most MAX; a clip shorter than MIN is
# looped, a longer one is used once up to MAX.
MIN_TIMED_FRAMES = 100
MAX_TIMED_FRAMES = 300
# Cap on the timed seconds of one measurement; a slow machine stops early, not late.
MAX_TIMED_S = 60.0


def timed_count(n_clip: int, requested: int | None = None) -> int:
    n = requested if requested is not None else n_clip
    return max(MIN_TIMED_FRAMES, min(MAX_TIMED_FRAMES, n))


@dataclass
class Timed:
    """One thing timed per frame: `prepare(k)` off the clock, then `step(k)` on it.

    `k` counts calls from 0; the first WARMUP_FRAMES are run but not kept. `run(n)` goes
    on from where the last call stopped, so two measurements can take turns in blocks.
    """

    step: Callable[[int], object]
    prepare: Callable[[int], object] | None = None
    samples_s: list[float] = field(default_factory=list)
    calls: int = 0

    @property
    def timed_s(self) -> float:
        return sum(self.samples_s)

    def run(self, n: int) -> None:
        for _ in range(n):
            k = self.calls
            self.calls += 1
            if self.prepare is not None:
                self.prepare(k)
            t0 = time.perf_counter()
            self.step(k)
            elapsed = time.perf_counter() - t0
            if k >= WARMUP_FRAMES:
                self.samples_s.append(elapsed)

    def run_timed(self, n_timed: int) -> None:
        """Warm up, then time up to `n_timed` calls or MAX_TIMED_S, whichever comes first."""
        self.run(WARMUP_FRAMES)
        while len(self.samples_s) < n_timed and self.timed_s < MAX_TIMED_S:
            self.run(1)


def stats_ms(samples_s: list[float]) -> dict[str, float]:
    ms = np.asarray(samples_s, dtype=np.float64) * 1000.0
    return {
        "median": round(float(np.median(ms)), 2),
        "p90": round(float(np.percentile(ms, 90)), 2),
        "mean": round(float(ms.mean()), 2),
    }


def peak_rss_mb() -> float:
    """This process's peak resident set (ru_maxrss is KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(rss / (1 << 20) if sys.platform == "darwin" else rss / 1024, 1)


def cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def _cpu_jiffies(cpu_ids: list[int]) -> tuple[int, int]:
    """(busy, total) clock ticks spent so far by the given CPUs, from /proc/stat."""
    busy = total = 0
    with open("/proc/stat") as fh:
        for line in fh:
            name, *fields = line.split()
            if not (name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpu_ids):
                continue
            # user nice system idle iowait irq softirq steal; guest time is inside user.
            ticks = [int(v) for v in fields[:8]]
            total += sum(ticks)
            busy += sum(ticks) - ticks[3] - ticks[4]
    return busy, total


class OtherLoad:
    """Share of this process's CPUs that other processes used while it was measuring.

    A shared machine steals a core now and then and doubles a figure; this says when.
    None where /proc/stat is missing (not Linux).
    """

    def __init__(self) -> None:
        self._cpus = cpus()
        self._tick_s = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01
        self._start = self._snapshot()

    def _snapshot(self) -> tuple[int, int, float] | None:
        try:
            busy, total = _cpu_jiffies(self._cpus)
        except OSError:
            return None
        t = os.times()
        return busy, total, t.user + t.system

    def pct(self) -> float | None:
        end = self._snapshot()
        if self._start is None or end is None or end[1] <= self._start[1]:
            return None
        busy = end[0] - self._start[0]
        total = end[1] - self._start[1]
        mine = (end[2] - self._start[2]) / self._tick_s
        return round(max(0.0, 100.0 * (busy - mine) / total), 1)


def interleaved_min_median(steps: dict[str, Callable[[], object]], rounds: int = 7,
                           block: int = 10, warmup: int = 3) -> dict[str, float]:
    """Seconds per call of each step, robust to a shared machine: the steps take turns in
    blocks of `block` calls, `rounds` times, and each keeps the lowest of its blocks'
    medians (the block least disturbed by other processes). Taking turns puts a slow
    spell on every step alike, so ratios between them hold better than their figures."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    best = {name: float("inf") for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            times = []
            for _ in range(block):
                t0 = time.perf_counter()
                step()
                times.append(time.perf_counter() - t0)
            best[name] = min(best[name], float(np.median(times)))
    return best
