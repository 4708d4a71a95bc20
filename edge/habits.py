"""Today's and the last week's bend counts, kept on disk so a restart keeps them."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from edge.events import POSTURES, hinge_share

KEEP_DAYS = 14


class Habits:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.days: dict[str, dict[str, int]] = {}
        if path is not None and path.is_file():
            try:
                raw = json.loads(path.read_text())
                self.days = {d: {p: int(c.get(p, 0)) for p in POSTURES} for d, c in raw.items()}
            except (ValueError, AttributeError, TypeError):
                self.days = {}  # a damaged file only costs the counts, never the agent

    def add(self, day: date, posture: str) -> None:
        counts = self.days.setdefault(day.isoformat(), dict.fromkeys(POSTURES, 0))
        counts[posture] = counts.get(posture, 0) + 1
        cutoff = (day - timedelta(days=KEEP_DAYS)).isoformat()
        self.days = {d: c for d, c in self.days.items() if d >= cutoff}
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.days))
            tmp.replace(self.path)

    def today(self, day: date) -> tuple[int, float | None]:
        c = self.days.get(day.isoformat(), {})
        return sum(c.values()), hinge_share(c.get("hinge", 0), c.get("round", 0))

    def week_share(self, day: date) -> float | None:
        week = [self.days.get((day - timedelta(days=i)).isoformat(), {}) for i in range(7)]
        return hinge_share(sum(c.get("hinge", 0) for c in week),
                           sum(c.get("round", 0) for c in week))
