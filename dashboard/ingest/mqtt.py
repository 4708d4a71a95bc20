"""MQTT ingest: subscribe with a persistent session, classify, store, then acknowledge.

Durability is ours, not paho's: messages are acknowledged (manual PUBACK) only after the
batch that holds them is committed. A crash before that leaves them unacknowledged in the
broker's session, which re-sends them when we reconnect with the same client id; the
event_id primary key makes the second copy harmless. One thread reads the socket (paho's
loop), one writes batches. The store being away (connection lost, server restarting) is an
outage: the batch is retried, with a growing pause, and nothing is acknowledged. The store
refusing something in a batch is not: the batch is split until the refused message stands
alone, every other message is stored, and that one is set aside in the store (payload and
reason, counted on Health) and acknowledged, so one bad message never stalls the stream.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties

from dashboard.errors import StoreError, StoreRefusedError
from dashboard.ingest.messages import classify
from dashboard.settings import Settings
from dashboard.store.batch import Message, Rejected
from dashboard.store.writer import BatchResult, Writer
from edge.delivery.mqtt_client import connect_options, falls_back, first_protocol, new_client
from edge.delivery.topics import ALL_EVENTS, ALL_PRACTICE, ALL_STATE, ALL_STATUS
from edge.events import MAX_EVENT_BYTES, now_ms

log = logging.getLogger("hingewatch.dashboard.ingest")

SUBSCRIPTIONS = [(ALL_EVENTS, 1), (ALL_STATUS, 1), (ALL_STATE, 1), (ALL_PRACTICE, 1)]
# Not retained and stored once by their id (events by event_id, practice summaries by
# session_id): each goes to one process of a share group.
SHARED = (ALL_EVENTS, ALL_PRACTICE)


def subscriptions(share_group: str | None) -> list[tuple[str, int]]:
    """What one ingest process subscribes to. With a share group the events and practice
    summaries are shared (each goes to one process of the group); statuses and states are
    not: they are retained, which a shared subscription never delivers, and every process
    storing the same latest value is harmless."""
    if share_group is None:
        return SUBSCRIPTIONS
    return [(f"$share/{share_group}/{topic}" if topic in SHARED else topic, qos)
            for topic, qos in SUBSCRIPTIONS]


# Most messages one batch holds; bigger batches amortise the commit, smaller ones ack sooner.
MAX_BATCH = 500
# How long the writer gathers messages after the first before it commits them. Fewer,
# larger commits leave the GIL to the socket thread (measured: 1,200/s at 0 ms, see
# bench/dashboard_bench.py); raising it delays each PUBACK by that much.
BATCH_WINDOW_S = 0.02
# How many unacknowledged QoS 1 messages the broker may have in flight to us (MQTT 5
# Receive Maximum). We ack after the commit, so this bounds throughput: ~this many per
# commit round trip.
RECEIVE_MAXIMUM = 1000
# The largest packet we let the broker send us (MQTT 5 Maximum Packet Size): the largest
# message we would read (edge.events.MAX_EVENT_BYTES) plus room for its topic and header. The
# broker drops anything larger instead of sending it, so it never reaches our memory.
MAX_PACKET_BYTES = MAX_EVENT_BYTES + 4096
# After a write fails for an outage, wait this long before trying it again, twice as long
# after each further failure, up to RETRY_MAX_S.
RETRY_S = 0.5
RETRY_MAX_S = 8.0


@dataclass(frozen=True)
class IngestStatus:
    broker: str
    connected: bool
    since: str | None           # when the connection went up or down
    last_error: str | None
    store_error: str | None     # why the database cannot be written now; None once it can
    received: int               # messages handed to the writer since start
    written: int                # ... of which committed


class Pending(NamedTuple):
    message: Message
    topic: str
    payload: bytes              # as received: what is set aside if the store refuses it
    mid: int
    qos: int


class Ingest:
    """`start()` connects and runs; `handle()` is the message path, callable directly."""

    def __init__(self, settings: Settings, writer: Writer) -> None:
        self.settings = settings
        self.writer = writer
        self._zone = settings.zone
        self._queue: queue.Queue[Pending] = queue.Queue()
        self._client: mqtt.Client | None = None
        self._protocol: int = mqtt.MQTTv5
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._accepting = True
        self._progress = threading.Condition()
        self._received = 0
        self._written = 0
        self._connected = False
        self._since: str | None = None
        self._last_error: str | None = None
        self._store_error: str | None = None
        self.last_batch: BatchResult | None = None
        # Called (in the writer thread) after each commit; the live pages listen.
        self.on_written: Callable[[], None] | None = None

    # --- the message path -------------------------------------------------------------

    def handle(self, topic: str, payload: bytes, mid: int = 0, qos: int = 0) -> Message:
        """Classify one message and queue it for the writer; never raises."""
        message = classify(topic, payload, self._zone, now_ms())
        with self._progress:
            self._received += 1
        self._queue.put(Pending(message, topic, payload, mid, qos))
        return message

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        if not self._accepting:
            return  # not acknowledged: the broker re-sends it to our next session
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            shown = repr(msg._topic)[:200]
            self._queue.put(Pending(Rejected("bad_topic", shown, "not UTF-8"), shown,
                                    bytes(msg.payload), msg.mid, msg.qos))
            with self._progress:
                self._received += 1
            return
        self.handle(topic, bytes(msg.payload), msg.mid, msg.qos)

    def process_pending(self, block_s: float = 0.0) -> int:
        """Write what is queued (waiting up to `block_s` for the first message), then
        acknowledge it. Returns how many messages were written."""
        try:
            first = self._queue.get(timeout=block_s) if block_s > 0 else self._queue.get_nowait()
        except queue.Empty:
            return 0
        batch = [first]
        deadline = time.monotonic() + (BATCH_WINDOW_S if block_s > 0 else 0.0)
        while len(batch) < MAX_BATCH:
            try:
                left = deadline - time.monotonic()
                item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                batch.append(item)
            except queue.Empty:
                break
        if not self._store(batch):
            return 0  # shutting down: left unacknowledged; the broker keeps them
        if self.on_written is not None:
            self.on_written()  # first: the live pages render while we acknowledge
        client = self._client
        if client is not None:
            for p in batch:
                if p.qos > 0:
                    client.ack(p.mid, p.qos)
        with self._progress:
            self._written += len(batch)
            self._progress.notify_all()
        return len(batch)

    def _store(self, batch: list[Pending]) -> bool:
        """Store every message of `batch` or set it aside; False when asked to stop first.
        What to do next is a stack of (messages, refusal): a refusal of one message means
        set it aside; of several, split them in two and try each half."""
        todo: list[tuple[list[Pending], str | None]] = [(batch, None)]
        pause = RETRY_S
        while todo:
            part, refusal = todo[-1]
            try:
                if refusal is None:
                    self.last_batch = self.writer.write_batch([p.message for p in part],
                                                              now_ms())
                else:
                    self.writer.set_aside(part[0].topic, part[0].payload, refusal, now_ms())
                    log.error("set aside a message on %s the store refused: %s",
                              part[0].topic, refusal)
            except StoreError as exc:
                if isinstance(exc, StoreRefusedError) and refusal is None:
                    todo.pop()
                    half = len(part) // 2
                    todo += ([(part[half:], None), (part[:half], None)] if half
                             else [(part, str(exc))])
                    continue
                # An outage, or the set-aside itself failed: nothing is acknowledged (the
                # broker keeps it all), and the same step is tried again.
                if not self._wait_out(exc, len(part), pause):
                    return False
                pause = min(2 * pause, RETRY_MAX_S)
                continue
            todo.pop()
            if self._store_error is not None:
                log.warning("the database takes writes again")
            self._store_error = None
            pause = RETRY_S
        return True

    def _wait_out(self, exc: StoreError, n: int, pause: float) -> bool:
        """Note the outage and wait `pause` seconds; False when asked to stop meanwhile."""
        if self._store_error is None:
            log.error("cannot store %d messages, retrying every %.1f to %.0f s: %s",
                      n, RETRY_S, RETRY_MAX_S, exc)
        self._last_error = self._store_error = str(exc)
        return not self._stopping.wait(pause)

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until everything handed in so far is written; True when it is."""
        if self._thread is None:
            while self.process_pending():
                pass
            return True
        deadline = time.monotonic() + timeout_s
        with self._progress:
            while self._written < self._received:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._progress.wait(left)
        return True

    def _write_loop(self) -> None:
        while not (self._stopping.is_set() and self._queue.empty()):
            try:
                self.process_pending(block_s=0.2)
            except Exception:  # noqa: BLE001 - log and keep ingesting; the batch is redelivered
                log.exception("ingest writer failed on a batch")

    # --- the connection ---------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: mqtt.ConnectFlags,
                    reason: mqtt.ReasonCode, properties: Properties | None) -> None:
        if reason.is_failure:
            if falls_back(self.settings.mqtt, self._protocol, reason):
                self._connect(mqtt.MQTTv311)  # the broker answered: it speaks 3.1.1 only
                return
            self._set_connected(False, f"broker refused the connection: {reason}")
            return
        self._set_connected(True, None)
        # Subscribing again on a resumed session changes nothing; on a new one it is needed.
        client.subscribe(subscriptions(self.settings.mqtt.share_group))
        log.info("connected to %s (session %s)", self.broker,
                 "resumed" if flags.session_present else "new")

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: mqtt.DisconnectFlags,
                       reason: mqtt.ReasonCode, properties: Properties | None) -> None:
        if client is not self._client:
            return  # the refused MQTT 5 client going away after the fallback to 3.1.1
        self._set_connected(False, None if self._stopping.is_set() else f"disconnected: {reason}")

    def _set_connected(self, connected: bool, error: str | None) -> None:
        self._connected = connected
        self._since = now_ms()
        if error:
            self._last_error = error
            log.warning("%s: %s", self.broker, error)

    @property
    def broker(self) -> str:
        return self.settings.mqtt.url

    def status(self) -> IngestStatus:
        with self._progress:
            received, written = self._received, self._written
        return IngestStatus(self.broker, self._connected, self._since, self._last_error,
                            self._store_error, received, written)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._write_loop, name="ingest-writer",
                                        daemon=True)
        self._thread.start()
        self._connect(first_protocol(self.settings.mqtt))

    def _connect(self, protocol: int) -> None:
        """The agent's way to the broker (edge.delivery.mqtt_client): login, TLS, session."""
        cfg = self.settings.mqtt
        if self._client is not None:
            self._client.loop_stop()  # the refused MQTT 5 client (called from its thread)
        self._protocol = protocol
        client = new_client(cfg, protocol, *cfg.credentials(), cfg.ssl_context(),
                            manual_ack=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=math.ceil(cfg.reconnect_min_s),
                                   max_delay=math.ceil(cfg.reconnect_max_s))
        self._client = client
        # connect_async + loop_start: a broker that is down now is retried, not fatal.
        client.connect_async(cfg.host, cfg.port, **connect_options(
            cfg, protocol, ReceiveMaximum=RECEIVE_MAXIMUM, MaximumPacketSize=MAX_PACKET_BYTES))
        client.loop_start()

    def wait_connected(self, timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._connected:
                return True
            time.sleep(0.02)
        return False

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop taking messages, write and acknowledge what was taken, then disconnect."""
        self._accepting = False
        self.flush(timeout_s)
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        client = self._client
        if client is not None:
            client.disconnect()
            client.loop_stop()
        self._thread = None
        self._client = None
