"""Practice inside the running device: the live stream's start and stop open and close a
PracticeSession, the bends the agent already finds become its reps (no second analysis of
the same frames), each rep rides on the next live frame, and the summary goes out on
`hingewatch/<device>/practice` when the session stops."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from edge.analysis.analyzer import AnalyzedBend
from edge.analysis.bends import Sample
from edge.delivery.live import LiveStream
from edge.delivery.topics import practice_topic
from edge.practice.drills import drill_named
from edge.practice.rep import Rep
from edge.practice.session import PracticeSession
from edge.practice.summary import PracticeSummary, rep_record

log = logging.getLogger(__name__)
# send(topic, payload, qos): the link's, not retained.
SendQos = Callable[[str, bytes, int], None]


def _now() -> datetime:
    return datetime.now(UTC)


class PracticeRunner:
    """`command(payload)` from the broker; `frame(t_s, sample)` and `bend(b)` from the
    analysis loop."""

    def __init__(self, device_id: str, send: SendQos, *,
                 clock: Callable[[], datetime] = _now) -> None:
        self.device_id = device_id
        self._send = send
        self._clock = clock
        self._lock = threading.Lock()
        self.session: PracticeSession | None = None
        self.last_summary: PracticeSummary | None = None
        self.stream = LiveStream(device_id, lambda topic, payload: send(topic, payload, 0),
                                 on_start=self._start, on_stop=self._stop)

    def command(self, payload: bytes) -> object:
        return self.stream.command(payload)

    def frame(self, t_s: float, sample: Sample | None) -> bool:
        return self.stream.frame(t_s, sample)

    def bend(self, bend: AnalyzedBend) -> Rep | None:
        """A bend the agent finished: the open session's next rep (None with none open)."""
        with self._lock:
            if self.session is None:
                return None
            rep = self.session.add(bend)
        self.stream.rep(rep_record(rep))
        log.info("practice rep %d: %s — %s", rep.index, rep.posture, rep.cue)
        return rep

    def _start(self, drill: str) -> None:
        with self._lock:
            self.session = PracticeSession(drill_named(drill), self.device_id,
                                           clock=self._clock)
        log.info("practice session started: %s", drill)

    def _stop(self, drill: str) -> None:
        with self._lock:
            session, self.session = self.session, None
        if session is None:
            return
        session.finish()
        assert session.summary is not None
        self.last_summary = session.summary
        self._send(practice_topic(self.device_id), session.summary.to_json().encode(), 1)
        log.info("practice session stopped: %s, %d reps, %d good", drill,
                 len(session.reps), session.summary.good)
