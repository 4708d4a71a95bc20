"""A real Mosquitto for tests: started on a free 127.0.0.1 port with a temp config.

    broker = start_broker(tmp_path)            # or the `mosquitto` fixture
    broker.stop(); broker.start()              # same port, same persistence file
    tls = make_tls_files(tmp_path)             # CA + server (+ client) certs, made here
    start_broker(tmp_path, tls=tls, password_file=make_password_file(tmp_path, {"u": "p"}))

`Collector` is a real paho subscriber (persistent session by default) that keeps every
message it gets; `Publisher` publishes at QoS 1 and returns each PUBACK's reason code.
Nothing here mocks paho or the broker.
"""

from __future__ import annotations

import getpass
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


def have_mosquitto() -> bool:
    return Path(MOSQUITTO).is_file()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: a CA, a server certificate for 127.0.0.1/localhost, a client certificate."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    client_cert_file: Path
    client_key_file: Path


class Broker:
    """One Mosquitto process; `stop()` saves its persistence file, `start()` reloads it."""

    def __init__(self, folder: Path, port: int, config_path: Path,
                 other_ports: tuple[int, ...] = ()) -> None:
        self.folder = folder
        self.port = port
        # More listeners of the same broker: Mosquitto opens them one by one, so start()
        # waits for each (a client of the second one was refused while only the first
        # listened).
        self.other_ports = other_ports
        self.config_path = config_path
        self.log_path = folder / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc is not None else None

    def start(self) -> Broker:
        if self.running:
            return self
        self._proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        waiting = [self.port, *self.other_ports]
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr \
                    else ""
                raise RuntimeError(f"mosquitto exited at start: {err}\n{self.log_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", waiting[0]), timeout=0.5):
                    waiting.pop(0)
                if not waiting:
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {waiting} within {START_TIMEOUT_S} s")

    def stop(self) -> None:
        """SIGTERM (Mosquitto saves its persistence file), SIGKILL if it will not go."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)
        if proc.stderr is not None:
            proc.stderr.close()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def start_broker(
    tmp_path: Path,
    port: int | None = None,
    password_file: Path | None = None,
    tls: TlsFiles | None = None,
    *,
    require_certificate: bool = False,
    extra: tuple[str, ...] = (),
) -> Broker:
    """Start Mosquitto with persistence on 127.0.0.1:`port` (a free one if None); `extra`
    config lines are added at the end."""
    folder = Path(tmp_path) / f"mosquitto-{port or 'auto'}-{time.monotonic_ns()}"
    folder.mkdir(parents=True)
    port = port or free_port()
    lines = [
        f"listener {port} 127.0.0.1",
        # As root Mosquitto would drop to the `mosquitto` user, who cannot write here.
        f"user {getpass.getuser()}",
        "persistence true",
        f"persistence_location {folder}/",
        "persistence_file mosquitto.db",
        f"log_dest file {folder / 'mosquitto.log'}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "connection_messages true",
        # The outage tests queue hundreds of events for an offline subscriber.
        "max_queued_messages 100000",
        "set_tcp_nodelay true",
    ]
    if password_file is not None:
        lines += ["allow_anonymous false", f"password_file {password_file}"]
    else:
        lines.append("allow_anonymous true")
    if tls is not None:
        lines += [f"cafile {tls.ca_file}", f"certfile {tls.cert_file}",
                  f"keyfile {tls.key_file}"]
        if require_certificate:
            lines.append("require_certificate true")
    lines += extra
    config_path = folder / "mosquitto.conf"
    config_path.write_text("\n".join(lines) + "\n")
    return Broker(folder, port, config_path).start()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Broker]:
    if not have_mosquitto():
        pytest.fail(f"{MOSQUITTO} is missing: apt-get install mosquitto")
    broker = start_broker(tmp_path)
    try:
        yield broker
    finally:
        broker.stop()


def make_password_file(folder: Path, users: dict[str, str]) -> Path:
    path = Path(folder) / "mosquitto.passwd"
    path.write_text("")
    for user, password in users.items():
        subprocess.run([MOSQUITTO_PASSWD, "-b", str(path), user, password], check=True,
                       capture_output=True, timeout=30)
    path.chmod(0o600)
    return path


def make_tls_files(folder: Path) -> TlsFiles:
    """A fresh CA, a server certificate (127.0.0.1, localhost) and a client certificate."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)

    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    def write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        path.chmod(0o600)
        return path

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder().subject_name(name("hingewatch test CA"))
        .issuer_name(name("hingewatch test CA")).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def issue(common_name: str, usage: x509.ObjectIdentifier, server: bool) -> tuple[
        x509.Certificate, ec.EllipticCurvePrivateKey
    ]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder().subject_name(name(common_name))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
        )
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            ]), critical=False)
        return builder.sign(ca_key, hashes.SHA256()), key

    server_cert, server_key = issue("127.0.0.1", ExtendedKeyUsageOID.SERVER_AUTH, True)
    client_cert, client_key = issue("hingewatch-test", ExtendedKeyUsageOID.CLIENT_AUTH, False)
    pem = serialization.Encoding.PEM
    (folder / "ca.crt").write_bytes(ca_cert.public_bytes(pem))
    (folder / "server.crt").write_bytes(server_cert.public_bytes(pem))
    (folder / "client.crt").write_bytes(client_cert.public_bytes(pem))
    return TlsFiles(
        ca_file=folder / "ca.crt",
        cert_file=folder / "server.crt",
        key_file=write_key(server_key, folder / "server.key"),
        client_cert_file=folder / "client.crt",
        client_key_file=write_key(client_key, folder / "client.key"),
    )


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    t_s: float  # time.perf_counter() on arrival


class Collector:
    """A real subscriber: QoS 1, persistent session (clean_start False) unless `clean`."""

    def __init__(
        self,
        port: int,
        topics: list[str],
        *,
        client_id: str = "test-collector",
        clean: bool = False,
        username: str | None = None,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.port = port
        self.topics = topics
        self.clean = clean
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id, protocol=mqtt.MQTTv5)
        if username:
            self.client.username_pw_set(username, password)
        if ssl_context is not None:
            self.client.tls_set_context(ssl_context)
        # Quick to come back after a broker restart, so tests stay short.
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def start(self, timeout_s: float = 10.0) -> Collector:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 0 if self.clean else 3600
        self.client.connect("127.0.0.1", self.port, keepalive=30, clean_start=self.clean,
                            properties=props)
        self.client.loop_start()
        if not self._subscribed.wait(timeout_s):
            self.stop()
            raise RuntimeError(f"collector: no SUBACK within {timeout_s} s")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object,
                    reason: object, properties: object) -> None:
        client.subscribe([(t, 1) for t in self.topics])

    def _on_subscribe(self, *args: object) -> None:
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: object,
                    message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Received(message.topic, bytes(message.payload),
                                          bool(message.retain), time.perf_counter()))

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.messages)

    def on_topic(self, topic: str) -> list[Received]:
        return [m for m in self.snapshot() if m.topic == topic]

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout_s: float) -> bool:
        """Poll `predicate(messages)` until true or `timeout_s` passes (bounded)."""
        deadline = time.monotonic() + timeout_s
        while True:
            if predicate(self.snapshot()):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)


class Publisher:
    """A real paho client (MQTT 5) that publishes at QoS 1 and waits for each PUBACK."""

    def __init__(self, port: int, *, client_id: str, username: str | None = None,
                 password: str | None = None, ssl_context: ssl.SSLContext | None = None,
                 timeout_s: float = 10.0) -> None:
        self.timeout_s = timeout_s
        self._acks: dict[int, int] = {}
        self._connack = threading.Event()
        self.connack_code: int | None = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id, protocol=mqtt.MQTTv5)
        if username:
            self.client.username_pw_set(username, password)
        if ssl_context is not None:
            self.client.tls_set_context(ssl_context)
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        if not self._connack.wait(timeout_s):
            self.stop()
            raise RuntimeError(f"publisher: no CONNACK within {timeout_s} s")

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object,
                    reason: object, properties: object) -> None:
        self.connack_code = int(getattr(reason, "value", 0))
        self._connack.set()

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int,
                    reason: object, properties: object) -> None:
        self._acks[mid] = int(getattr(reason, "value", 0))

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> int:
        """The PUBACK's reason code: 0 success, 135 not authorized (bounded wait)."""
        mid = self.client.publish(topic, payload, qos=1, retain=retain).mid
        deadline = time.monotonic() + self.timeout_s
        while mid not in self._acks:
            if time.monotonic() >= deadline:
                raise RuntimeError(f"publisher: no PUBACK for {topic} within {self.timeout_s} s")
            time.sleep(0.005)
        return self._acks.pop(mid)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
