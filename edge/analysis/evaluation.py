"""`hingewatch eval`: labelled pictures and clips in, detection and accuracy figures out.

The CSV format is DESIGN.md's: `clip,start_s,end_s,label`, `clip` relative to the CSV.
A video row labels one bend whose deepest moment lies in [start_s, end_s] (`ignore`: a
span where detections count neither way); an image row (no times) labels one picture.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.errors import HingewatchError

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


@dataclass
class Tally:
    """Counts as items are scored; `summary()` gives the figures DESIGN.md names."""

    bends_labelled: int = 0
    bends_matched: int = 0
    bends_detected: int = 0
    detections_matched: int = 0

    def __post_init__(self) -> None:
        self.confusion: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def item(self, truth: str, predicted: str) -> None:
        self.confusion[truth][predicted] += 1

    def video(self, rows: list[LabelRow], detected: list[tuple[float, str]]) -> None:
        """Match detected bends (deepest time, posture) to one video's labelled spans."""
        spans = [r for r in rows if r.label != "ignore"]
        ignores = [r for r in rows if r.label == "ignore"]
        taken: set[int] = set()
        for t, posture in detected:
            if any(r.start_s is not None and r.end_s is not None and r.start_s <= t <= r.end_s
                   for r in ignores):
                continue
            self.bends_detected += 1
            for i, r in enumerate(spans):
                assert r.start_s is not None and r.end_s is not None
                if i not in taken and r.start_s <= t <= r.end_s:
                    taken.add(i)
                    self.detections_matched += 1
                    self.item(r.label, posture)
                    break
        self.bends_labelled += len(spans)
        self.bends_matched += len(taken)
        for i, r in enumerate(spans):
            if i not in taken:
                self.item(r.label, MISSED)

    def summary(self) -> dict[str, Any]:
        items = sum(sum(p.values()) for p in self.confusion.values())
        correct = sum(p.get(t, 0) for t, p in self.confusion.items())
        recalls = [p.get(t, 0) / sum(p.values()) for t, p in self.confusion.items()]
        return {
            "bends_labelled": self.bends_labelled,
            "bends_detected": self.bends_detected,
            "detection_recall": _ratio(self.bends_matched, self.bends_labelled),
            "detection_precision": _ratio(self.detections_matched, self.bends_detected),
            "items_labelled": items,
            "accuracy": _ratio(correct, items),
            "balanced_accuracy": round(sum(recalls) / len(recalls), 4) if recalls else None,
            "confusion": {t: dict(sorted(p.items())) for t, p in sorted(self.confusion.items())},
        }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None
