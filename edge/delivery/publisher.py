"""The publisher: events from the outbox to the broker, through outages and restarts.

One network thread owns the connection and is the only code that touches paho (through
paho's external-loop calls: `loop_read`, `loop_write`, `loop_misc`), so no two threads
ever write to the socket at once. `submit` commits the event to the outbox and wakes
that thread; nothing else.

The thread connects (MQTT 5 with a persistent session, or 3.1.1 when the broker refuses
5), waits for the CONNACK, and only when that says success publishes `online` (retained)
on the status topic, the Home Assistant discovery and the last state, and then replays
the outbox in insertion order, at most `max_inflight` events unacknowledged at a time
(edge.delivery.sender). An event leaves the outbox only when the PUBACK for its own message
id arrives, or when the broker will not take it: then it is set aside (see
edge.delivery.poison). When the connection drops, what was in flight is forgotten and
replayed from the outbox after the next CONNACK: nothing is lost, a duplicate is the worst
case (consumers dedupe on `event_id`). Failed attempts wait with jittered exponential
backoff; a refusal (a wrong password) is logged once as an error, not once per attempt.

Only events use QoS 1, so the broker's Receive Maximum is all theirs; `online`, the
discovery and the state go out at QoS 0 (retained): they are sent again on every
connect, and a connection that dies before they arrive leads to that reconnect.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import replace
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge import __version__
from edge.delivery.discovery import discovery_messages
from edge.delivery.mqtt_config import MqttConfig, backoff_delay_s, explain_connect_error
from edge.delivery.outbox import Outbox
from edge.delivery.paho_io import Wakeup, io_step, new_client
from edge.delivery.sender import EventSender
from edge.delivery.state import DeviceState
from edge.delivery.topics import HA_STATUS, event_topic, state_topic, status_topic
from edge.events import BendEvent, validate

log = logging.getLogger(__name__)

# Longest the network thread sleeps in select() with nothing to do (submit, close and
# the socket wake it at once). Raising it only delays keepalive bookkeeping.
IDLE_WAIT_S = 1.0
# A connection that lasted this long resets the backoff to reconnect_min_s. Raising it
# keeps backing off longer from a broker that accepts and soon drops us.
STABLE_CONNECTION_S = 5.0
_REFUSED_LOGIN = {"Bad user name or password", "Not authorized"}
_UNSUPPORTED_PROTOCOL = 132  # CONNACK "Unsupported protocol version" (3.1.1 brokers: rc 1)


class Publisher:
    """Delivers events through the outbox; `submit` returns once the event is committed."""

    def __init__(
        self,
        config: MqttConfig,
        outbox: Outbox,
        *,
        environ: dict[str, str] | None = None,
        rng: random.Random | None = None,
        software_version: str = __version__,
        validate_events: bool = True,
    ) -> None:
        self.config = config
        self.outbox = outbox
        outbox.claim(config.device_id)  # one outbox, one device: another's is refused
        self._username, self._password = config.credentials(environ)
        self._ssl_context = config.ssl_context()
        self._rng = rng or random.Random()
        self._version = software_version
        # Schema-checking an event costs ~30 ms on a desktop core (its trace holds ~3000
        # numbers); it turns a producer bug into an EventError at the source.
        self._validate = validate_events
        self._event_topic = event_topic(config.device_id)
        self._status_topic = status_topic(config.device_id)
        self._state_topic = state_topic(config.device_id)
        self._protocol = mqtt.MQTTv311 if config.protocol == "3.1.1" else mqtt.MQTTv5
        self._wakeup = Wakeup()

        # Shared with callers: guarded by the condition's lock.
        self._changed = threading.Condition()
        self._connected = False
        self._state: DeviceState | None = None
        self._state_due = False

        # The network thread's own.
        self._client: mqtt.Client | None = None
        self._sender = EventSender(outbox, config.max_inflight, self._notify)
        self._outbox_shown = (False, True, 0)  # (near full, empty, dead) as last said
        self._connack: ReasonCode | None = None
        self._connack_props: Properties | None = None
        self._ha_online = False
        self._last_reported = ""

        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connect_attempts = 0
        self.last_error = ""

    # -- the caller's side -------------------------------------------------------------

    def start(self) -> Publisher:
        if self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(target=self._run, name="hingewatch-mqtt",
                                            daemon=True)
            self._thread.start()
        return self

    def submit(self, event: BendEvent) -> bool:
        """Commit the event to the outbox, then have it published. False: already stored.

        Raises EventError for an invalid event, OutboxFullError when the outbox is full.
        """
        payload = event.to_json()
        if self._validate:
            validate(json.loads(payload))
        added = self.outbox.add(event.event_id, self._event_topic, payload.encode())
        self._wake()
        return added

    def publish_state(self, state: DeviceState) -> None:
        """Publish the retained live state now (or on the next connect); the publisher
        fills in the outbox's depth and near-full flag."""
        with self._changed:
            self._state = state
            self._state_due = True
        self._wake()

    def wait_connected(self, timeout_s: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._connected, timeout=timeout_s)

    def wait_drained(self, timeout_s: float) -> bool:
        """True once every committed event has been acknowledged (the outbox is empty)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.outbox.depth == 0, timeout=timeout_s)

    @property
    def connected(self) -> bool:
        """True only between a successful CONNACK and the loss of that connection."""
        return self._connected

    @property
    def protocol(self) -> str:
        return "5" if self._protocol == mqtt.MQTTv5 else "3.1.1"

    def close(self, timeout_s: float = 5.0) -> None:
        """Say `offline` (retained), disconnect cleanly, stop the thread. Events not yet
        acknowledged stay in the outbox for the next start."""
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout_s + self.config.connect_timeout_s)
            if self._thread.is_alive():
                log.warning("the MQTT thread did not stop within %.1f s", timeout_s)
                return  # it still uses the wake socket
            self._thread = None
        self._wakeup.close()

    def __enter__(self) -> Publisher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wake(self) -> None:
        self._wakeup.wake()

    # -- the network thread: connections -----------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            outcome = self._session()
            if outcome == "stopped":
                break
            if outcome == "downgrade":
                continue  # straight away with 3.1.1: the broker answered, it is up
            # A connection that held resets the backoff; one dropped at once does not, so
            # a broker that accepts and then kicks us (a client id clash) is not hammered.
            failures = 0 if outcome == "stable" else failures
            delay_s = backoff_delay_s(failures, self.config.reconnect_min_s,
                                      self.config.reconnect_max_s, self._rng)
            failures += 1
            log.debug("next MQTT connection attempt in %.2f s", delay_s)
            self._stop.wait(delay_s)

    def _session(self) -> str:
        """One connection: connect, serve until it ends. Returns how it ended."""
        cfg = self.config
        client = self._client
        if client is None or client.protocol != self._protocol:
            client = self._client = self._new_client()
        client.drop_out_messages()  # the outbox, not paho, decides what is resent
        self._connack = None
        self._sender.acks.clear()
        self.connect_attempts += 1
        try:
            if self._protocol == mqtt.MQTTv5:
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = cfg.session_expiry_s
                client.connect(cfg.host, cfg.port, cfg.keepalive_s, clean_start=False,
                               properties=props)
            else:
                client.connect(cfg.host, cfg.port, cfg.keepalive_s)
        except OSError as exc:  # includes ssl.SSLError and socket timeouts
            message, setup_error = explain_connect_error(exc, cfg)
            self._fail(message, error=setup_error)
            return "failed"

        connack_deadline = time.monotonic() + cfg.connect_timeout_s
        connected_at: float | None = None
        while True:
            if self._stop.is_set():
                if connected_at is not None:
                    self._say_offline(client)
                else:
                    client.disconnect()
                self._set_disconnected()
                return "stopped"
            ok = io_step(client, self._wakeup, IDLE_WAIT_S if connected_at else 0.1)
            if self._connack is not None and connected_at is None:
                if self._connack.is_failure:
                    return self._refused(self._connack)
                connected_at = time.monotonic()
                self._on_connected(client)
            if not ok:
                if connected_at is not None:
                    self._sender.connection_lost()
                self._set_disconnected()
                if connected_at is not None:
                    self._fail(f"lost the connection to {cfg.url}; {self.outbox.depth} "
                               "events wait in the outbox", error=False)
                    held = time.monotonic() - connected_at >= STABLE_CONNECTION_S
                    return "stable" if held else "dropped"
                self._fail(f"{cfg.url} closed the connection before answering CONNECT "
                           "(a TLS port reached without TLS? use mqtts:// or set ca_file)",
                           error=True)
                return "failed"
            if connected_at is None and time.monotonic() > connack_deadline:
                client.disconnect()
                self._fail(f"{cfg.url} sent no CONNACK within {cfg.connect_timeout_s} s "
                           "(not an MQTT broker, or TLS expected?)", error=True)
                return "failed"
            if connected_at is not None:
                self._service(client)

    def _new_client(self) -> mqtt.Client:
        client = new_client(self.config, self._protocol, self._status_topic, self._username,
                            self._password, self._ssl_context)
        client.on_connect = self._on_connect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        # paho's own words at debug only: ours already say each failure once, clearly.
        client.on_log = self._on_log
        return client

    def _on_connected(self, client: mqtt.Client) -> None:
        """CONNACK said success: now, and only now, say online."""
        receive_max = getattr(self._connack_props, "ReceiveMaximum", 65535)
        # MQTT 5: the broker says what it drops the connection for; 3.1.1 brokers do not.
        self._sender.connected(int(receive_max),
                               getattr(self._connack_props, "MaximumPacketSize", None))
        client.publish(self._status_topic, "online", qos=0, retain=True)
        if self.config.ha_discovery:
            client.subscribe(HA_STATUS, qos=1)
            self._publish_discovery(client)
        with self._changed:
            self._connected = True
            self._state_due = self._state is not None
            self._changed.notify_all()
        if self._last_reported:
            log.info("connected to %s again", self.config.url)
        log.info("connected to %s as %s (MQTT %s); %d events to send", self.config.url,
                 self.config.effective_client_id, self.protocol, self.outbox.depth)
        self._last_reported = ""
        self.last_error = ""
        self._service(client)

    def _refused(self, reason: ReasonCode) -> str:
        self._set_disconnected()
        if (reason.value == _UNSUPPORTED_PROTOCOL and self.config.protocol == "auto"
                and self._protocol == mqtt.MQTTv5):
            log.info("%s does not speak MQTT 5; using MQTT 3.1.1", self.config.url)
            self._protocol = mqtt.MQTTv311
            return "downgrade"
        name = reason.getName()
        hint = ""
        if name in _REFUSED_LOGIN:
            who = f"user {self._username!r}" if self._username else "an anonymous login"
            hint = f" for {who}: check username and password_file / HINGEWATCH_MQTT_PASSWORD"
        self._fail(f"{self.config.url} refused the connection: {name}{hint}", error=True)
        return "failed"

    def _say_offline(self, client: mqtt.Client) -> None:
        """A clean goodbye: let the events in flight be acknowledged, then `offline`
        (retained, acknowledged), then DISCONNECT, which tells the broker to drop the will."""
        deadline = time.monotonic() + self.config.connect_timeout_s
        info: mqtt.MQTTMessageInfo | None = None
        while time.monotonic() < deadline:
            self._sender.process_acks()  # acknowledged now: not resent after the next start
            if not self._sender.in_flight and info is None:
                # QoS 1 once no event is in flight: never beyond the Receive Maximum.
                info = client.publish(self._status_topic, "offline", qos=1, retain=True)
            if info is not None and info.is_published():
                break
            if not io_step(client, self._wakeup, 0.1):
                return
        client.disconnect()  # written at once: this thread is paho's only user

    def _set_disconnected(self) -> None:
        self._sender.disconnected()
        with self._changed:
            self._connected = False
            self._changed.notify_all()

    def _fail(self, message: str, *, error: bool) -> None:
        """Log a failure once (as long as it repeats unchanged), then only at debug."""
        self.last_error = message
        if message == self._last_reported:
            log.debug("%s (attempt %d)", message, self.connect_attempts)
            return
        self._last_reported = message
        log.log(logging.ERROR if error else logging.WARNING, "%s [retrying with backoff]",
                message)

    # -- the network thread: publishing ------------------------------------------------

    def _service(self, client: mqtt.Client) -> None:
        """After each wake-up: acknowledgements, new events, state, discovery."""
        self._sender.process_acks()
        if not self._stop.is_set():
            self._sender.send(client)
        refresh = False
        if self._ha_online:
            self._ha_online = False
            log.info("Home Assistant came online: publishing discovery again")
            self._publish_discovery(client)
            refresh = True
        # The agent republishes its state now and then; the outbox filling up, or draining
        # to empty, is news that should not wait for that.
        outbox_news = (self.outbox.near_full, self.outbox.depth == 0, self.outbox.dead_count)
        if outbox_news != self._outbox_shown:
            self._outbox_shown = outbox_news
            refresh = True
        with self._changed:
            state, due, self._state_due = self._state, self._state_due or refresh, False
        if due and state is not None:
            state = replace(state, outbox_depth=self.outbox.depth,
                            outbox_near_full=self.outbox.near_full,
                            outbox_dead=self.outbox.dead_count)
            client.publish(self._state_topic, state.to_json(), qos=0, retain=True)

    def _notify(self) -> None:
        """Events left the queue: wake whoever waits for it to drain."""
        with self._changed:
            self._changed.notify_all()

    def _publish_discovery(self, client: mqtt.Client) -> None:
        for message in discovery_messages(self.config.device_id, self._version):
            client.publish(message.topic, message.payload, qos=0, retain=True)

    # -- paho callbacks: inside loop_read(), on the network thread ---------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any,
                    reason: ReasonCode, properties: Properties | None) -> None:
        self._connack_props = properties
        self._connack = reason

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int,
                    reason: ReasonCode, properties: Properties | None) -> None:
        # Acted on after loop_read(), outside paho's locks.
        self._sender.acks.append((mid, reason))

    def _on_message(self, client: mqtt.Client, userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        if message.topic == HA_STATUS and message.payload.strip() == b"online":
            self._ha_online = True

    def _on_log(self, client: mqtt.Client, userdata: Any, level: int, text: str) -> None:
        log.debug("paho: %s", text)
