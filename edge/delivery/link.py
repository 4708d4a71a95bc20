"""A second, light MQTT connection for the practice side: it listens for practice commands
and sends live frames (QoS 0), practice summaries and cues (QoS 1).

It is apart from the publisher on purpose: the publisher's one network thread is paced
by the outbox and its QoS 1 window, and a 15-frames-a-second stream of throwaway frames
must neither wait behind events nor delay them. This connection has its own client id
(`<client id>-link`), a clean session (a command queued while the device was away is
stale: nobody is standing in front of the camera any more) and no last will (the
publisher's `offline` speaks for the device). paho's own thread runs it and reconnects
with the configured backoff; `send` may be called from any thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt

from edge.delivery.mqtt_client import first_protocol, new_client
from edge.delivery.mqtt_config import MqttConfig
from edge.delivery.topics import adjust_topic, practice_cmd_topic

log = logging.getLogger(__name__)


class DeviceLink:
    """`start()`, then `send(topic, payload, qos)`; commands go to `on_command(payload)`."""

    def __init__(self, config: MqttConfig, on_command: Callable[[bytes], object],
                 environ: dict[str, str] | None = None,
                 retained: Sequence[tuple[str, str]] = (),
                 on_adjust: Callable[[bytes], object] | None = None) -> None:
        self.config = config
        # Sent retained on every connect (the cue's Home Assistant discovery).
        self._retained = tuple(retained)
        self.cmd_topic = practice_cmd_topic(config.device_id)
        # What each topic we listen to is for: practice commands, and the cut-offs a
        # reviewer accepted for this device (retained: it arrives on every connect).
        self._handlers: dict[str, Callable[[bytes], object]] = {self.cmd_topic: on_command}
        if on_adjust is not None:
            self._handlers[adjust_topic(config.device_id)] = on_adjust
        # A clean session of its own: frames and commands are worth nothing later.
        self.client = new_client(config, first_protocol(config), *config.credentials(environ),
                                 config.ssl_context(), role="link", clean=True)
        self.client.reconnect_delay_set(max(1, round(config.reconnect_min_s)),
                                        max(1, round(config.reconnect_max_s)))
        self.client.on_connect = self._connected
        self.client.on_message = self._message
        self.client.on_disconnect = self._disconnected
        self._subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self._unacked: list[mqtt.MQTTMessageInfo] = []  # QoS 1 sends, flushed on close

    def start(self) -> DeviceLink:
        self.client.connect_async(self.config.host, self.config.port,
                                  keepalive=self.config.keepalive_s)
        self.client.loop_start()
        return self

    def wait_ready(self, timeout_s: float) -> bool:
        """Connected and listening for commands."""
        return self._subscribed.wait(timeout_s)

    def send(self, topic: str, payload: bytes | str, qos: int = 0) -> None:
        """Not retained. While disconnected a QoS 0 frame is dropped (a late frame is worth
        nothing); paho keeps QoS 1 messages for the reconnect."""
        if qos == 0 and not self.client.is_connected():
            return
        info = self.client.publish(topic, payload, qos=qos, retain=False)
        if qos:
            self._unacked = [i for i in self._unacked if not i.is_published()] + [info]

    def close(self, timeout_s: float = 2.0) -> None:
        """Wait up to `timeout_s` for QoS 1 sends (a session's summary) to be acknowledged,
        then disconnect."""
        deadline = time.monotonic() + timeout_s
        for info in self._unacked:
            left = deadline - time.monotonic()
            if left <= 0 or not self.client.is_connected():
                break
            try:
                info.wait_for_publish(left)
            except (RuntimeError, ValueError):  # never queued (disconnected, too large)
                continue
        self.client.disconnect()
        self.client.loop_stop()

    def _connected(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                   properties: Any) -> None:
        if getattr(reason, "is_failure", False):
            log.error("link to %s refused: %s", self.config.url, reason)
            return
        client.subscribe([(topic, 1) for topic in self._handlers])
        for topic, payload in self._retained:
            client.publish(topic, payload, qos=0, retain=True)

    def _disconnected(self, *args: Any) -> None:
        self._subscribed.clear()

    def _message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        handler = self._handlers.get(message.topic)  # the broker sends what we asked; check
        if handler is None:
            return
        try:
            handler(bytes(message.payload))
        except Exception:  # noqa: BLE001 - paho's thread must outlive any handler bug
            log.exception("handler for %s failed", message.topic)
