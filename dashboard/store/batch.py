"""What the writer stores in one batch: one value per MQTT message (`ingest.messages`
makes them), and the local day an event is filed under."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class EventMessage:
    device_id: str
    event_id: str
    row: dict[str, object]      # the `events` row by column name (`sql.INSERT_EVENT`)
    trace_rate_hz: float
    landmarks: bytes            # skeleton + trace, packed by `landmarks.pack`
    software_version: str
    model: str                  # "name variant"


@dataclass(frozen=True)
class StatusMessage:
    device_id: str
    status: str | None          # None: the retained status was cleared


@dataclass(frozen=True)
class StateMessage:
    device_id: str
    state_json: str | None      # the JSON object as received; None: cleared


@dataclass(frozen=True)
class PracticeMessage:
    device_id: str
    row: dict[str, object]      # the `practice_sessions` row by column name


@dataclass(frozen=True)
class Rejected:
    reason: str                 # a key of `words.REJECT_WORDS`
    topic: str
    detail: str


Message = EventMessage | StatusMessage | StateMessage | PracticeMessage | Rejected


@lru_cache(maxsize=4096)
def _local_day(started_minute: str, zone: ZoneInfo) -> str:
    """The local date of a UTC minute ('2026-11-24T07:41'); cached, a bend burst shares it."""
    t = datetime.strptime(started_minute, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
    return t.astimezone(zone).date().isoformat()


def local_day(started_at: str, zone: ZoneInfo) -> str:
    return _local_day(started_at[:16], zone)
