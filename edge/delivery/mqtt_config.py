"""Where the broker is and how to reach it: one frozen, checked value, the reconnect
backoff, and the words for a connection that failed.

Secrets never live in the config file: the password comes from `password_file` (a file
holding only the password, like a Docker or systemd credential) or from the environment
variable `HINGEWATCH_MQTT_PASSWORD`; the user name from `username` or
`HINGEWATCH_MQTT_USERNAME`. TLS is on when `tls` is true, the URL says `mqtts://`, or a
`ca_file` / `cert_file` is given.
"""

from __future__ import annotations

import os
import random
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from edge.delivery.topics import check_device_id
from edge.errors import HingewatchError

ENV_USERNAME = "HINGEWATCH_MQTT_USERNAME"
ENV_PASSWORD = "HINGEWATCH_MQTT_PASSWORD"
DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883

Protocol = Literal["auto", "5", "3.1.1"]
# Longest backoff exponent: 2**20 times reconnect_min_s is far past any sane maximum.
_MAX_EXPONENT = 20


class MqttConfigError(HingewatchError):
    """A broker setting is wrong; the message names the setting and what is allowed."""


@dataclass(frozen=True)
class MqttConfig:
    """Broker connection and outbox settings (the `[mqtt]` table of the config file)."""

    host: str = "localhost"
    port: int = DEFAULT_PORT
    device_id: str = "hingewatch"
    # Empty: `hingewatch-<device_id>`. Stable across restarts so the broker keeps the session.
    client_id: str = ""
    # "auto": MQTT 5, and 3.1.1 when the broker refuses 5.
    protocol: Protocol = "auto"
    # Raising it notices a dead link later; lowering it sends more PINGREQs.
    keepalive_s: int = 30
    # How long to wait for TCP + TLS + CONNACK. Raising it tolerates slower links but a
    # silent broker holds up the next attempt that much longer.
    connect_timeout_s: float = 5.0
    # MQTT 5: how long the broker keeps our session after we go. Raising it keeps the
    # subscription to homeassistant/status through longer outages; costs broker memory.
    session_expiry_s: int = 86_400
    # Reconnect backoff: the first wait, doubled per failed attempt up to the maximum,
    # each wait jittered to 50-100 %. Raising the maximum is gentler on a broker that
    # refuses us; lowering it reconnects sooner after a long outage.
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 60.0
    # Events sent but not yet acknowledged. Raising it speeds delivery over slow links
    # (never above the broker's Receive Maximum) and resends more after a reconnect.
    max_inflight: int = 20
    username: str = ""
    password_file: Path | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    # Publish Home Assistant MQTT discovery for this device.
    ha_discovery: bool = True
    # None: `<[device] state_dir>/outbox-<device_id>.sqlite3`, one outbox per device.
    outbox_path: Path | None = None
    # Events kept while the broker does not acknowledge; see edge.delivery.outbox.
    outbox_max_events: int = 100_000

    def __post_init__(self) -> None:
        _need(bool(self.host.strip()), "host", "a host name or address", self.host)
        _need(1 <= self.port <= 65535, "port", "1-65535", self.port)
        try:
            check_device_id(self.device_id)
        except ValueError as exc:
            raise MqttConfigError(str(exc)) from exc
        _need(len(self.client_id) <= 128, "client_id", "at most 128 characters", self.client_id)
        _need(self.protocol in ("auto", "5", "3.1.1"), "protocol", "auto, 5 or 3.1.1",
              self.protocol)
        _need(5 <= self.keepalive_s <= 3600, "keepalive_s", "5-3600", self.keepalive_s)
        _need(0.5 <= self.connect_timeout_s <= 120, "connect_timeout_s", "0.5-120",
              self.connect_timeout_s)
        _need(0 <= self.session_expiry_s <= 0xFFFFFFFF, "session_expiry_s", "0-4294967295",
              self.session_expiry_s)
        _need(0.01 <= self.reconnect_min_s <= 60, "reconnect_min_s", "0.01-60",
              self.reconnect_min_s)
        _need(self.reconnect_min_s <= self.reconnect_max_s <= 3600, "reconnect_max_s",
              f"{self.reconnect_min_s}-3600 (at least reconnect_min_s)", self.reconnect_max_s)
        _need(1 <= self.max_inflight <= 65535, "max_inflight", "1-65535", self.max_inflight)
        _need(self.key_file is None or self.cert_file is not None, "key_file",
              "only together with cert_file", self.key_file)
        _need(1 <= self.outbox_max_events <= 100_000_000, "outbox_max_events", "1-100000000",
              self.outbox_max_events)

    @classmethod
    def from_url(cls, url: str, device_id: str, **settings: Any) -> MqttConfig:
        """`mqtt://HOST[:PORT]` or `mqtts://HOST[:PORT]` (TLS), optionally `USER@HOST`."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise MqttConfigError(
                f"broker: expected mqtt://HOST:PORT or mqtts://HOST:PORT, got {url!r}"
            )
        if parts.password is not None:
            raise MqttConfigError(
                f"broker: no password in the URL; put it in password_file or {ENV_PASSWORD}"
            )
        try:
            port = parts.port
        except ValueError as exc:
            raise MqttConfigError(f"broker: bad port in {url!r}") from exc
        tls = parts.scheme == "mqtts"
        base: dict[str, Any] = {
            "host": parts.hostname,
            "port": port or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT),
            "device_id": device_id,
            "tls": tls,
        }
        if parts.username:
            base["username"] = parts.username
        base.update(settings)
        return cls(**base)

    @property
    def effective_client_id(self) -> str:
        return self.client_id or f"hingewatch-{self.device_id}"

    @property
    def uses_tls(self) -> bool:
        return self.tls or self.ca_file is not None or self.cert_file is not None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.uses_tls else 'mqtt'}://{self.host}:{self.port}"

    def credentials(self, environ: Mapping[str, str] | None = None) -> tuple[str, str | None]:
        """(username, password): username "" means anonymous."""
        env = os.environ if environ is None else environ
        username = self.username or env.get(ENV_USERNAME, "")
        password: str | None
        if self.password_file is not None:
            path = Path(self.password_file).expanduser()
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise MqttConfigError(
                    f"password_file: cannot read {path}: {exc.strerror or exc}"
                ) from exc
            password = text.rstrip("\r\n")
            if not password:
                raise MqttConfigError(f"password_file: {path} is empty")
        else:
            password = env.get(ENV_PASSWORD) or None
        if password is not None and not username:
            raise MqttConfigError(
                f"a password is set but no user name: set username or {ENV_USERNAME}"
            )
        return username, password

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context (None without TLS); checks the broker's certificate and name."""
        if not self.uses_tls:
            return None
        for key in ("ca_file", "cert_file", "key_file"):
            value = getattr(self, key)
            if value is not None and not Path(value).expanduser().is_file():
                raise MqttConfigError(f"{key}: {value} is not a file")
        try:
            ca = None if self.ca_file is None else str(Path(self.ca_file).expanduser())
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
        except (ssl.SSLError, OSError) as exc:
            raise MqttConfigError(f"ca_file: {self.ca_file} is not a PEM CA: {exc}") from exc
        if self.cert_file is not None:
            try:
                context.load_cert_chain(
                    str(Path(self.cert_file).expanduser()),
                    None if self.key_file is None else str(Path(self.key_file).expanduser()),
                )
            except (ssl.SSLError, OSError) as exc:
                raise MqttConfigError(
                    f"cert_file/key_file: cannot load {self.cert_file}: {exc}"
                ) from exc
        return context


CONFIG_KEYS: tuple[str, ...] = tuple(f.name for f in fields(MqttConfig))
ENVIRONMENT: tuple[str, ...] = (ENV_USERNAME, ENV_PASSWORD)


def _need(ok: bool, key: str, allowed: str, value: object) -> None:
    if not ok:
        raise MqttConfigError(f"{key}: expected {allowed}, got {value!r}")


def backoff_delay_s(attempt: int, min_s: float, max_s: float, rng: random.Random) -> float:
    """Wait before attempt `attempt + 1`: min_s doubled per failure, capped at max_s,
    jittered to 50-100 % so that devices that lost the broker together do not return
    together."""
    base = min(max_s, min_s * 2 ** min(attempt, _MAX_EXPONENT))
    return base * (0.5 + 0.5 * rng.random())


def explain_connect_error(exc: OSError, cfg: MqttConfig) -> tuple[str, bool]:
    """One sentence for a failed TCP/TLS connect, and whether it is a setup error (logged
    as an error) rather than a broker that is down (a warning)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"TLS: the certificate of {cfg.url} failed the check ({exc.verify_message}); "
                "is ca_file the CA that signed the broker's certificate?", True)
    if cfg.uses_tls and isinstance(exc, (ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        reason = getattr(exc, "reason", None) or exc
        return (f"TLS handshake with {cfg.url} failed ({reason}); "
                "is that port a TLS listener?", True)
    if isinstance(exc, ConnectionRefusedError):
        return f"nothing listens on {cfg.url} (connection refused)", False
    if isinstance(exc, TimeoutError):
        return f"{cfg.url} did not answer within {cfg.connect_timeout_s} s", False
    return f"cannot reach {cfg.url}: {exc}", False
