"""A practice session: timed poses in, scored reps out, and a summary at the end.

It reads the same `(t_s, Pose | None)` stream as the agent and `BendAnalyzer.run()`, and
counts reps with the product's own bend segmenter and classifier (through BendAnalyzer):
one rep is one bend. An agent that already analyses the stream can hand its finished
bends to `add()` instead of feeding poses twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from edge.analysis.analyzer import AnalyzedBend, BendAnalyzer
from edge.analysis.kinematics import Baseline
from edge.events import utc_ms
from edge.pose.landmarks import Pose
from edge.practice.drills import Drill
from edge.practice.rep import Rep, score_rep
from edge.practice.summary import PracticeSummary


def _now() -> datetime:
    return datetime.now(UTC)


class PracticeSession:
    """`update(t_s, pose)` per frame → the reps just finished; `finish()` → the summary."""

    def __init__(
        self,
        drill: Drill,
        device_id: str = "hingewatch",
        *,
        baseline: Baseline | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.drill = drill
        self.device_id = device_id
        self.analyzer = BendAnalyzer(baseline=baseline)
        self._clock = clock
        self.started_at = clock()
        self.reps: list[Rep] = []
        self.summary: PracticeSummary | None = None

    def update(self, t_s: float, pose: Pose | None) -> list[Rep]:
        return [self.add(b) for b in self.analyzer.update(t_s, pose)]

    def add(self, bend: AnalyzedBend) -> Rep:
        """Score one finished bend as the next rep."""
        rep = score_rep(self.drill, bend, len(self.reps) + 1)
        self.reps.append(rep)
        return rep

    def finish(self) -> list[Rep]:
        """The stream ended (or the person pressed stop): the rep under way is closed and
        scored, and the summary made (`self.summary`)."""
        done = [self.add(b) for b in self.analyzer.finish()]
        self.summary = PracticeSummary(self.device_id, self.drill.id, utc_ms(self.started_at),
                                       utc_ms(max(self._clock(), self.started_at)),
                                       tuple(self.reps))
        return done

    def run(self, timed: Iterable[tuple[float, Pose | None]],
            on_rep: Callable[[Rep], None] = lambda rep: None) -> PracticeSummary:
        """A whole stream: each rep to `on_rep` as it finishes, then the summary."""
        for t_s, pose in timed:
            for rep in self.update(t_s, pose):
                on_rep(rep)
        for rep in self.finish():
            on_rep(rep)
        assert self.summary is not None
        return self.summary
