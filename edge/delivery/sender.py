"""The events' side of one MQTT connection: the outbox replayed in insertion order, at most
the broker's window unacknowledged at a time; a PUBACK deletes its own event; an event the
broker will not take is set aside (see edge.delivery.poison) so the ones behind it move on.

It runs on the publisher's network thread only, which owns the paho client.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from edge.delivery.outbox import Outbox
from edge.delivery.poison import STRIKES, PoisonTracker, refused_for_good, too_large

log = logging.getLogger(__name__)


class EventSender:
    """`send(client)` after each wake-up; `acks` gets each PUBACK from paho's callback;
    `settled()` is called whenever events leave the queue."""

    def __init__(self, outbox: Outbox, max_inflight: int, settled: Callable[[], None]) -> None:
        self.outbox = outbox
        self.max_inflight = max_inflight
        self._settled = settled
        self._window = max_inflight
        self._inflight: dict[int, str] = {}  # message id -> event_id, this connection only
        self._sent_s: dict[str, float] = {}  # event_id -> when it was sent (monotonic)
        self._poison = PoisonTracker()
        self._last_seq = 0  # the last outbox seq published on this connection
        self._max_packet: int | None = None
        self.acks: collections.deque[tuple[int, ReasonCode]] = collections.deque()

    @property
    def in_flight(self) -> bool:
        return bool(self._inflight)

    def connected(self, receive_max: int, max_packet: int | None) -> None:
        """A new connection: the broker's window and packet limit, the outbox from the top."""
        self._max_packet = max_packet  # MQTT 5 brokers say it; 3.1.1 brokers do not
        self._window = max(1, min(self.max_inflight, receive_max))
        self._inflight.clear()
        self._last_seq = 0

    def disconnected(self) -> None:
        """What was in flight is forgotten: it is sent again from the outbox."""
        self._inflight.clear()
        self._sent_s.clear()

    def send(self, client: mqtt.Client) -> None:
        """Publish what waits, as far as the window allows."""
        # While a suspect waits, one at a time: the next drop then names the culprit.
        room = (1 if self._poison.isolating else self._window) - len(self._inflight)
        for entry in self.outbox.pending(room, after_seq=self._last_seq):
            self._last_seq = entry.seq
            if too_large(entry.topic, entry.payload, self._max_packet):
                self._set_aside(entry.event_id, "larger than the broker's maximum "
                                f"packet size ({self._max_packet} bytes)")
                continue
            info = client.publish(entry.topic, entry.payload, qos=1, retain=False)
            self._inflight[info.mid] = entry.event_id
            self._sent_s[entry.event_id] = time.monotonic()

    def process_acks(self) -> None:
        """Delete the events whose PUBACK came."""
        acked: list[str] = []
        while self.acks:
            mid, reason = self.acks.popleft()
            event_id = self._inflight.pop(mid, None)
            if event_id is None:
                continue  # the `offline` status: nothing to delete
            self._sent_s.pop(event_id, None)
            if refused_for_good(reason):
                # Sending it again changes nothing: out of the queue's way, kept, counted.
                self._set_aside(event_id, f"the broker refused it: {reason.getName()}")
            elif reason.is_failure:
                # Kept: it is retried after the next reconnect, never silently dropped.
                log.error("the broker refused event %s for now: %s; it stays in the outbox",
                          event_id, reason.getName())
            else:
                acked.append(event_id)
                self._poison.settled(event_id)
        if acked:
            self.outbox.remove_many(acked)
            self._settled()

    def connection_lost(self) -> None:
        """The connection dropped: what was in flight may be why (see edge.delivery.poison)."""
        self.process_acks()  # acknowledged in the last read: not a suspect
        in_flight = {e: self._sent_s.get(e, 0.0) for e in self._inflight.values()}
        for event_id in self._poison.connection_lost(in_flight, time.monotonic()):
            self._set_aside(event_id, f"the broker dropped the connection each time it was "
                                      f"sent ({STRIKES} times alone)")

    def _set_aside(self, event_id: str, reason: str) -> None:
        self.outbox.set_aside(event_id, reason)
        self._poison.settled(event_id)
        self._settled()  # wait_drained counts only what still waits
