"""Where the broker is and how to reach it: one frozen, checked value, the reconnect
backoff, and the words for a connection that failed.

`BrokerConfig` is the connection, shared by the agent (`[mqtt]`, `MqttConfig` adds the
outbox and Home Assistant) and the dashboard (`[dashboard.mqtt]`): the same login, TLS,
protocol and timeouts on both. Secrets never live in the config file (see
edge.credentials): the password comes from `password_file`, the environment variable
`HINGEWATCH_MQTT_PASSWORD` or the systemd credential `mqtt.password`; the user name from
`HINGEWATCH_MQTT_USERNAME` or `username`. TLS is on when `tls` is true, the URL says
`mqtts://`, or a `ca_file` / `cert_file` is given.
"""

from __future__ import annotations

import os
import random
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from edge.config_tables import Between, Table
from edge.credentials import Secret, SecretError
from edge.delivery.topics import check_device_id
from edge.errors import HingewatchError

ENV_USERNAME = "HINGEWATCH_MQTT_USERNAME"
ENV_PASSWORD = "HINGEWATCH_MQTT_PASSWORD"
PASSWORD = Secret("password_file", ENV_PASSWORD, "mqtt.password")
DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883

Protocol = Literal["auto", "5", "3.1.1"]
Port = Annotated[int, Between(1, 65535)]
Seconds32 = Annotated[int, Between(0, 0xFFFFFFFF)]
Backoff = Annotated[float, Between(0.01, 3600)]
# Longest backoff exponent: 2**20 times reconnect_min_s is far past any sane maximum.
_MAX_EXPONENT = 20
_CLIENT_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


class MqttConfigError(HingewatchError):
    """A broker setting is wrong; the message names the setting and what is allowed."""


@dataclass(frozen=True)
class BrokerConfig(Table):
    """How to reach the broker: host, login, TLS, protocol, timeouts, session."""

    error: ClassVar[type[Exception]] = MqttConfigError

    host: str = "localhost"
    port: Port = DEFAULT_PORT
    # Empty: a name of our own (see effective_client_id). Stable across restarts: the
    # broker keeps our session (and what it queued for us) under it.
    client_id: str = ""
    # "auto": MQTT 5, and 3.1.1 when the broker refuses 5.
    protocol: Protocol = "auto"
    # Raising it notices a dead link later; lowering it sends more PINGREQs.
    keepalive_s: Annotated[int, Between(5, 3600)] = 30
    # How long to wait for TCP + TLS + CONNACK. Raising it tolerates slower links but a
    # silent broker holds up the next attempt that much longer.
    connect_timeout_s: Annotated[float, Between(0.5, 120)] = 5.0
    # MQTT 5: how long the broker keeps our session after we go. Raising it rides out
    # longer outages; costs broker memory.
    session_expiry_s: Seconds32 = 86_400
    # Reconnect backoff: the first wait, doubled per failed attempt up to the maximum,
    # each wait jittered to 50-100 %. Raising the maximum is gentler on a broker that
    # refuses us; lowering it reconnects sooner after a long outage.
    reconnect_min_s: Annotated[float, Between(0.01, 60)] = 0.5
    reconnect_max_s: Backoff = 60.0
    username: str = ""
    password_file: Path | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    def check(self) -> None:
        self.need(bool(self.host.strip()), "host", "a host name or address", self.host)
        self.need(len(self.client_id) <= 128 and set(self.client_id) <= _CLIENT_ID_CHARS,
                  "client_id", "at most 128 letters, digits, '_', '.' or '-'", self.client_id)
        self.need(self.protocol in ("auto", "5", "3.1.1"), "protocol", "auto, 5 or 3.1.1",
                  self.protocol)
        self.need(self.reconnect_min_s <= self.reconnect_max_s, "reconnect_max_s",
                  f"{self.reconnect_min_s}-3600 (at least reconnect_min_s)",
                  self.reconnect_max_s)
        self.need(self.key_file is None or self.cert_file is not None, "key_file",
                  "only together with cert_file", self.key_file)

    @property
    def effective_client_id(self) -> str:
        return self.client_id or "hingewatch"

    @property
    def uses_tls(self) -> bool:
        return self.tls or self.ca_file is not None or self.cert_file is not None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.uses_tls else 'mqtt'}://{self.host}:{self.port}"

    def credentials(self, environ: Mapping[str, str] | None = None) -> tuple[str, str | None]:
        """(username, password): username "" means anonymous. The environment's user name
        wins over the file's, as on every other setting a deployment overrides."""
        env = os.environ if environ is None else environ
        username = env.get(ENV_USERNAME) or self.username
        try:
            password = PASSWORD.read(self.password_file, env)
        except SecretError as exc:
            raise MqttConfigError(str(exc)) from exc
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


@dataclass(frozen=True)
class MqttConfig(BrokerConfig):
    """The agent's broker settings (the `[mqtt]` table): the connection, the outbox, Home
    Assistant. `device_id` comes from `[device] id`."""

    device_id: str = "hingewatch"
    # Events sent but not yet acknowledged. Raising it speeds delivery over slow links
    # (never above the broker's Receive Maximum) and resends more after a reconnect.
    max_inflight: Port = 20
    # Publish Home Assistant MQTT discovery for this device.
    ha_discovery: bool = True
    # None: `<[device] state_dir>/outbox-<device_id>.sqlite3`, one outbox per device.
    outbox_path: Path | None = None
    # Events kept while the broker does not acknowledge; see edge.delivery.outbox.
    outbox_max_events: Annotated[int, Between(1, 100_000_000)] = 100_000

    def check(self) -> None:
        super().check()
        try:
            check_device_id(self.device_id)
        except ValueError as exc:
            raise MqttConfigError(str(exc)) from exc

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


CONFIG_KEYS: tuple[str, ...] = tuple(f.name for f in fields(MqttConfig))
ENVIRONMENT: tuple[str, ...] = (ENV_USERNAME, ENV_PASSWORD)


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
