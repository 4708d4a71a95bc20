"""Finding the event the broker will not take, so it can be set aside.

A broker says no in one of two ways. Over MQTT 5 it may answer the PUBLISH with a failing
PUBACK (`Topic Name invalid`, `Payload format invalid`, `Not authorized`, `Packet too
large`): that event is set aside at once, unless the reason is one that passes (`Quota
exceeded`, `Packet Identifier in use`). Or it drops the connection on reading the PUBLISH
(a topic it cannot parse; MQTT 3.1.1 has no other way): then every event in flight is a
suspect, and while suspects wait the publisher sends one event at a time, so the next drop
names its culprit. An event that was alone in flight when the connection dropped soon after
it was sent, `STRIKES` times, is set aside; a network outage rarely hits the same lone
event that quickly that often, and even then the event is kept, only out of the way.
"""

from __future__ import annotations

from paho.mqtt.reasoncodes import ReasonCode

# Lone drops before an event is set aside. Raising it costs that many reconnects (with
# backoff) before the queue moves again; lowering it risks setting aside a good event
# during a flaky link.
STRIKES = 3
# A drop counts against an event only this soon after it was sent: the broker refuses a
# PUBLISH as it reads it, a keepalive timeout comes much later.
SUSPECT_WINDOW_S = 5.0
# PUBACK reasons that pass: the same event is fine later.
_TRANSIENT = {0x91, 0x97}  # Packet Identifier in use, Quota exceeded


def too_large(topic: str, payload: bytes, max_packet: int | None) -> bool:
    """Larger than the Maximum Packet Size an MQTT 5 broker announced (None: unknown)."""
    # PUBLISH: fixed header (<= 5), topic length (2), packet id (2), properties (1).
    size = 10 + len(topic.encode()) + len(payload)
    return max_packet is not None and size > max_packet


def refused_for_good(reason: ReasonCode) -> bool:
    """A failing PUBACK that sending again will not change."""
    return reason.is_failure and reason.value not in _TRANSIENT


class PoisonTracker:
    """Suspects and strikes per event, for one publisher (its network thread only)."""

    def __init__(self) -> None:
        self._strikes: dict[str, int] = {}

    @property
    def isolating(self) -> bool:
        """True while suspects wait: send one event at a time."""
        return bool(self._strikes)

    def connection_lost(self, in_flight: dict[str, float], now_s: float) -> list[str]:
        """The events (id -> when sent) in flight at a drop; returns those to set aside."""
        recent = [e for e, sent_s in in_flight.items() if now_s - sent_s <= SUSPECT_WINDOW_S]
        for event_id in recent:
            self._strikes.setdefault(event_id, 0)
        if len(recent) == 1 and len(in_flight) == 1:
            self._strikes[recent[0]] += 1
        doomed = [e for e in recent if self._strikes[e] >= STRIKES]
        for event_id in doomed:
            del self._strikes[event_id]
        return doomed

    def settled(self, event_id: str) -> None:
        """The event was acknowledged or set aside: no longer a suspect."""
        self._strikes.pop(event_id, None)
