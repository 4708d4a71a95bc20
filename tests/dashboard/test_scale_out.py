"""A centre's ingest scaled out: two `hingewatch dashboard ingest` processes share the
event stream of a real Mosquitto (an MQTT 5 shared subscription) into one real PostgreSQL.

One process SIGKILLed mid-stream and brought back under its client id (as systemd's
Restart= does), or PostgreSQL restarted while events flow: every event is stored, none
twice. Waits are on conditions with bounds, never on the clock.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from dashboard.ingest.mqtt import SUBSCRIPTIONS, subscriptions
from dashboard.store.reader import Reader
from dashboard.store.writer import Writer
from edge.delivery.topics import practice_topic
from tests.dashboard.conftest import (
    ROOT,
    ZONE,
    assert_config_refused,
    new_store_url,
    publish,
    wait_until,
)
from tests.dashboard.factory import make_event, now_utc
from tests.dashboard.test_practice_store import summary
from tests.mqtt_broker import Broker
from tests.postgres_server import Postgres

N_EVENTS = 600
DEVICES = ("kitchen", "garden", "nursery")
STORED_S = 90.0  # a busy 2-core machine writes a few hundred events in seconds


class IngestProcess:
    """`python -m dashboard ingest`, as a centre runs it."""

    def __init__(self, url: str, port: int, client_id: str, group: str | None,
                 env: dict[str, str] | None = None) -> None:
        """`port`: the broker's; `env`: more environment (the broker login)."""
        self.args = [sys.executable, "-m", "dashboard", "ingest", "--db-url", url,
                     "--mqtt-port", str(port), "--client-id", client_id,
                     "--timezone", ZONE, *(["--share-group", group] if group else [])]
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(self.args, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, text=True, env=self.env)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(20)

    def restart(self) -> None:
        self.proc = self._start()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(20)


@pytest.fixture
def url(store_kind: str, postgres: Postgres) -> str:
    if store_kind != "postgresql":
        pytest.skip("the centre's store is PostgreSQL")
    found = new_store_url()
    assert found is not None
    Writer(found, ZONE).close()  # migrated once, before the processes race to it
    return found


@pytest.fixture
def pair(url: str, mosquitto: Broker) -> Iterator[list[IngestProcess]]:
    """Two ingest processes in one share group, both subscribed when this returns: each
    stored the retained status every subscriber gets (statuses are not shared)."""
    group = f"g{uuid.uuid4().hex[:8]}"
    publish(mosquitto.port, [("hingewatch/kitchen/status", "online")], retain=True)
    processes = [IngestProcess(url, mosquitto.port, f"ingest-{name}-{group}", group)
                 for name in ("a", "b")]
    reader = Reader(url)
    try:
        wait_until(lambda: reader.ingest_counts().by_kind.get("status", 0) >= 2, 30,
                   "both ingest processes subscribed")
        yield processes
    finally:
        reader.close()
        for p in processes:
            p.stop()
        publish(mosquitto.port, [("hingewatch/kitchen/status", "")], retain=True)


def events(n: int) -> list[tuple[str, bytes]]:
    start = now_utc() - timedelta(hours=1)
    return [(f"hingewatch/{DEVICES[i % len(DEVICES)]}/event",
             make_event("hinge" if i % 3 else "round", start + timedelta(seconds=i),
                        device_id=DEVICES[i % len(DEVICES)], frames=4).to_json().encode())
            for i in range(n)]


def publish_in_background(port: int, messages: list[tuple[str, bytes]]) -> threading.Thread:
    thread = threading.Thread(target=lambda: publish(port, messages), daemon=True)
    thread.start()
    return thread


def assert_each_stored_once(url: str, n: int) -> dict[str, int]:
    """Waits for `n` events, checks each is stored once; returns the ingest counters."""
    reader = Reader(url)
    try:
        wait_until(lambda: reader.event_total() >= n, STORED_S, f"{n} events stored")
        counts = reader.ingest_counts().by_kind
        assert reader.event_total() == n
        # Stored once each: the counters move only for a row that was inserted.
        assert counts["event_stored"] == n
        assert sum(d.events_total for d in reader.devices()) == n
        return counts
    finally:
        reader.close()


def test_two_ingest_processes_share_the_stream(mosquitto: Broker, url: str,
                                               pair: list[IngestProcess]) -> None:
    publish(mosquitto.port, events(N_EVENTS))
    counts = assert_each_stored_once(url, N_EVENTS)
    # Shared, not copied: without the share group each process would take every event and
    # the second copy of each would count as a duplicate (N_EVENTS of them).
    assert counts.get("event_duplicate", 0) == 0


def test_practice_summaries_are_shared_too(mosquitto: Broker, url: str,
                                           pair: list[IngestProcess]) -> None:
    n = 30
    # A status after them (not shared, so every process gets it, after the summaries it
    # was given: one publisher, in order): once both stored it, both saw every summary.
    publish(mosquitto.port, [(practice_topic(d), json.dumps(summary(d)).encode())
                             for d in DEVICES for _ in range(n // len(DEVICES))]
            + [("hingewatch/kitchen/status", b"online")])
    reader = Reader(url)
    try:
        wait_until(lambda: reader.ingest_counts().by_kind.get("status", 0) >= 4, STORED_S,
                   "both processes past the summaries")
        assert reader.ingest_counts().by_kind.get("practice_stored", 0) == n
        # Shared, not copied: each process taking every summary would refuse n copies.
        assert reader.ingest_counts().by_kind.get("practice_duplicate", 0) == 0
    finally:
        reader.close()


def test_only_the_not_retained_topics_are_shared() -> None:
    shared = dict(subscriptions("g1"))
    assert set(shared) == {"$share/g1/hingewatch/+/event", "$share/g1/hingewatch/+/practice",
                           "hingewatch/+/status", "hingewatch/+/state"}
    assert subscriptions(None) == SUBSCRIPTIONS


def test_a_killed_ingest_process_loses_nothing(
        url: str, mosquitto: Broker, pair: list[IngestProcess]) -> None:
    messages = events(N_EVENTS)
    half = N_EVENTS // 2
    publish(mosquitto.port, messages[:half])
    reader = Reader(url)
    try:
        wait_until(lambda: reader.event_total() >= half // 4, STORED_S, "the first events")
    finally:
        reader.close()
    pair[0].kill()  # mid-stream: some of its batch taken, not acknowledged
    sender = publish_in_background(mosquitto.port, messages[half:])
    sender.join(60)
    assert not sender.is_alive()
    pair[0].restart()  # the same client id: the broker re-sends what it had not acked
    assert_each_stored_once(url, N_EVENTS)


def test_postgresql_restarted_while_events_flow_loses_nothing(
        url: str, mosquitto: Broker, postgres: Postgres, pair: list[IngestProcess]) -> None:
    messages = events(N_EVENTS)
    half = N_EVENTS // 2
    sender = publish_in_background(mosquitto.port, messages[:half])
    reader = Reader(url)
    try:
        wait_until(lambda: reader.event_total() >= half // 4, STORED_S, "events flow")
    finally:
        reader.close()
    postgres.stop()  # while the first half may still be on its way
    try:
        # The second half arrives while nothing can be written: each process holds its
        # batch unacknowledged and retries; the broker holds the rest.
        sender.join(60)
        publish(mosquitto.port, messages[half:])
        assert not sender.is_alive()
        assert all(p.proc.poll() is None for p in pair)  # a store outage ends no process
    finally:
        postgres.start()
    assert_each_stored_once(url, N_EVENTS)


@pytest.mark.storeless
def test_a_share_group_with_a_topic_character_names_the_key(tmp_path: Path) -> None:
    assert_config_refused(tmp_path, '[dashboard.mqtt]\nshare_group = "a/+"\n',
                          r"share_group: expected letters")
