"""A centre's faults together: a home bridged to the centre (two real Mosquitto brokers, the
shipped configs, tests/test_bridge.py's `make_site`), two `hingewatch dashboard ingest`
processes sharing the events into a real PostgreSQL; while the home's devices publish,
one ingest process is SIGKILLed, the bridge goes down (the centre's broker stops), and
PostgreSQL is stopped, then each comes back. Every event is stored, none twice. Waits are
on conditions with bounds, never on the clock.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from dashboard.store.reader import Reader
from tests.dashboard.conftest import wait_until
from tests.dashboard.factory import make_event, now_utc
from tests.dashboard.test_scale_out import STORED_S, IngestProcess, assert_each_stored_once
from tests.dashboard.test_scale_out import url as url  # noqa: PLC0414 - the fixture
from tests.postgres_server import Postgres
from tests.test_bridge import ARRIVE_S, BRIDGE_FAILED, DASHBOARD_PASSWORD, HOMES, Site, make_site

DEVICES = HOMES["home-smith"]
N_EVENTS = 450  # three thirds: before, during and after the outages


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    made = make_site(tmp_path, DEVICES)
    yield made
    for client in made.clients:
        client.stop()
    made.reader.stop()
    made.home.stop()
    made.centre.stop()


def events(n: int) -> list[tuple[str, bytes]]:
    start = now_utc() - timedelta(hours=2)
    return [(f"hingewatch/{DEVICES[i % 2]}/event",
             make_event("hinge" if i % 3 else "squat", start + timedelta(seconds=i),
                        device_id=DEVICES[i % 2], frames=4).to_json().encode())
            for i in range(n)]


def publish_at_home(site: Site, messages: list[tuple[str, bytes]]) -> threading.Thread:
    """The home's devices publish `messages` (each acknowledged by the home broker)."""
    devices = {name: site.device(name) for name in DEVICES}
    failed: list[int] = []

    def run() -> None:
        for topic, payload in messages:
            code = devices[topic.split("/")[1]].publish(topic, payload)
            if code != 0:
                failed.append(code)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.failed = failed  # type: ignore[attr-defined]  # read after join
    return thread


def finished(thread: threading.Thread) -> None:
    thread.join(120)
    assert not thread.is_alive() and thread.failed == []  # type: ignore[attr-defined]


def test_bridge_down_ingest_killed_and_postgresql_restarted_lose_nothing(
        url: str, site: Site, postgres: Postgres) -> None:
    group = f"ingest-{secrets.token_hex(6)}"
    login = {"HINGEWATCH_MQTT_USERNAME": "dashboard",
             "HINGEWATCH_MQTT_PASSWORD": DASHBOARD_PASSWORD}
    # On the centre's loopback listener (the reader's port), as the `dashboard` account.
    processes = [IngestProcess(url, site.reader.port, f"centre-{name}", group, login)
                 for name in "ab"]
    reader = Reader(url)
    messages = events(N_EVENTS)
    third = N_EVENTS // 3
    try:
        # Both subscribed: each stored the retained status (statuses are not shared).
        assert site.device("kitchen").publish("hingewatch/kitchen/status", "online",
                                              retain=True) == 0
        wait_until(lambda: reader.ingest_counts().by_kind.get("status", 0) >= 2, 60,
                   "both ingest processes subscribed")
        first = publish_at_home(site, messages[:third])
        wait_until(lambda: reader.event_total() >= third // 4, STORED_S, "events flow")
        processes[0].kill()  # mid-stream: its batch taken, not acknowledged
        finished(first)
        failures = site.home.log_text().count(BRIDGE_FAILED)
        site.centre.stop()  # the bridge is down; the home queues what its devices send
        second = publish_at_home(site, messages[third:2 * third])
        wait_until(lambda: site.home.log_text().count(BRIDGE_FAILED) > failures, ARRIVE_S,
                   "the bridge failing to reconnect")
        finished(second)
        postgres.stop()
        site.centre.start()  # the bridge comes back; ingest b holds what it takes, unstored
        third_part = publish_at_home(site, messages[2 * third:])
        finished(third_part)
        assert processes[1].proc.poll() is None  # a store outage ends no running process
        postgres.start()
        # Brought back as systemd's Restart= does (it refuses to start while the store is
        # away, and Restart= tries again): the same client id, so its session's events,
        # taken but not acknowledged when it was killed, come back to it.
        processes[0].restart()
    finally:
        if not postgres.running:
            postgres.start()
    try:
        counts = assert_each_stored_once(url, N_EVENTS)
        assert counts["event_stored"] == N_EVENTS
    finally:
        reader.close()
        for p in processes:
            p.stop()
