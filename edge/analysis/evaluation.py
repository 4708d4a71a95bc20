"""`hingewatch eval`: labelled pictures and clips in, detection and accuracy figures out.

The CSV format is DESIGN.md's: `clip,start_s,end_s,label`, `clip` relative to the CSV.
A video row labels one bend whose deepest moment lies in [start_s, end_s] (`ignore`: a
span where detections count neither way); an image row (no times) labels one picture.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from edge.analysis.analyzer import AnalyzedBend
from edge.analysis.bends import Bend, Sample
from edge.analysis.classifier import Verdict
from edge.errors import HingewatchError
from edge.events import ACT_ON_CONFIDENCE, UNSURE_REASONS

HEADER = ["clip", "start_s", "end_s", "label"]
VIDEO_LABELS = {"hinge", "round", "squat", "ignore"}
IMAGE_LABELS = {"hinge", "round", "squat", "stand"}
MISSED = "none"


class LabelsError(HingewatchError):
    """The labels file is malformed; the message names the file and the line."""


@dataclass(frozen=True)
class LabelRow:
    line: int
    clip: Path
    start_s: float | None
    end_s: float | None
    label: str

    @property
    def is_image(self) -> bool:
        return self.start_s is None


def read_labels(path: Path) -> list[LabelRow]:
    if not path.is_file():
        raise LabelsError(f"{path}: no such file")
    rows: list[LabelRow] = []
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip() for h in header] != HEADER:
            raise LabelsError(f"{path}:1: expected the header {','.join(HEADER)}, got {header}")
        for n, raw in enumerate(reader, start=2):
            if not raw or all(not c.strip() for c in raw):
                continue
            if len(raw) != 4:
                raise LabelsError(f"{path}:{n}: expected 4 columns, got {len(raw)}")
            clip, start, end, label = (c.strip() for c in raw)
            file = path.parent / clip
            if not file.exists():
                raise LabelsError(f"{path}:{n}: {clip} not found next to the labels file")
            if not start and not end:
                if label not in IMAGE_LABELS:
                    raise LabelsError(
                        f"{path}:{n}: picture label {label!r} is not one of "
                        f"{', '.join(sorted(IMAGE_LABELS))}")
                rows.append(LabelRow(n, file, None, None, label))
                continue
            try:
                s, e = float(start), float(end)
            except ValueError:
                raise LabelsError(f"{path}:{n}: start_s and end_s must be numbers") from None
            if e < s:
                raise LabelsError(f"{path}:{n}: end_s {e} is before start_s {s}")
            if label not in VIDEO_LABELS:
                raise LabelsError(
                    f"{path}:{n}: video label {label!r} is not one of "
                    f"{', '.join(sorted(VIDEO_LABELS))}")
            rows.append(LabelRow(n, file, s, e, label))
    if not rows:
        raise LabelsError(f"{path}: no labelled rows")
    return rows


# Verdicts that commit to a posture; `unsure` (the back could not be read) and a missed
# bend (`none`) are not covered.
COVERED = frozenset({"hinge", "round", "squat", "stand"})
# Within this yaw of a side view the back's outline is there to be read (past it the far
# side and then the front face the camera); `near_side` figures hold the items seen so.
NEAR_SIDE_DEG = 45.0
# Why an item got no verdict: nothing read (no person found in a picture, a labelled bend
# not detected), or the unsure verdict's reason.
NOTHING_READ = "nothing_read"
UNCOVERED_WHY = (NOTHING_READ, *UNSURE_REASONS)
_WHY_WORDS = {
    NOTHING_READ: "no person found, or the bend not detected",
    "front_view": "seen from the front: the camera should be side-on",
    "back_hidden": "something along the back, or hands at the shoulders",
    "back_unclear": "the back's outline read neither flat nor round",
}
# A hinge or a rounded back seen from the front stays unsure whatever the rules: the back's
# outline is not in the picture (`front_view`, turn the camera side-on). With the items
# nobody was found in (the pose model's misses), they are coverage out of the rules' reach.
BACK_POSTURES = frozenset({"hinge", "round"})
# Confidence bands of the reliability table (lower edges; the last band includes 1.0).
CONFIDENCE_BANDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)
# The headline figures' 95 % intervals: this many resamples of the items (with replacement,
# a fixed seed so a set's interval is the same on every run). A labelled set of a hundred
# pictures moves its confident balanced accuracy by several points from luck alone; the
# interval says how far, so a change is not read off noise.
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class Detection:
    """A bend the pipeline found: when it was deepest and what it said."""

    t_s: float
    posture: str
    confidence: float | None = None
    detail: Any = None  # what was read (the verdict, the sample), for listings and sheets


def detections(bends: Sequence[AnalyzedBend]) -> list[Detection]:
    """The bends a stream gave, as the tally matches them. Each keeps its bend as detail,
    cut to the frames a listing and a sheet read: the deepest whole, the first and last for
    their times only. Every frame's pose and mask (~0.5 MB each) would fill gigabytes over
    a few hundred bends."""
    return [Detection(b.bend.deepest.kin.t_s, b.verdict.posture, b.verdict.confidence,
                      replace(b, bend=_kept(b.bend)))
            for b in bends]


def _kept(bend: Bend) -> Bend:
    deepest = bend.deepest

    def bare(s: Sample) -> Sample:
        if s is deepest:
            return s
        return replace(s, pose=replace(s.pose, segmentation=None), back=None)

    return replace(bend, samples=(bare(bend.samples[0]), deepest, bare(bend.samples[-1])))


def verdict_of(detail: Any) -> Verdict | None:
    """The verdict an outcome's detail holds: a verdict, or a bend or picture result."""
    return detail if isinstance(detail, Verdict) else getattr(detail, "verdict", None)


@dataclass(frozen=True)
class Outcome:
    """One labelled item scored (a picture, or a labelled bend of a video)."""

    item: str
    truth: str
    predicted: str
    confidence: float | None = None
    detail: Any = None

    @property
    def right(self) -> bool:
        return self.truth == self.predicted

    @property
    def covered(self) -> bool:
        return self.predicted in COVERED

    @property
    def reading(self) -> tuple[tuple[str, ...] | None, str | None]:
        """The reasons and the view the verdict gave (a reviewed bend keeps both without a
        verdict); None for each where nothing was read."""
        verdict = verdict_of(self.detail)
        if verdict is not None:
            return verdict.reasons, verdict.view
        return getattr(self.detail, "reasons", None), getattr(self.detail, "view", None)

    @property
    def uncovered_why(self) -> str | None:
        """None when covered; else one of UNCOVERED_WHY."""
        if self.covered:
            return None
        reasons, _ = self.reading
        if reasons is None:
            return NOTHING_READ if self.predicted == MISSED else "back_unclear"
        return next((r for r in reasons if r in UNSURE_REASONS), "back_unclear")


@dataclass
class Tally:
    """Counts as items are scored; `summary()` gives the figures DESIGN.md names."""

    bends_labelled: int = 0
    bends_matched: int = 0
    bends_detected: int = 0
    detections_matched: int = 0

    def __post_init__(self) -> None:
        self.outcomes: list[Outcome] = []
        self.false_detections: list[tuple[str, Detection]] = []

    def item(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    def video(self, rows: list[LabelRow], detected: list[Detection], name: str = "") -> None:
        """Match detected bends to one video's labelled spans."""
        spans = [r for r in rows if r.label != "ignore"]
        ignores = [r for r in rows if r.label == "ignore"]
        taken: set[int] = set()
        for d in detected:
            if any(r.start_s is not None and r.end_s is not None and r.start_s <= d.t_s <= r.end_s
                   for r in ignores):
                continue
            self.bends_detected += 1
            for i, r in enumerate(spans):
                assert r.start_s is not None and r.end_s is not None
                if i not in taken and r.start_s <= d.t_s <= r.end_s:
                    taken.add(i)
                    self.detections_matched += 1
                    self.item(Outcome(f"{name}@{d.t_s:.1f}s", r.label, d.posture,
                                      d.confidence, d.detail))
                    break
            else:
                self.false_detections.append((name, d))
        self.bends_labelled += len(spans)
        self.bends_matched += len(taken)
        for i, r in enumerate(spans):
            if i not in taken:
                self.item(Outcome(f"{name}@{r.start_s}-{r.end_s}s", r.label, MISSED))

    @property
    def confusion(self) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for o in self.outcomes:
            table[o.truth][o.predicted] += 1
        return {t: dict(sorted(p.items())) for t, p in sorted(table.items())}

    def summary(self) -> dict[str, Any]:
        items = len(self.outcomes)
        covered = [o for o in self.outcomes if o.covered]
        return {
            "bends_labelled": self.bends_labelled,
            "bends_detected": self.bends_detected,
            "detection_recall": _ratio(self.bends_matched, self.bends_labelled),
            "detection_precision": _ratio(self.detections_matched, self.bends_detected),
            "items_labelled": items,
            "accuracy": _ratio(sum(o.right for o in self.outcomes), items),
            "balanced_accuracy": balanced_accuracy(self.outcomes),
            "coverage": _ratio(len(covered), items),
            "coverage_possible": coverage_possible(self.outcomes),
            "confident_balanced_accuracy": balanced_accuracy(covered),
            "ci95": intervals(self.outcomes),
            "expected_calibration_error": expected_calibration_error(covered),
            "hinge_called_round_confident": len(hinges_called_round(self.outcomes)),
            "uncovered": uncovered(self.outcomes),
            "by_view": by_view(self.outcomes),
            "confusion": self.confusion,
        }


def uncovered(outcomes: list[Outcome]) -> dict[str, int]:
    """How many items got no verdict, by why (UNCOVERED_WHY): what keeps coverage down."""
    counts = {why: 0 for why in UNCOVERED_WHY}
    for o in outcomes:
        why = o.uncovered_why
        if why is not None:
            counts[why] += 1
    return counts


def out_of_reach(outcome: Outcome) -> bool:
    """No rule could give this item a verdict: nobody found, or a hinge or rounded back
    seen from the front (BACK_POSTURES)."""
    why = outcome.uncovered_why
    return why == NOTHING_READ or (why == "front_view" and outcome.truth in BACK_POSTURES)


def coverage_possible(outcomes: list[Outcome]) -> float | None:
    """The most coverage the rules could reach on these items (`out_of_reach` excluded):
    what a coverage figure is to be read against."""
    return _ratio(sum(not out_of_reach(o) for o in outcomes), len(outcomes))


# The views the model tells (kinematics.View), and items it read nothing of.
VIEWS_SEEN = ("side", "oblique", "front", "unread")


def by_view(outcomes: list[Outcome]) -> dict[str, dict[str, Any]]:
    """The figures per view as the model itself judged it (side, oblique, front; `unread`
    when nothing was read): what a labelled set without known camera angles can still be
    split by."""
    groups: dict[str, list[Outcome]] = {view: [] for view in VIEWS_SEEN}
    for o in outcomes:
        _, view = o.reading
        groups[view if view in groups else "unread"].append(o)
    return {view: {"items": len(group),
                   "coverage": _ratio(sum(o.covered for o in group), len(group)),
                   "confident_balanced_accuracy": balanced_accuracy(
                       [o for o in group if o.covered]),
                   "hinge_called_round_confident": len(hinges_called_round(group))}
            for view, group in groups.items() if group}


def near_side_figures(tally: Tally) -> dict[str, Any]:
    """The figures of the items seen within NEAR_SIDE_DEG of side-on (`tally` holds only
    those)."""
    s = tally.summary()
    return {"yaw_within_deg": NEAR_SIDE_DEG,
            **{k: s[k] for k in ("items_labelled", "bends_labelled", "balanced_accuracy",
                                 "coverage", "coverage_possible",
                                 "confident_balanced_accuracy", "accuracy",
                                 "uncovered", "confusion")}}


def hinges_called_round(outcomes: list[Outcome]) -> list[str]:
    """The hinges said to be rounded backs as surely as a person is asked to act on
    (ACT_ON_CONFIDENCE or more): a "rounded back" said so must never be a hinge."""
    return [o.item for o in outcomes if o.truth == "hinge" and o.predicted == "round"
            and (o.confidence or 0.0) >= ACT_ON_CONFIDENCE]


def balanced_accuracy(outcomes: list[Outcome]) -> float | None:
    """Mean per-class recall over the true classes present."""
    per_class: dict[str, list[bool]] = defaultdict(list)
    for o in outcomes:
        per_class[o.truth].append(o.right)
    recalls = [sum(v) / len(v) for v in per_class.values()]
    return round(sum(recalls) / len(recalls), 4) if recalls else None


def intervals(outcomes: list[Outcome]) -> dict[str, list[float] | None]:
    """95 % bootstrap intervals (percentile) of coverage and of the confident balanced
    accuracy: the items resampled with replacement BOOTSTRAP_RESAMPLES times, each figure
    worked out on every resample as `summary` works it out on the set. None where a figure
    has no value (no items; nothing covered)."""
    n = len(outcomes)
    if not n:
        return {"coverage": None, "confident_balanced_accuracy": None}
    classes = sorted({o.truth for o in outcomes})
    truth = np.array([classes.index(o.truth) for o in outcomes])
    covered = np.array([o.covered for o in outcomes])
    right = np.array([o.right for o in outcomes])
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    picks = rng.integers(0, n, size=(BOOTSTRAP_RESAMPLES, n))
    coverage = covered[picks].mean(axis=1)
    # Per resample and class: covered items, and right ones among them.
    k = len(classes)
    cell = (np.arange(BOOTSTRAP_RESAMPLES)[:, None] * k + truth[picks]).ravel()
    counts = np.bincount(cell, weights=covered[picks].ravel(),
                         minlength=BOOTSTRAP_RESAMPLES * k).reshape(-1, k)
    hits = np.bincount(cell, weights=(covered & right)[picks].ravel(),
                       minlength=BOOTSTRAP_RESAMPLES * k).reshape(-1, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = hits / counts  # NaN for a class a resample holds no covered item of
    present = counts > 0
    # (a resample with nothing covered has no balanced accuracy: left out)
    some = present.any(axis=1)
    accuracy = np.nansum(recall[some], axis=1) / present[some].sum(axis=1)

    def pct(values: np.ndarray) -> list[float] | None:
        if not values.size:
            return None
        return [round(float(v), 4) for v in np.percentile(values, (2.5, 97.5))]

    return {"coverage": pct(coverage), "confident_balanced_accuracy": pct(accuracy)}


def reliability(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """Accuracy per confidence band over the items that carry a confidence."""
    scored = [o for o in outcomes if o.confidence is not None]
    rows = []
    for i, low in enumerate(CONFIDENCE_BANDS):
        high = CONFIDENCE_BANDS[i + 1] if i + 1 < len(CONFIDENCE_BANDS) else 1.0
        last = i + 1 == len(CONFIDENCE_BANDS)
        band = [o for o in scored if o.confidence is not None and low <= o.confidence
                and (o.confidence < high or last)]
        rows.append({
            "band": f"{low:.1f}–{high:.1f}",
            "items": len(band),
            "share": _ratio(len(band), len(scored)),
            "mean_confidence": (round(sum(o.confidence or 0.0 for o in band) / len(band), 3)
                                if band else None),
            "accuracy": _ratio(sum(o.right for o in band), len(band)),
        })
    return rows


def expected_calibration_error(outcomes: list[Outcome]) -> float | None:
    """Σ over confidence bands of |accuracy − mean confidence| × the band's share."""
    rows = [r for r in reliability(outcomes) if r["items"]]
    total = sum(r["items"] for r in rows)
    if not total:
        return None
    return round(sum(abs(r["accuracy"] - r["mean_confidence"]) * r["items"] / total
                     for r in rows), 4)


def confusion_table(confusion: dict[str, dict[str, int]]) -> str:
    """The confusion as a text table: one row per true label, one column per verdict."""
    columns = sorted({p for row in confusion.values() for p in row})
    width = max([len(c) for c in columns] + [len(t) for t in confusion] + [5])
    head = "true \\ said".ljust(width + 2) + "".join(c.rjust(width + 2) for c in columns)
    lines = [head]
    for truth, row in confusion.items():
        lines.append(truth.ljust(width + 2)
                     + "".join(str(row.get(c, 0)).rjust(width + 2) for c in columns))
    return "\n".join(lines)


def reliability_table(outcomes: list[Outcome]) -> str:
    lines = ["confidence   items  share  accuracy"]
    for r in reliability(outcomes):
        share = "-" if r["share"] is None else f"{r['share']:.0%}"
        acc = "-" if r["accuracy"] is None else f"{r['accuracy']:.0%}"
        lines.append(f"{r['band']:<11}  {r['items']:>5}  {share:>5}  {acc:>8}")
    return "\n".join(lines)


def uncovered_table(outcomes: list[Outcome]) -> str:
    """Items without a verdict by why, as shares of all items: what would raise coverage."""
    counts = uncovered(outcomes)
    lines = ["why            items  share  meaning"]
    for why, n in counts.items():
        share = f"{n / len(outcomes):.0%}" if outcomes else "-"
        lines.append(f"{why:<13}  {n:>5}  {share:>5}  {_WHY_WORDS[why]}")
    possible = coverage_possible(outcomes)
    if possible is not None:
        lines.append(f"at most {possible:.0%} could be covered: hinges and rounded backs seen "
                     "from the front stay unsure, and nobody found is the pose model's")
    return "\n".join(lines)


def by_view_table(outcomes: list[Outcome]) -> str:
    """`by_view` as text: per view the model judged, items, coverage, confident accuracy."""
    lines = ["view      items  coverage  confident balanced accuracy  "
             f"hinge→round ≥ {ACT_ON_CONFIDENCE:g}"]
    for view, f in by_view(outcomes).items():
        cov = "-" if f["coverage"] is None else f"{f['coverage']:.0%}"
        acc = ("-" if f["confident_balanced_accuracy"] is None
               else f"{f['confident_balanced_accuracy']:.1%}")
        lines.append(f"{view:<8}  {f['items']:>5}  {cov:>8}  {acc:>27}  "
                     f"{f['hinge_called_round_confident']:>17}")
    return "\n".join(lines)


def headline(summary: dict[str, Any]) -> str:
    """The two figures a set is judged by, each with its 95 % interval (`intervals`)."""
    def pct(value: float | None, ci: list[float] | None) -> str:
        if value is None:
            return "-"
        return f"{value:.1%}" + (f" ({ci[0]:.1%}–{ci[1]:.1%})" if ci else "")

    ci = summary["ci95"]
    accuracy = pct(summary["confident_balanced_accuracy"], ci["confident_balanced_accuracy"])
    coverage = pct(summary["coverage"], ci["coverage"])
    if summary.get("coverage_possible") is not None:
        coverage += f" of a possible {summary['coverage_possible']:.1%}"
    return (f"confident balanced accuracy {accuracy} at coverage {coverage}, "
            f"{summary['items_labelled']} items (in brackets: 95 % bootstrap intervals)")


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None
