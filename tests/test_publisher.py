"""The publisher against a real Mosquitto: order, state, a full outbox, outages, SIGKILLs,
poison events. (Refusals, TLS and 3.1.1: test_publisher_connect.py; settings:
test_publisher_settings.py.)

Every test starts its own broker on a free 127.0.0.1 port (tests/mqtt_broker.py) and
talks to it with real paho clients; every loop is bounded in count and time.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from edge.delivery.outbox import Outbox, OutboxError, OutboxFullError
from edge.delivery.publisher import Publisher
from edge.delivery.state import DeviceState, validate_state
from edge.events import validate
from tests._publisher_proc import done_count, synthetic_event
from tests.conftest import ROOT
from tests.mqtt_broker import Broker, Collector, free_port, start_broker
from tests.publisher_setup import DEVICE, EVENTS, STATE, STATUS, config_for, event_ids


def test_online_only_after_connack_events_in_order_offline_on_close(
    mosquitto: Broker, collector: Collector, tmp_path: Path
) -> None:
    events = [synthetic_event(i) for i in range(40)]
    with Outbox(tmp_path / "outbox.sqlite3") as outbox:
        publisher = Publisher(config_for(mosquitto.port), outbox)
        for event in events[:10]:  # before start: committed, sent after the CONNACK
            publisher.submit(event)
        assert not publisher.connected
        publisher.start()
        assert publisher.wait_connected(10)
        for event in events[10:]:
            publisher.submit(event)
        assert publisher.wait_drained(10)
        assert outbox.depth == 0
        publisher.close()
    assert collector.wait_for(lambda ms: len(event_ids(ms)) >= 40, 10)
    assert event_ids(collector.snapshot()) == [e.event_id for e in events]
    assert collector.wait_for(lambda ms: [m.payload for m in ms if m.topic == STATUS]
                              == [b"online", b"offline"], 5)
    assert all(m.retain is False for m in collector.on_topic(EVENTS))


def test_state_carries_the_outbox_depth_and_validates(
    mosquitto: Broker, collector: Collector, tmp_path: Path
) -> None:
    with Outbox(tmp_path / "o.sqlite3") as outbox, \
            Publisher(config_for(mosquitto.port), outbox) as publisher:
        assert publisher.wait_connected(10)
        publisher.publish_state(DeviceState(DEVICE, person_present=True, posture_now="hinge",
                                            fps=14.5, bends_today=3, hinge_share_today=2 / 3,
                                            last_posture="hinge", outbox_depth=999))
        assert collector.wait_for(lambda ms: any(m.topic == STATE for m in ms), 5)
    state = json.loads(collector.on_topic(STATE)[-1].payload)
    validate_state(state)
    assert state["outbox_depth"] == 0  # the publisher's own figure, not the caller's
    assert state["hinge_share_today"] == 0.6667
    assert collector.on_topic(STATE)[-1].retain is False  # live, not replayed


def test_the_state_shows_a_nearly_full_outbox_and_its_recovery(
    mosquitto: Broker, collector: Collector, tmp_path: Path
) -> None:
    with Outbox(tmp_path / "o.sqlite3", max_events=10) as outbox:
        for i in range(9):  # left by an earlier run that lost the broker: 90 %
            event = synthetic_event(i)
            outbox.add(event.event_id, EVENTS, event.to_json().encode())
        assert outbox.near_full
        publisher = Publisher(config_for(mosquitto.port), outbox)
        publisher.publish_state(DeviceState(DEVICE))  # kept until the CONNACK
        with publisher:
            assert publisher.wait_drained(10)
            assert collector.wait_for(lambda ms: any(
                m.topic == STATE and json.loads(m.payload)["outbox_depth"] == 0
                for m in ms), 5)
    states = [json.loads(m.payload) for m in collector.on_topic(STATE)]
    assert (states[0]["outbox_depth"], states[0]["outbox_near_full"]) == (9, True)
    assert (states[-1]["outbox_depth"], states[-1]["outbox_near_full"]) == (0, False)
    assert len(event_ids(collector.snapshot())) == 9


def test_a_full_outbox_refuses_at_submit(tmp_path: Path) -> None:
    # No broker at all: events pile up, and the 4th is refused with the specific error.
    with Outbox(tmp_path / "o.sqlite3", max_events=3) as outbox:
        publisher = Publisher(config_for(free_port()), outbox).start()
        try:
            for i in range(3):
                publisher.submit(synthetic_event(i))
            with pytest.raises(OutboxFullError, match="is full \\(3 events\\)"):
                publisher.submit(synthetic_event(3))
            assert outbox.near_full
        finally:
            publisher.close()


def test_500_events_through_a_10_s_broker_outage(
    mosquitto: Broker, tmp_path: Path
) -> None:
    events = [synthetic_event(i) for i in range(500)]
    collector = Collector(mosquitto.port, [EVENTS], client_id="outage-collector").start()
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    publisher = Publisher(config_for(mosquitto.port), outbox, validate_events=False).start()
    submitted = threading.Event()

    def submit_all() -> None:
        for event in events:
            publisher.submit(event)
            time.sleep(0.01)
        submitted.set()

    submitter = threading.Thread(target=submit_all, daemon=True)
    try:
        assert publisher.wait_connected(10)
        submitter.start()
        assert collector.wait_for(lambda ms: len(ms) >= 150, 20), "no traffic before the outage"
        mosquitto.stop()
        outage_started = time.monotonic()
        time.sleep(10.0)
        assert not publisher.connected
        assert outbox.depth > 0
        mosquitto.start()
        assert time.monotonic() - outage_started >= 10.0
        assert submitted.wait(20)
        assert publisher.wait_drained(30), f"{outbox.depth} events still in the outbox"
        expected = {e.event_id for e in events}
        assert collector.wait_for(lambda ms: set(event_ids(ms)) >= expected, 30)
    finally:
        publisher.close()
        outbox.close()
        collector.stop()
    received = event_ids(collector.snapshot())
    assert set(received) == expected  # all 500, nothing else
    duplicates = len(received) - len(set(received))
    assert duplicates <= publisher.config.max_inflight * 3  # bounded by what was in flight
    for message in random.Random(0).sample(collector.on_topic(EVENTS), 20):
        validate(json.loads(message.payload))


def test_sigkill_20_times_loses_nothing(mosquitto: Broker, tmp_path: Path) -> None:
    count = 600
    outbox_path, progress = tmp_path / "outbox.sqlite3", tmp_path / "progress.txt"
    collector = Collector(mosquitto.port, [EVENTS, STATUS], client_id="kill-collector").start()
    command = [sys.executable, str(ROOT / "tests" / "_publisher_proc.py"),
               "--port", str(mosquitto.port), "--outbox", str(outbox_path),
               "--progress", str(progress), "--count", str(count)]
    rng = random.Random(20)
    kills = 0
    try:
        for _ in range(20):
            proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
            assert proc.stdout is not None
            assert proc.stdout.readline().startswith("ready")
            # Killed once it has submitted a few more events (counted, not timed: a busy
            # machine submits fewer a second), while it goes on: the kill lands anywhere.
            goal = done_count(progress) + rng.randint(5, 15)
            deadline = time.monotonic() + 30.0
            while (done_count(progress) < goal and proc.poll() is None
                   and time.monotonic() < deadline):
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.05))
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=10)
            kills += proc.returncode == -signal.SIGKILL
        before_final = len(progress.read_text().split()) if progress.exists() else 0
        final = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert final.returncode == 0, final.stdout + final.stderr
        expected = {synthetic_event(i).event_id for i in range(count)}
        assert collector.wait_for(lambda ms: set(event_ids(ms)) >= expected, 20)
    finally:
        collector.stop()
    assert kills == 20
    assert 100 <= before_final < count, "the kills should land while events flow"
    committed = progress.read_text().split()
    assert len(committed) >= count  # each run resumed where the last one's record ended
    assert set(event_ids(collector.snapshot())) == expected
    assert b"offline" in [m.payload for m in collector.on_topic(STATUS)]  # the last will


def _broker_with(tmp_path: Path, *lines: str) -> Broker:
    """A real Mosquitto with extra settings in its config."""
    broker = start_broker(tmp_path)
    broker.stop()
    broker.config_path.write_text(broker.config_path.read_text() + "\n".join(lines) + "\n")
    return broker.start()


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_poison_event_is_set_aside_and_the_good_ones_behind_it_arrive(
    tmp_path: Path, protocol: str
) -> None:
    # The broker drops the connection whenever the first event is sent (too large for it:
    # 3.1.1 learns it only that way, MQTT 5 from the CONNACK). It used to be resent on
    # every reconnect, and every event behind it waited for good.
    broker = _broker_with(tmp_path, "max_packet_size 60000")
    collector = Collector(broker.port, [EVENTS, STATE],
                          client_id="poison-collector").start()
    poison = synthetic_event(0)
    good = [synthetic_event(i) for i in range(1, 7)]
    try:
        with Outbox(tmp_path / "o.sqlite3") as outbox:
            padded = {**poison.to_dict(), "padding": "x" * 100_000}
            outbox.add(poison.event_id, EVENTS, json.dumps(padded).encode())
            for event in good:
                outbox.add(event.event_id, EVENTS, event.to_json().encode())
            publisher = Publisher(config_for(broker.port, protocol=protocol,
                                          reconnect_min_s=0.05, reconnect_max_s=0.2), outbox)
            publisher.publish_state(DeviceState(DEVICE))
            with publisher:
                assert publisher.wait_drained(60), f"{outbox.depth} events still wait"
                wanted = {e.event_id for e in good}
                assert collector.wait_for(lambda ms: set(event_ids(ms)) >= wanted, 30)
                assert collector.wait_for(lambda ms: any(
                    m.topic == STATE
                    and json.loads(m.payload).get("outbox_dead") == 1 for m in ms), 30)
            assert outbox.dead_count == 1
            (dead_id, dead_topic, reason), = outbox.dead_letters()
            assert (dead_id, dead_topic) == (poison.event_id, EVENTS)
            assert ("maximum packet size" if protocol == "5" else "dropped") in reason
        with Outbox(tmp_path / "o.sqlite3") as again:  # kept across restarts, counted
            assert (again.depth, again.dead_count) == (0, 1)
    finally:
        collector.stop()
        broker.stop()
    received = event_ids(collector.snapshot())
    assert poison.event_id not in received
    assert [e for e in dict.fromkeys(received)] == [e.event_id for e in good]  # in order


def test_a_publisher_refuses_another_devices_outbox(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    with Outbox(path, device_id="nursery"):
        pass
    with Outbox(path) as outbox, pytest.raises(OutboxError, match="belongs to device 'nursery'"):
        Publisher(config_for(9), outbox)
