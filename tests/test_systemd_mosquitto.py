"""The shipped Mosquitto snippet and ACL on a real broker: logins, and each device writing
only under its own name."""

from __future__ import annotations

import getpass
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.mqtt_broker import free_port
from tests.systemd_files import SYSTEMD, need

MQTT_USERS = ("kitchen", "nursery", "dashboard", "homeassistant")
WAIT_S = 5.0


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Mosquitto laid out as on Debian (mosquitto.conf including conf.d/), with our snippet
    in conf.d and our ACL, on a free loopback port; accounts made the way install.sh does."""
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(mosquitto).is_file():
        pytest.skip("mosquitto is not installed (Debian package mosquitto)")
    passwd_tool = need("mosquitto_passwd", "mosquitto")
    port = free_port()
    snippet = (SYSTEMD / "mosquitto-hingewatch.conf").read_text()
    local = snippet.replace("listener 1883\n", f"listener {port} 127.0.0.1\n")
    local = re.sub(r"^(password_file|acl_file) /etc/mosquitto/", rf"\1 {tmp_path}/", local,
                   flags=re.MULTILINE)
    changed = [a for a, b in zip(snippet.splitlines(), local.splitlines(), strict=True) if a != b]
    assert changed == ["listener 1883", "password_file /etc/mosquitto/hingewatch.passwd",
                       "acl_file /etc/mosquitto/hingewatch.acl"]
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d/hingewatch.conf").write_text(local)
    shutil.copyfile(SYSTEMD / "mosquitto-hingewatch.acl", tmp_path / "hingewatch.acl")
    # Debian's /etc/mosquitto/mosquitto.conf with its paths moved here; `user` keeps the
    # broker as the test's user so it can write its persistence file in tmp_path.
    main = tmp_path / "mosquitto.conf"
    main.write_text(f"user {getpass.getuser()}\npersistence true\n"
                    f"persistence_location {tmp_path}/\ninclude_dir {tmp_path}/conf.d\n"
                    "log_dest stderr\n")
    passwd = tmp_path / "hingewatch.passwd"
    passwd.touch()
    passwords = {}
    for user in MQTT_USERS:
        secret = tmp_path / f"{user}.password"
        secret.write_text(secrets.token_urlsafe(32) + "\n")
        passwords[user] = secret.read_text().strip()
        subprocess.run(f"sed p {secret} | {passwd_tool} {passwd} {user} >/dev/null",
                       shell=True, check=True, timeout=30)
    log = (tmp_path / "mosquitto.log").open("wb")
    proc = subprocess.Popen([mosquitto, "-c", str(main)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, (
                    (tmp_path / "mosquitto.log").read_text())
                time.sleep(0.05)
        yield port, passwords
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


class Client:
    """A real paho client (MQTT 5) that records what it receives and each PUBACK's code."""

    def __init__(self, port: int, user: str | None, password: str | None) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.received: list[tuple[str, bytes]] = []
        self.acks: dict[int, int] = {}
        self.connack: int | None = None
        self._c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{user}-{port}",
                              protocol=mqtt.MQTTv5)
        if user is not None:
            self._c.username_pw_set(user, password)
        self._c.on_connect = lambda c, u, f, rc, p: setattr(self, "connack", rc.value)
        self._c.on_message = lambda c, u, m: self.received.append((m.topic, bytes(m.payload)))
        self._c.on_publish = lambda c, u, mid, rc, p: self.acks.__setitem__(mid, rc.value)
        self._c.connect("127.0.0.1", port)
        self._c.loop_start()
        until(lambda: self.connack is not None)

    def publish(self, topic: str, payload: str = "x") -> int:
        """The PUBACK reason code: 0 success, 135 not authorized."""
        mid = self._c.publish(topic, payload, qos=1).mid
        until(lambda: mid in self.acks)
        return self.acks[mid]

    def subscribe(self, topic: str) -> None:
        done: list[int] = []
        self._c.on_subscribe = lambda c, u, mid, codes, p: done.append(mid)
        mid = self._c.subscribe(topic, qos=1)[1]
        until(lambda: mid in done)

    def close(self) -> None:
        self._c.disconnect()
        self._c.loop_stop()


def until(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_broker_refuses_anonymous_and_wrong_passwords(broker: tuple[int, dict[str, str]]) -> None:
    port, _ = broker
    for user, password in ((None, None), ("kitchen", "wrong")):
        client = Client(port, user, password)
        assert client.connack != 0, user
        client.close()


def test_a_device_writes_only_under_its_own_name(broker: tuple[int, dict[str, str]]) -> None:
    port, passwords = broker
    dashboard = Client(port, "dashboard", passwords["dashboard"])
    dashboard.subscribe("hingewatch/#")
    ha = Client(port, "homeassistant", passwords["homeassistant"])
    ha.subscribe("hingewatch/#")
    ha.subscribe("homeassistant/+/+/+/config")
    kitchen = Client(port, "kitchen", passwords["kitchen"])
    kitchen.subscribe("homeassistant/status")
    ok, refused = 0, 135
    table = [
        ("hingewatch/kitchen/event", ok),
        ("hingewatch/kitchen/status", ok),
        ("hingewatch/kitchen/state", ok),
        ("homeassistant/sensor/hingewatch_kitchen/posture/config", ok),
        ("homeassistant/event/hingewatch_kitchen/bend/config", ok),
        ("hingewatch/nursery/event", refused),
        ("homeassistant/sensor/hingewatch_nursery/posture/config", refused),
        ("homeassistant/sensor/kitchen/posture/config", refused),
        ("homeassistant/status", refused),
        ("elsewhere", refused),
    ]
    for topic, code in table:
        assert kitchen.publish(topic) == code, topic
    # The dashboard and Home Assistant read, and the dashboard writes nothing.
    assert dashboard.publish("hingewatch/kitchen/event", "forged") == refused
    until(lambda: len(dashboard.received) >= 3 and len(ha.received) >= 5)
    time.sleep(0.2)
    assert [t for t, _ in dashboard.received] == [
        "hingewatch/kitchen/event", "hingewatch/kitchen/status", "hingewatch/kitchen/state"]
    assert sorted(t for t, _ in ha.received) == sorted(t for t, c in table[:5])
    # Home Assistant's birth message reaches the device (it re-sends discovery then).
    assert ha.publish("homeassistant/status", "online") == ok
    until(lambda: ("homeassistant/status", b"online") in kitchen.received)
    for client in (dashboard, ha, kitchen):
        client.close()


def test_the_dashboard_writes_practice_commands_and_adjustments_and_nothing_else(
        broker: tuple[int, dict[str, str]]) -> None:
    port, passwords = broker
    kitchen = Client(port, "kitchen", passwords["kitchen"])
    kitchen.subscribe("hingewatch/kitchen/practice/cmd")
    kitchen.subscribe("hingewatch/kitchen/adjust")
    dashboard = Client(port, "dashboard", passwords["dashboard"])
    ok, refused = 0, 135
    start = '{"drill":"wall_hinge","action":"start"}'
    assert dashboard.publish("hingewatch/kitchen/practice/cmd", start) == ok
    until(lambda: ("hingewatch/kitchen/practice/cmd", start.encode()) in kitchen.received)
    assert dashboard.publish("hingewatch/kitchen/adjust", "{}") == ok
    until(lambda: ("hingewatch/kitchen/adjust", b"{}") in kitchen.received)
    for topic in ("hingewatch/kitchen/live", "hingewatch/kitchen/practice",
                  "hingewatch/kitchen/practice/cmd/x", "hingewatch/kitchen/event"):
        assert dashboard.publish(topic, "forged") == refused, topic
    for client in (dashboard, kitchen):
        client.close()
