"""A gentle cue in everyday life: after N rounded bends within M minutes, one cue with the
words to say, published on `hingewatch/<device>/cue` (`hingewatch.cue/1`, QoS 1, not
retained); Home Assistant gets it as an `event` entity (edge.delivery.discovery), so a
speaker or a phone can say it. Only rounded backs said at least `min_confidence` sure
count: a cue asks a person to change how they bend, and a false "rounded back" nags one
who did well.

Off by default ([cue] enabled). Gentle means rare: at least `min_gap_min` between two
cues, none in the quiet hours, never more than `max_per_day` a day — counted in a small
state file when one is given, so a restarted agent does not start the day's count over.
The clock is injected (an aware datetime in the household's time zone): quiet hours and
days are local.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from edge.config import CueConfig
from edge.events import utc_ms

log = logging.getLogger(__name__)

CUE_SCHEMA_ID = "hingewatch.cue/1"
CUE_SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "cue-1.schema.json"


def local_now() -> datetime:
    return datetime.now().astimezone()


@dataclass(frozen=True)
class Cue:
    at: datetime
    words: str
    rounded_bends: int
    window_min: float
    of_day: int  # 1 for the day's first cue

    def to_dict(self, device_id: str) -> dict[str, Any]:
        return {"schema": CUE_SCHEMA_ID, "device_id": device_id, "at": utc_ms(self.at),
                "words": self.words, "rounded_bends": self.rounded_bends,
                "window_min": self.window_min, "of_day": self.of_day}

    def to_json(self, device_id: str) -> str:
        return json.dumps(self.to_dict(device_id), separators=(",", ":"))


def _hhmm(text: str) -> time:
    hh, mm = text.split(":")
    return time(int(hh), int(mm))


def in_quiet_hours(now: datetime, start: str, end: str) -> bool:
    """`start` ≤ now < `end` in local time, across midnight when start is later."""
    t, a, b = now.time().replace(tzinfo=None), _hhmm(start), _hhmm(end)
    if a == b:
        return False
    return a <= t < b if a < b else (t >= a or t < b)


class CueTrigger:
    """`bend(posture, confidence)` for every bend delivered → a Cue when one is due, else
    None."""

    def __init__(self, config: CueConfig, clock: Callable[[], datetime] = local_now,
                 state_file: Path | None = None) -> None:
        self.config = config
        self._clock = clock
        self._state_file = state_file
        self._rounds: deque[datetime] = deque()
        self._last: datetime | None = None
        self._day: date | None = None
        self._today = 0
        self._load()

    @property
    def sent_today(self) -> int:
        return self._today if self._day == self._clock().date() else 0

    def bend(self, posture: str, confidence: float) -> Cue | None:
        c = self.config
        if not c.enabled or posture != "round" or not confidence >= c.min_confidence:
            return None
        now = self._clock()
        window = timedelta(minutes=c.window_min)
        self._rounds.append(now)
        while self._rounds and now - self._rounds[0] > window:
            self._rounds.popleft()
        if len(self._rounds) < c.rounded_bends:
            return None
        if in_quiet_hours(now, c.quiet_start, c.quiet_end):
            return None
        if self._last is not None and now - self._last < timedelta(minutes=c.min_gap_min):
            return None
        if self.sent_today >= c.max_per_day:
            return None
        if self._day != now.date():
            self._day, self._today = now.date(), 0
        self._today += 1
        self._last = now
        count = len(self._rounds)
        self._rounds.clear()  # the next cue needs N rounded bends of its own
        self._save()
        return Cue(now, c.words, count, c.window_min, self._today)

    def _load(self) -> None:
        if self._state_file is None or not self._state_file.is_file():
            return
        try:
            data = json.loads(self._state_file.read_text())
            self._day = date.fromisoformat(data["day"])
            self._today = int(data["count"])
            self._last = datetime.fromisoformat(data["last"]) if data.get("last") else None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # A broken state file must not stop the agent; the day's count starts over.
            log.warning("cue state %s unreadable (%s); starting the day's count over",
                        self._state_file, exc)
            self._day, self._today, self._last = None, 0, None

    def _save(self) -> None:
        if self._state_file is None or self._day is None:
            return
        data = {"day": self._day.isoformat(), "count": self._today,
                "last": self._last.isoformat() if self._last else None}
        try:
            tmp = self._state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            tmp.replace(self._state_file)
        except OSError as exc:
            log.warning("cue state %s not saved: %s", self._state_file, exc)
