"""The live stream of a practice session: landmarks and the back line, never a pixel.

While a practice session is open the device publishes every analysed frame on
`hingewatch/<device>/live` (QoS 0, not retained: a late frame is worth nothing, and a
retained one would show a stale skeleton to the next viewer): the 33 skeleton points
(x, y over the frame, visibility), the back line's points (frame-normalised) and how
straight it is, the trunk angle, and, on the frame after a rep ends, that rep's verdict and
cue. With no session open nothing is built or sent.

A session opens and closes by a command on `hingewatch/<device>/practice/cmd`:
{"drill": "<drill id>", "action": "start" | "stop"}. A command is hostile until
validated: too large, not UTF-8 JSON, an unknown key, action or drill is refused, counted
(`rejected`) and logged once in a while; it never raises. A session nobody stops (a
closed browser tab) closes itself after `max_session_s`.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

from edge.analysis.backline import BackLine
from edge.analysis.bends import Sample
from edge.analysis.classifier import BULGE_FLAT, BULGE_ROUND
from edge.bend_events import skeleton_of
from edge.delivery.topics import live_topic
from edge.events import utc_ms
from edge.practice.drills import DRILL_IDS
from edge.practice_contract import (  # noqa: F401 - the contract, re-exported here
    LIVE_SCHEMA_ID,
    LIVE_SCHEMA_PATH,
    validate_live,
)

log = logging.getLogger(__name__)

# A command is two short strings: anything longer is not one.
MAX_COMMAND_BYTES = 512
# Frames closer together than this are dropped (the camera may run at 30 fps; a browser
# draws a skeleton smoothly at 15). The ≥ 10 frames/s floor is the analysis rate's: the
# agent analyses at least 10 frames a second while a session is open.
MAX_RATE_HZ = 30.0
# A session nobody stops closes itself after this long (a closed tab must not leave the
# device streaming for days).
MAX_SESSION_S = 30 * 60.0
# Log a refused command at most once in this many seconds (a flood must not fill the log).
REJECT_LOG_EVERY_S = 60.0

Action = Literal["start", "stop"]
Straightness = Literal["straight", "between", "rounded", "hidden"]
Send = Callable[[str, bytes], None]


class CommandError(ValueError):
    """A practice command that is not one; the message says why."""


@dataclass(frozen=True)
class PracticeCommand:
    action: Action
    drill: str | None


def parse_command(payload: bytes) -> PracticeCommand:
    """A validated command, or CommandError."""
    if len(payload) > MAX_COMMAND_BYTES:
        raise CommandError(f"larger than {MAX_COMMAND_BYTES} bytes ({len(payload)})")
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CommandError(f"not UTF-8 JSON: {str(exc)[:80]}") from None
    if not isinstance(data, dict):
        raise CommandError(f"expected a JSON object, got {type(data).__name__}")
    unknown = set(data) - {"drill", "action"}
    if unknown:
        raise CommandError(f"unknown key {sorted(unknown)[0][:40]!r}; allowed: action, drill")
    action, drill = data.get("action"), data.get("drill")
    if action not in ("start", "stop"):
        raise CommandError(f"action: expected start or stop, got {_short(action)}")
    if drill is None and action == "start":
        raise CommandError("drill: start needs a drill")
    if drill is not None and drill not in DRILL_IDS:
        raise CommandError(f"drill: expected one of {', '.join(DRILL_IDS)}, got {_short(drill)}")
    return PracticeCommand(action, drill)


def _short(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def straightness(line: BackLine) -> Straightness:
    """The back line as the classifier reads it (its flat and round cut-offs)."""
    if line.hidden or not math.isfinite(line.bulge_norm):
        return "hidden"
    if line.bulge_norm <= BULGE_FLAT:
        return "straight"
    return "rounded" if line.bulge_norm >= BULGE_ROUND else "between"


def back_points(sample: Sample) -> list[list[float]]:
    """The back line's outline points, x and y over the frame's width and height."""
    line, seg = sample.back, sample.pose.segmentation
    if line is None or seg is None or not len(line.contour_px):
        return []
    crop = np.asarray(line.contour_px, dtype=np.float64)
    frame = crop @ seg.crop_to_frame[:, :2].T + seg.crop_to_frame[:, 2]
    norm = frame / np.asarray(sample.pose.resolution_wh, dtype=np.float64)
    points: list[list[float]] = np.round(np.clip(norm, -1.0, 2.0), 4).tolist()
    return points


def live_frame(seq: int, t_s: float, drill: str, sample: Sample | None,
               rep: dict[str, Any] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """One frame of the live stream (`hingewatch.live/1`)."""
    frame: dict[str, Any] = {
        "schema": LIVE_SCHEMA_ID,
        "seq": seq,
        "t_s": round(t_s, 3),
        # Wall time it left the device: the viewer's frame-to-browser latency.
        "sent_at": utc_ms(now or datetime.now(UTC)),
        "drill": drill,
        "skeleton": None,
        "trunk_deg": None,
        "back": None,
    }
    if sample is not None:
        frame["skeleton"] = [[round(c, 4) for c in p] for p in skeleton_of(sample.pose)]
        trunk = sample.kin.trunk_inclination_deg
        frame["trunk_deg"] = round(trunk, 1) if math.isfinite(trunk) else None
        if sample.back is not None:
            bulge = sample.back.bulge_norm
            frame["back"] = {
                "points": back_points(sample),
                "bulge_norm": round(bulge, 4) if math.isfinite(bulge) else None,
                "straightness": straightness(sample.back),
            }
    if rep is not None:
        frame["rep"] = rep
    return frame


class LiveStream:
    """The session switch and the frames: `command(payload)` from the broker's thread,
    `frame(t_s, sample)` from the analysis loop; both safe to call at once."""

    def __init__(
        self,
        device_id: str,
        send: Send,
        *,
        on_start: Callable[[str], None] = lambda drill: None,
        on_stop: Callable[[str], None] = lambda drill: None,
        clock: Callable[[], float] = time.monotonic,
        max_rate_hz: float = MAX_RATE_HZ,
        max_session_s: float = MAX_SESSION_S,
    ) -> None:
        self.topic = live_topic(device_id)
        self._send = send
        self._on_start, self._on_stop = on_start, on_stop
        self._clock = clock
        self._min_gap_s = 1.0 / max_rate_hz
        self._max_session_s = max_session_s
        self._lock = threading.Lock()
        self._drill: str | None = None
        self._opened_s = 0.0
        self._last_sent_s = -math.inf
        self._rep: dict[str, Any] | None = None
        self._last_logged_s = -math.inf
        self.seq = 0
        self.rejected = 0
        self.last_rejection = ""

    @property
    def drill(self) -> str | None:
        """The drill of the open session, None when none is open."""
        with self._lock:
            return self._drill

    def command(self, payload: bytes) -> PracticeCommand | None:
        """Apply one command; a refused one is counted and returns None."""
        try:
            cmd = parse_command(payload)
        except CommandError as exc:
            with self._lock:
                self.rejected += 1
                self.last_rejection = str(exc)
                now = self._clock()
                quiet = now - self._last_logged_s < REJECT_LOG_EVERY_S
                if not quiet:
                    self._last_logged_s = now
            if not quiet:
                log.warning("practice command refused (%d so far): %s", self.rejected, exc)
            return None
        if cmd.action == "start":
            assert cmd.drill is not None
            self.start(cmd.drill)
        else:
            self.stop()
        return cmd

    def start(self, drill: str) -> None:
        """Open a session (a running one for another drill is stopped first)."""
        with self._lock:
            if self._drill == drill:
                return
        self.stop()
        with self._lock:
            self._drill, self._opened_s, self._rep = drill, self._clock(), None
            self._last_sent_s = -math.inf
        self._on_start(drill)

    def stop(self) -> None:
        with self._lock:
            drill, self._drill = self._drill, None
        if drill is not None:
            self._on_stop(drill)

    def rep(self, record: dict[str, Any]) -> None:
        """A rep just ended: the next frame carries its verdict and cue."""
        with self._lock:
            if self._drill is not None:
                self._rep = {k: record[k] for k in ("index", "posture", "good", "cue")}

    def frame(self, t_s: float, sample: Sample | None) -> bool:
        """Publish this frame if a session is open (and the rate allows); True if sent."""
        with self._lock:
            drill = self._drill
            if drill is None:
                return False
            now = self._clock()
            expired = now - self._opened_s > self._max_session_s
            if not expired:
                if now - self._last_sent_s < self._min_gap_s:
                    return False
                self._last_sent_s = now
                self.seq += 1
                seq, rep, self._rep = self.seq, self._rep, None
        if expired:
            log.info("practice session %s closed itself after %.0f min with no stop",
                     drill, self._max_session_s / 60)
            self.stop()
            return False
        payload = json.dumps(live_frame(seq, t_s, drill, sample, rep), separators=(",", ":"))
        self._send(self.topic, payload.encode())
        return True
