"""The dashboard reaches the broker the agent's way: login from the one place for secrets
(here a systemd credential), TLS with a CA, protocol `auto` falling back to 3.1.1.
Real Mosquitto (TLS + passwords) and the demo's real amqtt broker; nothing mocked."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from dashboard.config import load_settings
from dashboard.errors import SettingsError
from dashboard.ingest.mqtt import Ingest
from dashboard.settings import DashboardMqtt, Settings
from dashboard.store.writer import Writer
from edge.delivery.mqtt_client import UNSUPPORTED_PROTOCOL, falls_back
from tests.dashboard.conftest import ZONE, systemd_credential
from tests.mqtt_broker import (
    free_port,
    have_mosquitto,
    make_password_file,
    make_tls_files,
    start_broker,
)

pytestmark = [pytest.mark.sqlite_only,
              pytest.mark.skipif(not have_mosquitto(), reason="mosquitto is not installed")]


def _config(tmp_path: Path, mqtt: dict[str, object]) -> Path:
    path = tmp_path / "hingewatch.toml"
    table = "".join(f"{key} = {json.dumps(value)}\n" for key, value in mqtt.items())
    path.write_text(f'[dashboard]\ndb_path = "{tmp_path / "d.sqlite3"}"\n'
                    f'timezone = "{ZONE}"\n[dashboard.mqtt]\n{table}')
    return path


def _ingest(settings: Settings) -> Iterator[Ingest]:
    writer = Writer(settings.store, settings.timezone)
    ingest = Ingest(settings, writer)
    ingest.start()
    try:
        yield ingest
    finally:
        ingest.stop()
        writer.close()


def test_the_dashboard_logs_in_over_tls_with_a_systemd_credential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    tls = make_tls_files(tmp_path)
    broker = start_broker(tmp_path, tls=tls,
                          password_file=make_password_file(tmp_path, {"dashboard": "s3cret"}))
    password = systemd_credential(tmp_path, monkeypatch, "mqtt.password", "s3cret")
    try:
        config = _config(tmp_path, {"host": "localhost", "port": broker.port,
                                    "username": "dashboard", "ca_file": str(tls.ca_file),
                                    "client_id": "dash-tls"})
        settings = load_settings(config)
        assert settings.mqtt.url == f"mqtts://localhost:{broker.port}"
        for ingest in _ingest(settings):
            assert ingest.wait_connected(15), ingest.status()
        # The same broker refuses a wrong password, and the dashboard says so.
        password.write_text("wrong\n")
        for ingest in _ingest(load_settings(config)):
            deadline = time.monotonic() + 15
            while "Not authorized" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "broker refused the connection: Not authorized" in caplog.text
            assert not ingest.status().connected
    finally:
        broker.stop()


def test_a_missing_password_file_or_ca_is_one_line_at_start(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"\[dashboard.mqtt\]: password_file: .*missing"):
        load_settings(_config(tmp_path, {"password_file": str(tmp_path / "missing")}))
    bad_ca = tmp_path / "ca.pem"
    bad_ca.write_text("not a certificate\n")
    with pytest.raises(SettingsError, match="ca_file: .* is not a PEM CA"):
        load_settings(_config(tmp_path, {"ca_file": str(bad_ca)}))


def test_protocol_auto_falls_back_to_3_1_1_only_when_the_broker_refuses_5() -> None:
    refused = ReasonCode(PacketTypes.CONNACK, identifier=UNSUPPORTED_PROTOCOL)
    unauthorised = ReasonCode(PacketTypes.CONNACK, "Not authorized")
    auto, five = DashboardMqtt(protocol="auto"), DashboardMqtt(protocol="5")
    assert falls_back(auto, mqtt.MQTTv5, refused)
    assert not falls_back(auto, mqtt.MQTTv311, refused)  # already there: no loop
    assert not falls_back(five, mqtt.MQTTv5, refused)
    assert not falls_back(auto, mqtt.MQTTv5, unauthorised)


@contextmanager
def _amqtt(tmp_path: Path) -> Iterator[int]:
    """The demo's real amqtt broker (MQTT 3.1.1 only) on a free port."""
    pytest.importorskip("amqtt", reason="amqtt (the demo's 3.1.1 broker) is not installed")
    port = free_port()
    with (tmp_path / "amqtt.log").open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "edge.demo.amqtt_broker", str(port)],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), 0.5).close()
                    break
                except OSError:
                    assert proc.poll() is None and time.monotonic() < deadline, \
                        "amqtt did not start"
                    time.sleep(0.1)
            yield port
        finally:
            proc.terminate()
            proc.wait(10)


def test_a_3_1_1_broker_is_read_with_protocol_3_1_1(tmp_path: Path) -> None:
    with _amqtt(tmp_path) as port:
        settings = load_settings(_config(tmp_path, {"port": port, "client_id": "dash-311",
                                                    "protocol": "3.1.1"}))
        for ingest in _ingest(settings):
            assert ingest.wait_connected(20), ingest.status()


def test_auto_reconnects_with_3_1_1_when_the_broker_refuses_5(tmp_path: Path) -> None:
    # amqtt never answers an MQTT 5 CONNECT that carries properties (ours has the session
    # expiry), where a 3.1.1 broker should refuse it with "unsupported protocol version";
    # that refusal is handed to the dashboard's own callback here, the rest is real.
    with _amqtt(tmp_path) as port:
        settings = load_settings(_config(tmp_path, {"port": port, "client_id": "dash-auto"}))
        assert settings.mqtt.protocol == "auto"
        for ingest in _ingest(settings):
            refused = ReasonCode(PacketTypes.CONNACK, identifier=UNSUPPORTED_PROTOCOL)
            # type: ignore: a refusal carries no session flags, so None stands for them.
            # type: ignore on the next line: see the line above
            ingest._on_connect(ingest._client, None, None, refused, None)  # type: ignore[arg-type]
            assert ingest.wait_connected(20), ingest.status()
            assert ingest.status().last_error is None


def test_the_practice_link_falls_back_to_3_1_1_too(tmp_path: Path) -> None:
    # As above: amqtt never answers an MQTT 5 CONNECT with properties; the refusal a 3.1.1
    # broker should send is handed to the link's own callback, the rest is real.
    from dashboard.ingest.practice_link import PracticeLink

    with _amqtt(tmp_path) as port:
        settings = load_settings(_config(tmp_path, {"port": port, "client_id": "dash-auto"}))
        link = PracticeLink(settings.mqtt)
        assert link.protocol == mqtt.MQTTv5  # before it connects: "auto" starts with 5
        link.start()
        try:
            refused = ReasonCode(PacketTypes.CONNACK, identifier=UNSUPPORTED_PROTOCOL)
            link._connected(link.client, None, None, refused, None)
            assert link.protocol == mqtt.MQTTv311
            assert link.wait_connected(20)
        finally:
            link.stop()
