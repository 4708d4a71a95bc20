"""The publisher: events from the outbox to the broker, through outages and restarts.

One network thread owns the connection. It connects (MQTT 5 with a persistent session,
or 3.1.1 when the broker refuses 5), waits for the CONNACK, and only when that says
success publishes `online` (retained) on the status topic, the Home Assistant discovery
and the last state, and then replays the outbox in insertion order, at most
`max_inflight` events unacknowledged at a time. An event leaves the outbox only when
its own PUBACK arrives (on_publish for its message id). When the connection drops,
everything in flight is forgotten and replayed from the outbox after the next CONNACK,
so nothing is lost and a duplicate is the worst case (consumers dedupe on `event_id`).
Failed attempts wait with jittered exponential backoff; a refusal (wrong password, not
authorised) is logged once as an error, not once per attempt.

Only events use QoS 1, so the broker's Receive Maximum is all theirs; `online`, the
discovery and the state go out at QoS 0 (retained) because they are sent again on every
connect anyway, and a connection that dies before they arrive leads to that reconnect.

paho's callbacks run inside `client.loop()` with paho's own locks held, so they only
record what happened; the network thread acts on it after `loop()` returns.
"""

from __future__ import annotations

import collections
import json
import logging
import random
import ssl
import threading
import time
from dataclasses import replace
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge import __version__
from edge.delivery.discovery import discovery_messages
from edge.delivery.mqtt_config import MqttConfig
from edge.delivery.outbox import Outbox
from edge.delivery.state import DeviceState
from edge.delivery.topics import HA_STATUS, event_topic, state_topic, status_topic
from edge.events import BendEvent, validate

log = logging.getLogger(__name__)

# How long one `client.loop()` waits for the socket. Raising it wakes the thread less
# often when idle; close() and acknowledgements wake it sooner anyway.
LOOP_TIMEOUT_S = 0.5
# A connection that lasted this long resets the backoff to reconnect_min_s. Raising it
# keeps backing off longer from a broker that accepts and soon drops us.
STABLE_CONNECTION_S = 5.0
# Longest backoff exponent: 2**20 times reconnect_min_s is far past any sane maximum.
_MAX_EXPONENT = 20
_REFUSED_LOGIN = {"Bad user name or password", "Not authorized", "Bad username or password"}
_UNSUPPORTED_PROTOCOL = 132  # CONNACK "Unsupported protocol version" (3.1.1 brokers: rc 1)


def backoff_delay_s(attempt: int, min_s: float, max_s: float, rng: random.Random) -> float:
    """Wait before attempt `attempt + 1`: min_s doubled per failure, capped at max_s,
    jittered to 50-100 % so that devices that lost the broker together do not return
    together."""
    base = min(max_s, min_s * 2 ** min(attempt, _MAX_EXPONENT))
    return base * (0.5 + 0.5 * rng.random())


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
        self._username, self._password = config.credentials(environ)
        self._ssl_context = config.ssl_context()
        self._rng = rng or random.Random()
        self._version = software_version
        # Schema-checking each event costs ~30 ms on a desktop core (the skeleton trace
        # has ~3000 numbers); it turns a producer bug into an EventError at the source.
        self._validate = validate_events
        self._event_topic = event_topic(config.device_id)
        self._status_topic = status_topic(config.device_id)
        self._state_topic = state_topic(config.device_id)
        self._protocol = mqtt.MQTTv311 if config.protocol == "3.1.1" else mqtt.MQTTv5
        self._client: mqtt.Client | None = None

        # Guards everything below that both the caller's thread and the network thread touch.
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._connected = False
        self._window = config.max_inflight
        self._inflight: dict[int, str] = {}  # message id -> event_id, this connection only
        self._last_seq = 0  # the last outbox seq published on this connection
        self._state: DeviceState | None = None
        self._near_full_shown = False

        # Written by paho callbacks (network thread), read after loop() returns.
        self._acks: collections.deque[tuple[int, ReasonCode]] = collections.deque()
        self._connack: ReasonCode | None = None
        self._connack_props: Properties | None = None
        self._ha_online = False

        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_reported = ""
        self.connect_attempts = 0
        self.last_error = ""

    # -- the caller's side -------------------------------------------------------------

    def start(self) -> Publisher:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hingewatch-mqtt",
                                            daemon=True)
            self._thread.start()
        return self

    def submit(self, event: BendEvent) -> bool:
        """Validate, commit to the outbox, then publish if connected. False: already stored.

        Raises EventError for an invalid event, OutboxFullError when the outbox is full.
        """
        payload = event.to_json()
        if self._validate:
            validate(json.loads(payload))
        added = self.outbox.add(event.event_id, self._event_topic, payload.encode())
        with self._lock:
            self._pump()
            self._show_near_full()
        return added

    def publish_state(self, state: DeviceState) -> None:
        """Publish the retained live state now (or on the next connect), with the outbox's
        depth and near-full flag filled in."""
        with self._lock:
            self._state = state
            self._send_state()

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
        self._stop.set()  # seen within LOOP_TIMEOUT_S
        if self._thread is not None:
            self._thread.join(timeout_s + self.config.connect_timeout_s + LOOP_TIMEOUT_S)
            if self._thread.is_alive():
                log.warning("the MQTT thread did not stop within %.1f s", timeout_s)
            self._thread = None

    def __enter__(self) -> Publisher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the network thread ----------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            outcome = self._session()
            if outcome == "stopped":
                break
            if outcome == "downgrade":
                continue  # straight away with 3.1.1: the broker answered, it is up
            # A connection that held resets the backoff; one dropped at once does not, so a
            # broker that accepts and then kicks us (a client id clash) is not hammered.
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
        self._acks.clear()
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
            message, setup_error = _explain_socket_error(exc, cfg)
            self._fail(message, error=setup_error)
            return "failed"

        connack_deadline = time.monotonic() + cfg.connect_timeout_s
        was_connected = False
        connected_at = 0.0
        while True:
            if self._stop.is_set():
                if was_connected:
                    self._say_offline(client)
                else:
                    client.disconnect()
                self._set_disconnected()
                return "stopped"
            rc = client.loop(timeout=LOOP_TIMEOUT_S)
            if self._connack is not None and not was_connected:
                if self._connack.is_failure:
                    return self._refused(self._connack)
                was_connected = True
                connected_at = time.monotonic()
                self._on_connected(client)
            if rc != mqtt.MQTT_ERR_SUCCESS:
                self._set_disconnected()
                if was_connected:
                    self._fail(f"lost the connection to {cfg.url} ({mqtt.error_string(rc)}); "
                               f"{self.outbox.depth} events wait in the outbox", error=False)
                    held = time.monotonic() - connected_at >= STABLE_CONNECTION_S
                    return "stable" if held else "dropped"
                self._fail(
                    f"{cfg.url} closed the connection before answering CONNECT "
                    "(a TLS port reached without TLS? use mqtts:// or set ca_file)", error=True)
                return "failed"
            if not was_connected and time.monotonic() > connack_deadline:
                client.disconnect()
                self._fail(f"{cfg.url} sent no CONNACK within {cfg.connect_timeout_s} s "
                           "(not an MQTT broker, or TLS expected?)", error=True)
                return "failed"
            if was_connected:
                self._after_loop(client)

    def _new_client(self) -> mqtt.Client:
        cfg = self.config
        if self._protocol == mqtt.MQTTv5:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, cfg.effective_client_id,
                                 protocol=mqtt.MQTTv5)
        else:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, cfg.effective_client_id,
                                 clean_session=False, protocol=mqtt.MQTTv311)
        client.will_set(self._status_topic, "offline", qos=1, retain=True)
        if self._username:
            client.username_pw_set(self._username, self._password)
        if self._ssl_context is not None:
            client.tls_set_context(self._ssl_context)
        client.connect_timeout = cfg.connect_timeout_s
        client.max_inflight_messages_set(cfg.max_inflight)
        client.on_connect = self._on_connect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.enable_logger(logging.getLogger(__name__ + ".paho"))
        return client

    def _on_connected(self, client: mqtt.Client) -> None:
        """CONNACK said success: now, and only now, say online."""
        receive_max = getattr(self._connack_props, "ReceiveMaximum", 65535)
        window = max(1, min(self.config.max_inflight, int(receive_max)))
        client.publish(self._status_topic, "online", qos=0, retain=True)
        if self.config.ha_discovery:
            client.subscribe(HA_STATUS, qos=1)
            self._publish_discovery(client)
        with self._changed:
            self._connected = True
            self._window = window
            self._inflight.clear()
            self._last_seq = 0
            self._send_state()
            self._pump()
            self._changed.notify_all()
        if self._last_reported:
            log.info("connected to %s again", self.config.url)
        log.info("connected to %s as %s (MQTT %s); %d events to send",
                 self.config.url, self.config.effective_client_id, self.protocol,
                 self.outbox.depth)
        self._last_reported = ""
        self.last_error = ""

    def _after_loop(self, client: mqtt.Client) -> None:
        with self._changed:
            self._process_acks()
            self._pump()
            self._changed.notify_all()
        if self._ha_online:
            self._ha_online = False
            log.info("Home Assistant came online: publishing discovery again")
            self._publish_discovery(client)
            with self._lock:
                self._send_state()

    def _process_acks(self) -> None:
        """Delete the events whose PUBACK came (caller holds self._lock)."""
        acked: list[str] = []
        while self._acks:
            mid, reason = self._acks.popleft()
            event_id = self._inflight.pop(mid, None)
            if event_id is None:
                continue  # status, discovery or state: nothing to delete
            if reason.is_failure:
                # Kept: it is retried after the next reconnect, never silently dropped.
                log.error("the broker refused event %s: %s; it stays in the outbox",
                          event_id, reason.getName())
            else:
                acked.append(event_id)
        if acked:
            self.outbox.remove_many(acked)
            self._show_near_full()

    def _refused(self, reason: ReasonCode) -> str:
        self._set_disconnected()
        if reason.value == _UNSUPPORTED_PROTOCOL and self.config.protocol == "auto" \
                and self._protocol == mqtt.MQTTv5:
            log.info("%s does not speak MQTT 5; using MQTT 3.1.1", self.config.url)
            self._protocol = mqtt.MQTTv311
            return "downgrade"
        name = reason.getName()
        hint = ""
        if name in _REFUSED_LOGIN:
            who = f"user {self._username!r}" if self._username else "anonymous login"
            hint = (f" for {who}: check username and password_file / "
                    "HINGEWATCH_MQTT_PASSWORD")
        self._fail(f"{self.config.url} refused the connection: {name}{hint}", error=True)
        return "failed"

    def _say_offline(self, client: mqtt.Client) -> None:
        """A clean goodbye: let the events in flight be acknowledged, then `offline`
        (retained, acknowledged), then DISCONNECT, which tells the broker to drop the will."""
        deadline = time.monotonic() + self.config.connect_timeout_s
        info: mqtt.MQTTMessageInfo | None = None
        while time.monotonic() < deadline:
            with self._changed:
                self._process_acks()  # acknowledged now: not resent after the next start
                self._changed.notify_all()
                idle = not self._inflight
            if idle and info is None:
                # QoS 1 only once no event is in flight: never beyond Receive Maximum.
                info = client.publish(self._status_topic, "offline", qos=1, retain=True)
            if info is not None and info.is_published():
                break
            if client.loop(timeout=0.1) != mqtt.MQTT_ERR_SUCCESS:
                return
        client.disconnect()  # written at once: no loop() runs in another thread

    def _set_disconnected(self) -> None:
        with self._changed:
            self._connected = False
            self._inflight.clear()
            self._changed.notify_all()

    def _fail(self, message: str, *, error: bool) -> None:
        """Log a failure once (as long as it repeats unchanged), then only at debug."""
        self.last_error = message
        if message == self._last_reported:
            log.debug("%s (attempt %d)", message, self.connect_attempts)
            return
        self._last_reported = message
        log.log(logging.ERROR if error else logging.WARNING, "%s; retrying with backoff",
                message)

    # -- publishing (caller holds self._lock) ------------------------------------------

    def _pump(self) -> None:
        """Fill the in-flight window with the next events, in insertion order."""
        client = self._client
        if not self._connected or client is None or self._stop.is_set():
            return
        room = self._window - len(self._inflight)
        if room <= 0:
            return
        for entry in self.outbox.pending(room, after_seq=self._last_seq):
            info = client.publish(entry.topic, entry.payload, qos=1, retain=False)
            self._inflight[info.mid] = entry.event_id
            self._last_seq = entry.seq

    def _send_state(self) -> None:
        client = self._client
        if self._state is None or not self._connected or client is None:
            return
        state = replace(self._state, outbox_depth=self.outbox.depth,
                        outbox_near_full=self.outbox.near_full)
        client.publish(self._state_topic, state.to_json(), qos=0, retain=True)

    def _show_near_full(self) -> None:
        if self.outbox.near_full != self._near_full_shown:
            self._near_full_shown = self.outbox.near_full
            self._send_state()

    def _publish_discovery(self, client: mqtt.Client) -> None:
        for message in discovery_messages(self.config.device_id, self._version):
            client.publish(message.topic, message.payload, qos=0, retain=True)

    # -- paho callbacks (network thread, inside loop(), paho locks held) ----------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any,
                    reason: ReasonCode, properties: Properties | None) -> None:
        self._connack_props = properties
        self._connack = reason

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int,
                    reason: ReasonCode, properties: Properties | None) -> None:
        self._acks.append((mid, reason))

    def _on_message(self, client: mqtt.Client, userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        if message.topic == HA_STATUS and message.payload.strip() == b"online":
            self._ha_online = True


def _explain_socket_error(exc: OSError, cfg: MqttConfig) -> tuple[str, bool]:
    """One sentence for a failed TCP/TLS connect, and whether it is a setup error (logged
    as an error) rather than a broker that is down (a warning)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"TLS: the certificate of {cfg.url} failed the check ({exc.verify_message}); "
                "is ca_file the CA that signed the broker's certificate?", True)
    if cfg.uses_tls and isinstance(exc, (ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        reason = getattr(exc, "reason", None) or exc
        return (f"TLS handshake with {cfg.url} failed ({reason}); "
                "is that port a TLS listener?", True)
    if isinstance(exc, ConnectionRefusedError):
        return f"nothing listens on {cfg.url} (connection refused)", False
    if isinstance(exc, TimeoutError):
        return f"{cfg.url} did not answer within {cfg.connect_timeout_s} s", False
    return f"cannot reach {cfg.url}: {exc}", False
