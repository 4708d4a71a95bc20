"""Scoring the classifier on a recorded set (edge/analysis/recorded.py): the real pose
model's output on rendered people of known posture, replayed without pixels.

A still is classified as `hingewatch analyze` classifies a picture (its outcome keeps the
sample, so `eval --sheet` can draw what was read); a clip's frames run through the bend
analyser in order and its bends are matched to the spans of its bends (`bend_spans`): a
bend detected outside them is a false one (standing up from a chair, leaning in to eat).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge.analysis.analyzer import BendAnalyzer, still_sample
from edge.analysis.bends import Sample
from edge.analysis.classifier import Verdict, classify_picture
from edge.analysis.evaluation import (
    MISSED,
    NEAR_SIDE_DEG,
    LabelRow,
    Outcome,
    Tally,
    detections,
)
from edge.analysis.recorded import RecordedItem, load_recorded

# A bend is matched by its deepest frame, which may lie just outside the frames labelled
# with it: the hips of a sit-down are lowest once on the seat, a frame or two after the
# lean that is labelled the bend.
SPAN_MARGIN_S = 0.5


@dataclass(frozen=True)
class RecordedStill:
    """A recorded still's outcome detail: what was read and what was said of it."""

    sample: Sample
    verdict: Verdict


def evaluate_recorded(path: Path) -> Tally:
    """Every item of the set scored; an outcome's `detail` is a still's verdict or a clip's
    bend (`evaluation.verdict_of` reads either)."""
    return score_items(load_recorded(path))


def camera_yaw_deg(item: RecordedItem) -> float | None:
    """The render's camera yaw (0 side-on, 90 front or back), None when not recorded."""
    try:
        return abs(float(item.params["scene"]["camera"]["yaw_deg"]))
    except (KeyError, TypeError, ValueError):
        return None


def near_side(items: list[RecordedItem]) -> list[RecordedItem]:
    """The items whose camera was within NEAR_SIDE_DEG of side-on."""
    return [it for it in items
            if (yaw := camera_yaw_deg(it)) is not None and yaw <= NEAR_SIDE_DEG]


def score_items(items: list[RecordedItem]) -> Tally:
    tally = Tally()
    clips: dict[str, list[RecordedItem]] = {}
    for item in items:
        if item.clip is not None:
            clips.setdefault(item.clip, []).append(item)
            continue
        if item.pose is None:
            tally.item(Outcome(item.name, item.label, MISSED))
            continue
        sample = still_sample(item.pose)
        verdict = classify_picture(sample)
        tally.item(Outcome(item.name, item.label, verdict.posture, verdict.confidence,
                           RecordedStill(sample, verdict)))
    for name, frames in clips.items():
        frames.sort(key=lambda f: f.t_s)
        rows = bend_spans(name, frames)
        found = BendAnalyzer().run((f.t_s, f.pose) for f in frames)
        tally.video(rows, detections(found), name)
    return tally


def bend_spans(name: str, frames: list[RecordedItem]) -> list[LabelRow]:
    """The spans a clip's detected bends must fall in, widened by SPAN_MARGIN_S each way:
    those its renderer wrote (`spans`: a sit clip's sit-down, and a reach from the chair;
    standing, seated and getting up are no bend), else the whole clip, labelled with the
    one bend it shows."""
    spans = frames[0].params.get("spans") or [
        {"start_s": frames[0].t_s, "end_s": frames[-1].t_s, "label": frames[0].label}]
    return [LabelRow(0, Path(name), float(s["start_s"]) - SPAN_MARGIN_S,
                     float(s["end_s"]) + SPAN_MARGIN_S, str(s["label"])) for s in spans]
