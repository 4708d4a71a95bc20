"""The publisher's connection: a wrong password, TLS, and MQTT 3.1.1 when a broker
refuses 5 — each said once, clearly, and retried with backoff."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.delivery.mqtt_config import MqttConfig
from edge.delivery.outbox import Outbox
from edge.delivery.publisher import Publisher
from tests._publisher_proc import synthetic_event
from tests.mqtt_broker import (
    Broker,
    Collector,
    TlsFiles,
    make_password_file,
    make_tls_files,
    start_broker,
)
from tests.publisher_setup import EVENTS, STATUS, config_for, event_ids


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
    config = config_for(broker.port, username="edge", password_file=secret,
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
                config_for(broker.port, ca_file=tls_files.ca_file), outbox) as publisher:
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
            with Publisher(config_for(broker.port, ca_file=tls_files.ca_file), outbox) as without:
                assert not without.wait_connected(2)
            config = config_for(broker.port, ca_file=tls_files.ca_file,
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
                Publisher(config_for(**settings), outbox) as publisher:  # type: ignore[arg-type]  # test values of each field's type, checked by the table
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
                Publisher(config_for(front.port), outbox) as publisher:
            assert publisher.wait_connected(10), publisher.last_error
            assert publisher.protocol == "3.1.1"
            publisher.submit(synthetic_event(7))
            assert publisher.wait_drained(10)
    finally:
        front.close()
    assert front.levels[:2] == [5, 4]
    assert collector.wait_for(lambda ms: event_ids(ms) == [synthetic_event(7).event_id], 5)
