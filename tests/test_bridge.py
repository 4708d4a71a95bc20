"""Home + centre on two real Mosquitto brokers, bridged by the config systemd/bridge.sh writes.

The home broker runs as install.sh leaves it (the shipped snippet and ACL, device
accounts) with the generated bridge beside the snippet in its conf.d; the centre runs the shipped
centre snippet (TLS with a CA and certificate made here) and ACL plus what `centre-acl`
prints for each home. Every wait is on a condition with a bound.
"""

from __future__ import annotations

import getpass
import json
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.mqtt_broker import (
    Broker,
    Collector,
    Publisher,
    Received,
    TlsFiles,
    free_port,
    have_mosquitto,
    make_password_file,
    make_tls_files,
)
from tests.test_bridge_args import SYSTEMD, bridge_conf, centre_acl, write_credentials

# A bridge retries 1-15 s after a failure (restart_timeout 1 15), so a reconnect may take
# up to ~15 s after the centre is back; the bound leaves room on a busy machine.
ARRIVE_S = 60.0
# Mosquitto logs this at each failed try to connect the bridge.
BRIDGE_FAILED = "Error creating bridge"
FAILED_TRIES = 2
HOME_PASSWORDS = {"kitchen": "kitchen-password", "nursery": "nursery-password",
                  "garden": "garden-password"}
DASHBOARD_PASSWORD = "dashboard-password"
HOMES = {"home-smith": ("kitchen", "nursery"), "home-jones": ("garden",)}
HOME_SECRETS = {"home-smith": "smith-0123456789-#secret", "home-jones": "jones-0123456789abcd"}


@dataclass
class Site:
    """One home broker bridged to the centre, a reader at the centre, devices at home."""

    home: Broker
    centre: Broker
    ca_context: ssl.SSLContext
    reader: Collector
    clients: list[Publisher] = field(default_factory=list)

    def device(self, name: str) -> Publisher:
        client = Publisher(self.home.port, client_id=f"dev-{name}-{len(self.clients)}",
                           username=name, password=HOME_PASSWORDS[name])
        self.clients.append(client)
        return client

    def at_centre(self, user: str, password: str) -> Publisher:
        client = Publisher(self.centre.port, client_id=f"centre-{user}-{len(self.clients)}",
                           username=user, password=password, ssl_context=self.ca_context)
        self.clients.append(client)
        return client

    def arrived(self, topic: str, payload: bytes, timeout_s: float = ARRIVE_S) -> bool:
        return self.reader.wait_for(
            lambda msgs: any(m.topic == topic and m.payload == payload for m in msgs),
            timeout_s)


def event(n: int, device: str = "kitchen") -> bytes:
    return json.dumps({"event_id": f"{device}-{n:06d}", "device": device}).encode()


def start_shipped(folder: Path, snippet: str, port: int, moved: dict[str, str],
                  beside: dict[str, str], other_ports: tuple[int, ...] = ()) -> Broker:
    """Mosquitto laid out as on Debian: mosquitto.conf including conf.d/, which holds the
    shipped `snippet` with each `moved` line (listeners, paths) replaced for this test,
    and the `beside` files; `port` is the listener the homes use, `other_ports` the rest."""
    (folder / "conf.d").mkdir(parents=True)
    text = (SYSTEMD / snippet).read_text()
    for old, new in moved.items():
        text, n = re.subn(rf"^{re.escape(old)}$", new, text, flags=re.MULTILINE)
        assert n == 1, old
    assert not re.search(r"^listener (1883|8883)\b", text, re.MULTILINE), "a port not moved"
    (folder / "conf.d" / snippet).write_text(text)
    for name, content in beside.items():
        (folder / "conf.d" / name).write_text(content)
    main = folder / "mosquitto.conf"
    # Debian's mosquitto.conf with its paths moved here; `user` keeps the broker as the
    # test's user, who can write the persistence file here.
    main.write_text(f"user {getpass.getuser()}\npersistence true\n"
                    f"persistence_location {folder}/\nlog_dest file {folder}/mosquitto.log\n"
                    f"include_dir {folder}/conf.d\n")
    return Broker(folder, port, main, other_ports).start()


def start_centre(folder: Path, tls: TlsFiles, ingest_port: int) -> Broker:
    """The shipped centre snippet and ACL, with both homes' ACL blocks and accounts; the
    loopback listener for the central ingest on `ingest_port`."""
    folder.mkdir(parents=True)
    acl = folder / "hingewatch-centre.acl"
    acl.write_text((SYSTEMD / "mosquitto-centre.acl").read_text()
                   + "".join(centre_acl(home, *devices) for home, devices in HOMES.items()))
    passwd = make_password_file(folder, {**HOME_SECRETS, "dashboard": DASHBOARD_PASSWORD})
    port = free_port()
    return start_shipped(folder, "mosquitto-centre.conf", port, {
        "listener 8883": f"listener {port} 127.0.0.1",
        "listener 1883 127.0.0.1": f"listener {ingest_port} 127.0.0.1",
        "certfile /etc/mosquitto/certs/hingewatch-centre.crt": f"certfile {tls.cert_file}",
        "keyfile /etc/mosquitto/certs/hingewatch-centre.key": f"keyfile {tls.key_file}",
        "password_file /etc/mosquitto/hingewatch-centre.passwd": f"password_file {passwd}",
        "acl_file /etc/mosquitto/hingewatch-centre.acl": f"acl_file {acl}",
    }, {}, other_ports=(ingest_port,))


def start_home(folder: Path, bridge: str) -> Broker:
    """The home's Mosquitto as install.sh leaves it: the shipped snippet and ACL, device
    accounts, and the bridge beside the snippet."""
    folder.mkdir(parents=True)
    passwd = make_password_file(folder, HOME_PASSWORDS)
    port = free_port()
    return start_shipped(folder, "mosquitto-hingewatch.conf", port, {
        "listener 1883": f"listener {port} 127.0.0.1",
        "password_file /etc/mosquitto/hingewatch.passwd": f"password_file {passwd}",
        "acl_file /etc/mosquitto/hingewatch.acl":
            f"acl_file {SYSTEMD / 'mosquitto-hingewatch.acl'}",
    }, {"hingewatch-bridge.conf": bridge})


def make_site(tmp_path: Path, bridged: tuple[str, ...], *, with_ca: bool = True) -> Site:
    """The centre (TLS, passwords, the centre ACL with both homes) and home-smith's broker
    bridging `bridged` devices with the credentials and CA given to bridge.sh."""
    if not have_mosquitto():
        pytest.fail("mosquitto is missing: apt-get install mosquitto")
    tls = make_tls_files(tmp_path / "tls")
    cred = write_credentials(tmp_path, "home-smith", HOME_SECRETS["home-smith"])
    ca_context = ssl.create_default_context(cafile=str(tls.ca_file))
    started: list[Broker] = []
    try:
        ingest_port = free_port()
        started.append(centre := start_centre(tmp_path / "centre", tls, ingest_port))
        started.append(home := start_home(tmp_path / "home", bridge_conf(
            f"mqtts://127.0.0.1:{centre.port}", cred, bridged,
            ca=tls.ca_file if with_ca else None)))
        # The central ingest, as the dashboard would: plain MQTT on the loopback listener.
        reader = Collector(ingest_port, ["hingewatch/#"], client_id="centre-ingest",
                           username="dashboard", password=DASHBOARD_PASSWORD).start()
    except BaseException:
        for broker in started:
            broker.stop()
        raise
    return Site(home, centre, ca_context, reader)


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[list[Site]]:
    """Whatever a test makes with make_site is stopped after it."""
    made: list[Site] = []
    yield made
    for site in made:
        for client in site.clients:
            client.stop()
        site.reader.stop()
        site.home.stop()
        site.centre.stop()


def count(messages: list[Received], topic: str, payload: bytes) -> int:
    return sum(1 for m in messages if m.topic == topic and m.payload == payload)


def test_an_event_at_home_reaches_the_centre_once(tmp_path: Path, sites: list[Site]) -> None:
    site = make_site(tmp_path, HOMES["home-smith"])
    sites.append(site)
    kitchen = site.device("kitchen")
    assert kitchen.publish("hingewatch/kitchen/status", "online", retain=True) == 0
    assert kitchen.publish("hingewatch/kitchen/event", event(1)) == 0
    assert site.arrived("hingewatch/kitchen/event", event(1))
    # "Once": a later event on the same bridge connection arrives after any copy would.
    assert kitchen.publish("hingewatch/kitchen/event", event(2)) == 0
    assert site.arrived("hingewatch/kitchen/event", event(2))
    messages = site.reader.snapshot()
    assert count(messages, "hingewatch/kitchen/event", event(1)) == 1
    # Status and state are retained values, not events: the bridge sends the home's
    # retained ones again each time it connects, so they may arrive more than once.
    assert count(messages, "hingewatch/kitchen/status", b"online") >= 1
    # The status crossed the bridge retained: a reader that comes later still gets it.
    late = Collector(site.centre.port, ["hingewatch/kitchen/status"], client_id="late",
                     clean=True, username="dashboard", password=DASHBOARD_PASSWORD,
                     ssl_context=site.ca_context).start()
    try:
        assert late.wait_for(lambda msgs: any(m.retain and m.payload == b"online"
                                              for m in msgs), ARRIVE_S)
    finally:
        late.stop()


def test_the_centre_lets_a_home_publish_only_its_own_devices(
        tmp_path: Path, sites: list[Site]) -> None:
    # home-smith's broker also bridges 'garden', which the centre grants to home-jones.
    site = make_site(tmp_path, ("kitchen", "garden"))
    sites.append(site)
    garden, kitchen = site.device("garden"), site.device("kitchen")
    assert garden.publish("hingewatch/garden/event", event(1, "garden")) == 0
    assert kitchen.publish("hingewatch/kitchen/event", event(1)) == 0
    # In order on one bridge connection: had the centre taken garden's, it came first.
    assert site.arrived("hingewatch/kitchen/event", event(1))
    assert [m.topic for m in site.reader.snapshot()] == ["hingewatch/kitchen/event"]
    # Logged in as the home directly (MQTT 5): the refusal is in the PUBACK.
    smith = site.at_centre("home-smith", HOME_SECRETS["home-smith"])
    assert smith.publish("hingewatch/garden/event", "forged") == 135
    assert smith.publish("hingewatch/kitchen/../garden/event", "forged") == 135
    assert smith.publish("elsewhere", "x") == 135
    assert smith.publish("hingewatch/nursery/state", "{}") == 0
    jones = site.at_centre("home-jones", HOME_SECRETS["home-jones"])
    assert jones.publish("hingewatch/kitchen/event", "forged") == 135
    assert jones.publish("hingewatch/garden/event", event(2, "garden")) == 0
    assert site.arrived("hingewatch/garden/event", event(2, "garden"))
    assert not any(m.payload == b"forged" for m in site.reader.snapshot())
    # The reader reads and writes nothing.
    reader = site.at_centre("dashboard", DASHBOARD_PASSWORD)
    assert reader.publish("hingewatch/kitchen/event", "forged") == 135


def publish_through_an_outage(site: Site, n: int, *, restart_home: bool) -> None:
    kitchen = site.device("kitchen")
    assert kitchen.publish("hingewatch/kitchen/event", event(0)) == 0
    assert site.arrived("hingewatch/kitchen/event", event(0))  # the bridge is up
    failures = site.home.log_text().count(BRIDGE_FAILED)
    site.centre.stop()
    for i in range(1, n + 1):  # each acknowledged by the home broker alone
        assert kitchen.publish("hingewatch/kitchen/event", event(i)) == 0
    # Down "for a while": until the bridge has tried and failed again (its back-off grows
    # between tries), not for a count of seconds.
    assert site.reader.wait_for(
        lambda _: site.home.log_text().count(BRIDGE_FAILED) >= failures + FAILED_TRIES,
        ARRIVE_S), site.home.log_text()[-3000:]
    assert site.reader.snapshot()[-1].payload == event(0)  # nothing got through meanwhile
    if restart_home:  # the queue is in the home broker's persistence file
        kitchen.stop()
        site.clients.remove(kitchen)
        site.home.stop()
        site.home.start()
        kitchen = site.device("kitchen")
    site.centre.start()  # same port, same persistence file
    assert site.reader.wait_for(
        lambda msgs: all(count(msgs, "hingewatch/kitchen/event", event(i))
                         for i in range(n + 1)), ARRIVE_S), (
        f"{len(site.reader.snapshot())} of {n + 1} arrived\n{site.home.log_text()[-3000:]}")
    # A sentinel after them on the same bridge: any second copy would be ahead of it.
    assert kitchen.publish("hingewatch/kitchen/event", event(n + 1)) == 0
    assert site.arrived("hingewatch/kitchen/event", event(n + 1))
    events = [m.payload for m in site.reader.snapshot() if m.topic == "hingewatch/kitchen/event"]
    assert events == [event(i) for i in range(n + 2)]  # all, once each, in order


def test_the_bridge_down_for_a_while_loses_nothing_and_doubles_nothing(
        tmp_path: Path, sites: list[Site]) -> None:
    site = make_site(tmp_path, HOMES["home-smith"])
    sites.append(site)
    publish_through_an_outage(site, 300, restart_home=False)


def test_the_home_broker_restarted_during_the_outage_keeps_the_queue(
        tmp_path: Path, sites: list[Site]) -> None:
    site = make_site(tmp_path, HOMES["home-smith"])
    sites.append(site)
    publish_through_an_outage(site, 100, restart_home=True)


def test_a_centre_the_system_cas_do_not_vouch_for_gets_nothing(
        tmp_path: Path, sites: list[Site]) -> None:
    """Without --bridge-ca the bridge trusts the system's CAs only: the test CA's centre is
    refused at the TLS handshake."""
    site = make_site(tmp_path, HOMES["home-smith"], with_ca=False)
    sites.append(site)
    kitchen = site.device("kitchen")
    assert kitchen.publish("hingewatch/kitchen/event", event(1)) == 0
    deadline_ok = site.reader.wait_for(
        lambda _: "certificate verify failed" in site.home.log_text(), ARRIVE_S)
    assert deadline_ok, site.home.log_text()[-3000:]
    assert site.reader.snapshot() == []
