"""The dashboard's side of a practice session: it sends the device the start and stop
command (`hingewatch/<device>/practice/cmd`, QoS 1) and, only while a session it opened
is open, listens to that device's live frames (`hingewatch/<device>/live`) and summary.

Every frame is hostile until `edge.practice_contract` says otherwise: a bad one is dropped
and counted (`bad_frames`, with the last reason), never passed on. Good frames and the
summary go to the listeners of that device (the Practice page's streams), called from
paho's thread; a listener must only hand them over to its own loop.

A connection of its own, apart from ingest's: a clean session (a command queued while the
dashboard was away is stale, and so is a frame) and its own client id (`<id>-practice`).
Storing the summary is ingest's job (it subscribes every device's practice topic with a
persistent session); this link only shows it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

from edge.delivery.mqtt_client import falls_back, first_protocol, new_client
from edge.delivery.mqtt_config import BrokerConfig
from edge.delivery.topics import check_device_id, live_topic, practice_cmd_topic, practice_topic
from edge.practice_contract import LiveError, PracticeError, drill_ids, parse_live, parse_summary

log = logging.getLogger("hingewatch.dashboard.practice")

# The edge closes a session nobody stops after 30 minutes (edge.delivery.live); we stop
# listening at the same point, so a forgotten tab does not keep frames flowing to us.
MAX_SESSION_S = 30 * 60.0
# How long a start waits for the broker to confirm the live subscription.
SUBACK_WAIT_S = 5.0
# After a stop, keep listening this long for the device's summary.
SUMMARY_WAIT_S = 15.0

# listener(kind, data): kind "frame" or "summary", data the validated JSON object.
Listener = Callable[[str, dict[str, Any]], None]


class PracticeLinkError(Exception):
    """The command cannot be sent now (not connected, bad drill); the message says why."""


@dataclass
class _Open:
    drill: str
    opened_s: float
    stopped_s: float | None = None


class PracticeLink:
    def __init__(self, cfg: BrokerConfig, *, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.cfg = cfg
        self._clock = clock
        self._lock = threading.Lock()
        self._open: dict[str, _Open] = {}
        self._listeners: dict[str, set[Listener]] = {}
        self.frames = 0
        self.bad_frames = 0
        self.last_bad = ""
        self._acked: set[int] = set()
        self._acked_cond = threading.Condition()
        self.client = self._new_client(first_protocol(cfg))

    def _new_client(self, protocol: int) -> mqtt.Client:
        cfg = self.cfg
        self.protocol = protocol
        client = new_client(cfg, protocol, *cfg.credentials(), cfg.ssl_context(),
                            role="practice", clean=True)
        client.reconnect_delay_set(max(1, round(cfg.reconnect_min_s)),
                                   max(1, round(cfg.reconnect_max_s)))
        client.on_connect = self._connected
        client.on_message = self._message
        client.on_subscribe = self._subscribed
        return client

    def start(self) -> PracticeLink:
        self.client.connect_async(self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def connected(self) -> bool:
        return bool(self.client.is_connected())

    def wait_connected(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not self.connected:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    # --- sessions ---------------------------------------------------------------------

    def session(self, device_id: str) -> str | None:
        """The drill of the session open on this device (opened here), or None."""
        with self._lock:
            self._expire(device_id)
            found = self._open.get(device_id)
            return found.drill if found is not None and found.stopped_s is None else None

    def open(self, device_id: str, drill: str) -> None:
        check_device_id(device_id)
        if drill not in drill_ids():
            raise PracticeLinkError(f"drill: expected one of {', '.join(drill_ids())}, "
                                    f"got {drill[:40]!r}")
        self._command(device_id, {"drill": drill, "action": "start"})
        with self._lock:
            self._open[device_id] = _Open(drill, self._clock())
        _, mid = self.client.subscribe([(live_topic(device_id), 0),
                                        (practice_topic(device_id), 1)])
        # Back to the page only once the broker sends us the frames: none is lost between.
        with self._acked_cond:
            self._acked_cond.wait_for(lambda: mid in self._acked, SUBACK_WAIT_S)
            self._acked.discard(mid)

    def close(self, device_id: str) -> None:
        check_device_id(device_id)
        self._command(device_id, {"action": "stop"})
        self.client.unsubscribe(live_topic(device_id))
        with self._lock:
            found = self._open.get(device_id)
            if found is not None:
                found.stopped_s = self._clock()

    def _command(self, device_id: str, command: dict[str, str]) -> None:
        if not self.connected:
            raise PracticeLinkError(f"not connected to the broker {self.cfg.url}: try again "
                                    "in a moment")
        info = self.client.publish(practice_cmd_topic(device_id),
                                   json.dumps(command, separators=(",", ":")), qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise PracticeLinkError(f"the command was not sent: {mqtt.error_string(info.rc)}")

    def publish_retained(self, topic: str, payload: str) -> None:
        """A retained command to a device (its accepted adjustment; "" clears it)."""
        if not self.connected:
            raise PracticeLinkError(f"not connected to the broker {self.cfg.url}: try again "
                                    "in a moment")
        info = self.client.publish(topic, payload, qos=1, retain=True)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise PracticeLinkError(f"not sent: {mqtt.error_string(info.rc)}")

    def _expire(self, device_id: str) -> bool:
        """Forget a session past its time (lock held); True when it went."""
        found = self._open.get(device_id)
        if found is None:
            return False
        now = self._clock()
        over = (now - found.opened_s > MAX_SESSION_S if found.stopped_s is None
                else now - found.stopped_s > SUMMARY_WAIT_S)
        if over:
            del self._open[device_id]
            self.client.unsubscribe([live_topic(device_id), practice_topic(device_id)])
        return over

    # --- listeners --------------------------------------------------------------------

    def listen(self, device_id: str, listener: Listener) -> None:
        with self._lock:
            self._listeners.setdefault(device_id, set()).add(listener)

    def unlisten(self, device_id: str, listener: Listener) -> None:
        with self._lock:
            found = self._listeners.get(device_id)
            if found is not None:
                found.discard(listener)
                if not found:
                    del self._listeners[device_id]

    # --- paho's thread ----------------------------------------------------------------

    def _connected(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                   properties: Any) -> None:
        if getattr(reason, "is_failure", False):
            if falls_back(self.cfg, self.protocol, reason):
                # The broker speaks 3.1.1 only (as ingest does, edge.delivery.mqtt_client).
                client.loop_stop()
                self.client = self._new_client(mqtt.MQTTv311)
                self.start()
                return
            log.error("practice link to %s refused: %s", self.cfg.url, reason)
            return
        with self._lock:
            devices = [d for d, o in self._open.items() if o.stopped_s is None]
        for device_id in devices:  # a clean session: subscribe again after a reconnect
            client.subscribe([(live_topic(device_id), 0), (practice_topic(device_id), 1)])

    def _subscribed(self, client: mqtt.Client, userdata: Any, mid: int, *args: Any) -> None:
        with self._acked_cond:
            self._acked.add(mid)
            if len(self._acked) > 64:  # acks nobody waits for (a reconnect's)
                self._acked.clear()
            self._acked_cond.notify_all()

    def _message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            self._handle(message.topic, bytes(message.payload))
        except Exception:  # noqa: BLE001 - paho's thread must outlive any handler bug
            log.exception("practice link: a message could not be handled")

    def _handle(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        if len(parts) != 3:
            return
        device_id, kind = parts[1], parts[2]
        with self._lock:
            if self._expire(device_id) or device_id not in self._open:
                return  # not a session we opened: not ours to show
            session = self._open[device_id]
        if kind == "live":
            if session.stopped_s is not None:
                return
            try:
                data = parse_live(payload)
            except LiveError as exc:
                self._bad(device_id, str(exc))
                return
            self.frames += 1
            self._tell(device_id, "frame", data)
        elif kind == "practice":
            try:
                data = parse_summary(payload)
            except PracticeError as exc:
                self._bad(device_id, f"summary: {exc}")
                return
            if data["device_id"] != device_id:
                self._bad(device_id, f"summary of device_id {data['device_id']!r}")
                return
            self._tell(device_id, "summary", data)

    def _bad(self, device_id: str, why: str) -> None:
        with self._lock:
            self.bad_frames += 1
            self.last_bad = why[:200]
            first = self.bad_frames == 1
        if first or self.bad_frames % 100 == 0:
            log.warning("practice link: dropped a bad message from %s (%d so far): %s",
                        device_id, self.bad_frames, why[:200])

    def _tell(self, device_id: str, kind: str, data: dict[str, Any]) -> None:
        with self._lock:
            listeners = list(self._listeners.get(device_id, ()))
        for listener in listeners:
            listener(kind, data)
