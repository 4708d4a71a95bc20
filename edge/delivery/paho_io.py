"""The publisher's plumbing around paho: a wake-up socket, one select() step of paho's
external loop, and a configured client. Only the publisher's network thread uses them."""

from __future__ import annotations

import contextlib
import select
import socket
import ssl

import paho.mqtt.client as mqtt

from edge.delivery.mqtt_client import new_client as broker_client
from edge.delivery.mqtt_config import MqttConfig


class Wakeup:
    """A socket pair: any thread `wake()`s the network thread out of its select()."""

    def __init__(self) -> None:
        self.reader, self._writer = socket.socketpair()
        self.reader.setblocking(False)
        self._writer.setblocking(False)

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # full: already woken; closed: stopping
            self._writer.send(b"\0")

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self.reader.recv(4096)

    def close(self) -> None:
        self.reader.close()
        self._writer.close()


def io_step(client: mqtt.Client, wakeup: Wakeup, timeout_s: float) -> bool:
    """Wait for the socket, a wake-up or the timeout; let paho read, write and keep
    alive. False when the connection is gone (paho has closed it)."""
    sock = client.socket()
    if sock is None:
        return False
    # TLS may hold decrypted bytes that select() cannot see.
    pending = int(getattr(sock, "pending", lambda: 0)())
    wlist = [sock] if client.want_write() else []
    try:
        readable, _, _ = select.select([sock, wakeup.reader], wlist, [],
                                       0.0 if pending else timeout_s)
    except (OSError, ValueError):
        return False
    if wakeup.reader in readable:
        wakeup.drain()
    if (sock in readable or pending) and client.loop_read() != mqtt.MQTT_ERR_SUCCESS:
        return False
    if client.want_write() and client.loop_write() != mqtt.MQTT_ERR_SUCCESS:
        return False
    return client.loop_misc() == mqtt.MQTT_ERR_SUCCESS and client.socket() is not None


def new_client(cfg: MqttConfig, protocol: int, will_topic: str, username: str,
               password: str | None, ssl_context: ssl.SSLContext | None) -> mqtt.Client:
    """The shared broker client (edge.delivery.mqtt_client) with the `offline` will and
    the agent's in-flight window."""
    client = broker_client(cfg, protocol, username, password, ssl_context)
    client.will_set(will_topic, "offline", qos=1, retain=True)
    client.max_inflight_messages_set(cfg.max_inflight)
    return client
