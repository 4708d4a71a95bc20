"""The publisher against a real Mosquitto: outages, SIGKILLs, wrong passwords, TLS, 3.1.1.

Every test starts its own broker on a free 127.0.0.1 port (tests/mqtt_broker.py) and
talks to it with real paho clients; every loop is bounded in count and time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge.delivery.mqtt_config import MqttConfig, MqttConfigError, backoff_delay_s
from edge.delivery.outbox import Outbox, OutboxError, OutboxFullError
from edge.delivery.publisher import Publisher
from edge.delivery.state import DeviceState, validate_state
from edge.delivery.topics import event_topic, state_topic, status_topic
from edge.events import validate
from tests._publisher_proc import synthetic_event
from tests.mqtt_broker import (
    Broker,
    Collector,
    TlsFiles,
    free_port,
    make_password_file,
    make_tls_files,
    start_broker,
)

ROOT = Path(__file__).resolve().parents[1]
DEVICE = "kitchen"
EVENTS = event_topic(DEVICE)
STATUS = status_topic(DEVICE)


def _config(port: int, **settings: object) -> MqttConfig:
    base: dict[str, object] = {"host": "127.0.0.1", "port": port, "device_id": DEVICE,
                               "reconnect_min_s": 0.1, "reconnect_max_s": 1.0,
                               "ha_discovery": False}
    base.update(settings)
    return MqttConfig(**base)  # type: ignore[arg-type]


def _event_ids(messages: list) -> list[str]:
    return [json.loads(m.payload)["event_id"] for m in messages if m.topic == EVENTS]


@pytest.fixture
def collector(mosquitto: Broker) -> Iterator[Collector]:
    c = Collector(mosquitto.port, [EVENTS, STATUS, state_topic(DEVICE)]).start()
    try:
        yield c
    finally:
        c.stop()


# -- backoff and settings ------------------------------------------------------------


def test_backoff_doubles_is_jittered_and_capped() -> None:
    rng = random.Random(1)
    for attempt, (low, high) in enumerate([(0.25, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 4.0)]):
        delays = [backoff_delay_s(attempt, 0.5, 4.0, rng) for _ in range(200)]
        assert low <= min(delays) and max(delays) <= high
        assert max(delays) - min(delays) > (high - low) / 2  # really jittered
    assert backoff_delay_s(10_000, 0.5, 4.0, rng) <= 4.0


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"port": 0}, "port: expected 1-65535, got 0"),
        ({"device_id": "my kitchen"}, "device_id: expected 1-64 letters"),
        ({"protocol": "4"}, "protocol: expected auto, 5 or 3.1.1, got '4'"),
        ({"reconnect_min_s": 5.0, "reconnect_max_s": 1.0}, "reconnect_max_s: expected 5.0-3600"),
        ({"max_inflight": 0}, "max_inflight: expected 1-65535, got 0"),
        ({"key_file": Path("k.pem")}, "key_file: expected only together with cert_file"),
        ({"outbox_max_events": 0}, "outbox_max_events: expected 1-100000000, got 0"),
    ],
)
def test_bad_settings_say_which_and_what_is_allowed(settings: dict, message: str) -> None:
    with pytest.raises(MqttConfigError) as info:
        MqttConfig(**settings)
    assert str(info.value).startswith(message)


def test_broker_urls() -> None:
    plain = MqttConfig.from_url("mqtt://broker.local", "kitchen")
    assert (plain.host, plain.port, plain.uses_tls) == ("broker.local", 1883, False)
    secure = MqttConfig.from_url("mqtts://edge@10.0.0.2", "kitchen")
    assert (secure.port, secure.uses_tls, secure.username) == (8883, True, "edge")
    assert secure.effective_client_id == "hingewatch-kitchen"
    for bad, message in [("http://x:1", "broker: expected mqtt://"),
                         ("mqtt://u:secret@x", "broker: no password in the URL")]:
        with pytest.raises(MqttConfigError, match=message):
            MqttConfig.from_url(bad, "kitchen")


def test_credentials_from_a_file_or_the_environment(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    config = MqttConfig(username="edge", password_file=secret)
    assert config.credentials({}) == ("edge", "s3cret")
    env = {"HINGEWATCH_MQTT_USERNAME": "env-user", "HINGEWATCH_MQTT_PASSWORD": "env-pass"}
    assert MqttConfig().credentials(env) == ("env-user", "env-pass")
    assert MqttConfig().credentials({}) == ("", None)
    with pytest.raises(MqttConfigError, match="password_file: cannot read .*missing"):
        MqttConfig(username="u", password_file=tmp_path / "missing").credentials({})
    with pytest.raises(MqttConfigError, match="a password is set but no user name"):
        MqttConfig().credentials({"HINGEWATCH_MQTT_PASSWORD": "p"})


# -- delivery --------------------------------------------------------------------------


def test_online_only_after_connack_events_in_order_offline_on_close(
    mosquitto: Broker, collector: Collector, tmp_path: Path
) -> None:
    events = [synthetic_event(i) for i in range(40)]
    with Outbox(tmp_path / "outbox.sqlite3") as outbox:
        publisher = Publisher(_config(mosquitto.port), outbox)
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
    assert collector.wait_for(lambda ms: len(_event_ids(ms)) >= 40, 10)
    assert _event_ids(collector.snapshot()) == [e.event_id for e in events]
    assert collector.wait_for(lambda ms: [m.payload for m in ms if m.topic == STATUS]
                              == [b"online", b"offline"], 5)
    assert all(m.retain is False for m in collector.on_topic(EVENTS))


def test_state_carries_the_outbox_depth_and_validates(
    mosquitto: Broker, collector: Collector, tmp_path: Path
) -> None:
    with Outbox(tmp_path / "o.sqlite3") as outbox, \
            Publisher(_config(mosquitto.port), outbox) as publisher:
        assert publisher.wait_connected(10)
        publisher.publish_state(DeviceState(DEVICE, person_present=True, posture_now="hinge",
                                            fps=14.5, bends_today=3, hinge_share_today=2 / 3,
                                            last_posture="hinge", outbox_depth=999))
        assert collector.wait_for(lambda ms: any(m.topic == state_topic(DEVICE) for m in ms), 5)
    state = json.loads(collector.on_topic(state_topic(DEVICE))[-1].payload)
    validate_state(state)
    assert state["outbox_depth"] == 0  # the publisher's own figure, not the caller's
    assert state["hinge_share_today"] == 0.6667
    assert collector.on_topic(state_topic(DEVICE))[-1].retain is False  # live, not replayed


def test_the_state_shows_a_nearly_full_outbox_and_its_recovery(
    mosquitto: Broker, collector: Collector, tmp_path: Path
) -> None:
    with Outbox(tmp_path / "o.sqlite3", max_events=10) as outbox:
        for i in range(9):  # left by an earlier run that lost the broker: 90 %
            event = synthetic_event(i)
            outbox.add(event.event_id, EVENTS, event.to_json().encode())
        assert outbox.near_full
        publisher = Publisher(_config(mosquitto.port), outbox)
        publisher.publish_state(DeviceState(DEVICE))  # kept until the CONNACK
        with publisher:
            assert publisher.wait_drained(10)
            assert collector.wait_for(lambda ms: any(
                m.topic == state_topic(DEVICE) and json.loads(m.payload)["outbox_depth"] == 0
                for m in ms), 5)
    states = [json.loads(m.payload) for m in collector.on_topic(state_topic(DEVICE))]
    assert (states[0]["outbox_depth"], states[0]["outbox_near_full"]) == (9, True)
    assert (states[-1]["outbox_depth"], states[-1]["outbox_near_full"]) == (0, False)
    assert len(_event_ids(collector.snapshot())) == 9


def test_a_full_outbox_refuses_at_submit(tmp_path: Path) -> None:
    # No broker at all: events pile up, and the 4th is refused with the specific error.
    with Outbox(tmp_path / "o.sqlite3", max_events=3) as outbox:
        publisher = Publisher(_config(free_port()), outbox).start()
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
    publisher = Publisher(_config(mosquitto.port), outbox, validate_events=False).start()
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
        assert collector.wait_for(lambda ms: set(_event_ids(ms)) >= expected, 30)
    finally:
        publisher.close()
        outbox.close()
        collector.stop()
    received = _event_ids(collector.snapshot())
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
            time.sleep(rng.uniform(0.0, 0.3))
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=10)
            kills += proc.returncode == -signal.SIGKILL
        before_final = len(progress.read_text().split()) if progress.exists() else 0
        final = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert final.returncode == 0, final.stdout + final.stderr
        expected = {synthetic_event(i).event_id for i in range(count)}
        assert collector.wait_for(lambda ms: set(_event_ids(ms)) >= expected, 20)
    finally:
        collector.stop()
    assert kills == 20
    assert 100 <= before_final < count, "the kills should land while events flow"
    committed = progress.read_text().split()
    assert len(committed) >= count  # each run resumed where the last one's record ended
    assert set(_event_ids(collector.snapshot())) == expected
    assert b"offline" in [m.payload for m in collector.on_topic(STATUS)]  # the last will


# -- refusals, TLS, protocol fallback -------------------------------------------------


def _poll(condition: Callable[[], bool], timeout_s: float) -> None:
    """Wait until `condition()` holds, at most `timeout_s` (then the test fails)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout_s} s"
        time.sleep(0.01)


def test_wrong_password_is_one_clear_error_then_backoff(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker = start_broker(tmp_path, password_file=make_password_file(
        tmp_path, {"edge": "right-password", "admin": "admin-password"}))
    admin = Collector(broker.port, [STATUS], client_id="admin", username="admin",
                      password="admin-password").start()
    secret = tmp_path / "edge.secret"
    secret.write_text("wrong-password\n")
    config = _config(broker.port, username="edge", password_file=secret,
                     reconnect_min_s=0.2, reconnect_max_s=1.0)
    try:
        with caplog.at_level(logging.DEBUG, logger="edge.delivery"), \
                Outbox(tmp_path / "o.sqlite3") as outbox:
            publisher = Publisher(config, outbox).start()
            ever_connected = False

            def attempts_at_least(n: int) -> bool:
                nonlocal ever_connected
                ever_connected |= publisher.connected
                return publisher.connect_attempts >= n

            # Retrying: waited for with a bound, whatever the machine's load.
            _poll(lambda: attempts_at_least(3), 60.0)
            # Backing off: from the third attempt every wait is at least 0.4 s (jittered
            # 0.8 s and up), so 2 s can hold at most 6 more; a busy machine holds fewer.
            first = publisher.connect_attempts
            watch_until = time.monotonic() + 2.0
            while time.monotonic() < watch_until:
                attempts_at_least(0)
                time.sleep(0.01)
            publisher.submit(synthetic_event(0))  # still accepted: kept for later
            more = publisher.connect_attempts - first
            alive = publisher._thread is not None and publisher._thread.is_alive()
            publisher.close()
            assert outbox.depth == 1
    finally:
        admin.stop()
        broker.stop()
    assert alive and not ever_connected
    assert more <= 6, f"{more} attempts in 2 s after the third: not a backoff"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR
              and r.name.startswith("edge.delivery")]
    assert len(errors) == 1, errors
    assert f"mqtt://127.0.0.1:{broker.port} refused the connection: " in errors[0]
    assert "for user 'edge': check username and password_file" in errors[0]
    assert b"online" not in [m.payload for m in admin.on_topic(STATUS)]


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def _tls_collector(broker: Broker, tls: TlsFiles) -> Collector:
    context = MqttConfig(ca_file=tls.ca_file).ssl_context()
    return Collector(broker.port, [EVENTS], client_id="tls-collector",
                     ssl_context=context).start()


def test_tls_with_a_ca_made_here_delivers(tmp_path: Path, tls_files: TlsFiles) -> None:
    broker = start_broker(tmp_path, tls=tls_files)
    collector = _tls_collector(broker, tls_files)
    try:
        with Outbox(tmp_path / "o.sqlite3") as outbox, Publisher(
                _config(broker.port, ca_file=tls_files.ca_file), outbox) as publisher:
            assert publisher.wait_connected(10), publisher.last_error
            publisher.submit(synthetic_event(1))
            assert publisher.wait_drained(10)
        assert collector.wait_for(lambda ms: len(ms) == 1, 10)
    finally:
        collector.stop()
        broker.stop()


def test_tls_client_certificate(tmp_path: Path, tls_files: TlsFiles) -> None:
    broker = start_broker(tmp_path, tls=tls_files, require_certificate=True)
    try:
        with Outbox(tmp_path / "o.sqlite3") as outbox:
            with Publisher(_config(broker.port, ca_file=tls_files.ca_file), outbox) as without:
                assert not without.wait_connected(2)
            config = _config(broker.port, ca_file=tls_files.ca_file,
                             cert_file=tls_files.client_cert_file,
                             key_file=tls_files.client_key_file)
            with Publisher(config, outbox) as with_cert:
                assert with_cert.wait_connected(10), with_cert.last_error
    finally:
        broker.stop()


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("plain to the TLS port", "closed the connection before answering CONNECT "
                                  "(a TLS port reached without TLS?"),
        ("another CA", "failed the check ("),
        ("TLS to the plain port", "failed (")],
)
def test_tls_mistakes_fail_clearly(tmp_path: Path, tls_files: TlsFiles,
                                   caplog: pytest.LogCaptureFixture, case: str,
                                   expected: str) -> None:
    tls_broker = start_broker(tmp_path, tls=tls_files)
    plain_broker = start_broker(tmp_path)
    options: dict[str, dict[str, object]] = {
        "plain to the TLS port": {"port": tls_broker.port},
        "another CA": {"port": tls_broker.port,
                       "ca_file": make_tls_files(tmp_path / "other").ca_file},
        "TLS to the plain port": {"port": plain_broker.port, "ca_file": tls_files.ca_file},
    }
    settings = options[case]
    try:
        with caplog.at_level(logging.WARNING, logger="edge.delivery"), \
                Outbox(tmp_path / "o.sqlite3") as outbox, \
                Publisher(_config(**settings), outbox) as publisher:  # type: ignore[arg-type]
            assert not publisher.wait_connected(2)
            assert expected in publisher.last_error, publisher.last_error
    finally:
        tls_broker.stop()
        plain_broker.stop()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and expected in errors[0].getMessage()


class V311OnlyFront:
    """A TCP front that answers an MQTT 5 CONNECT like a 3.1.1-only broker and passes a
    3.1.1 connection through to the real Mosquitto behind it."""

    def __init__(self, upstream_port: int, refusal: bytes) -> None:
        self.upstream_port = upstream_port
        self.refusal = refusal
        self.levels: list[int] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._sockets: list[socket.socket] = [self.server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        for _ in range(50):  # bounded: the test makes a handful of connections
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self._sockets.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        head = b""
        while len(head) < 9:  # fixed header (2) + protocol name (6) + level (1)
            chunk = conn.recv(9 - len(head))
            if not chunk:
                return
            head += chunk
        level = head[8]
        self.levels.append(level)
        if level == 5:
            conn.sendall(self.refusal)
            conn.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        self._sockets.append(upstream)
        upstream.sendall(head)
        threading.Thread(target=self._pipe, args=(upstream, conn), daemon=True).start()
        self._pipe(conn, upstream)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        for s in self._sockets:
            s.close()


@pytest.mark.parametrize(
    "refusal",
    [b"\x20\x02\x00\x01",  # a 3.1.1 broker: "unacceptable protocol version"
     b"\x20\x03\x00\x84\x00"],  # an MQTT 5 reason code 0x84
    ids=["v3-rc1", "v5-0x84"],
)
def test_falls_back_to_3_1_1_when_the_broker_refuses_5(
    mosquitto: Broker, collector: Collector, tmp_path: Path, refusal: bytes
) -> None:
    front = V311OnlyFront(mosquitto.port, refusal)
    try:
        with Outbox(tmp_path / "o.sqlite3") as outbox, \
                Publisher(_config(front.port), outbox) as publisher:
            assert publisher.wait_connected(10), publisher.last_error
            assert publisher.protocol == "3.1.1"
            publisher.submit(synthetic_event(7))
            assert publisher.wait_drained(10)
    finally:
        front.close()
    assert front.levels[:2] == [5, 4]
    assert collector.wait_for(lambda ms: _event_ids(ms) == [synthetic_event(7).event_id], 5)


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
    collector = Collector(broker.port, [EVENTS, state_topic(DEVICE)],
                          client_id="poison-collector").start()
    poison = synthetic_event(0)
    good = [synthetic_event(i) for i in range(1, 7)]
    try:
        with Outbox(tmp_path / "o.sqlite3") as outbox:
            padded = {**poison.to_dict(), "padding": "x" * 100_000}
            outbox.add(poison.event_id, EVENTS, json.dumps(padded).encode())
            for event in good:
                outbox.add(event.event_id, EVENTS, event.to_json().encode())
            publisher = Publisher(_config(broker.port, protocol=protocol,
                                          reconnect_min_s=0.05, reconnect_max_s=0.2), outbox)
            publisher.publish_state(DeviceState(DEVICE))
            with publisher:
                assert publisher.wait_drained(60), f"{outbox.depth} events still wait"
                wanted = {e.event_id for e in good}
                assert collector.wait_for(lambda ms: set(_event_ids(ms)) >= wanted, 30)
                assert collector.wait_for(lambda ms: any(
                    m.topic == state_topic(DEVICE)
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
    received = _event_ids(collector.snapshot())
    assert poison.event_id not in received
    assert [e for e in dict.fromkeys(received)] == [e.event_id for e in good]  # in order


def test_a_publisher_refuses_another_devices_outbox(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    with Outbox(path, device_id="nursery"):
        pass
    with Outbox(path) as outbox, pytest.raises(OutboxError, match="belongs to device 'nursery'"):
        Publisher(_config(9), outbox)
