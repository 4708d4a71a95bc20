"""The `[dashboard]` and `[dashboard.mqtt]` tables of the config file.

They live in the one config tree beside the agent's tables, so that `hingewatch config check`
checks every table with one loader, and the dashboard reaches the broker through the same
`BrokerConfig` as the agent (login, TLS, protocol `auto`, secrets). Nothing here imports the
dashboard; the dashboard calls these `Settings` (dashboard/settings.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edge.config_tables import Between, ConfigError, Table
from edge.credentials import Secret, SecretError
from edge.delivery.mqtt_config import BrokerConfig, Seconds32

SECRET_KEY = Secret("secret_key_file", "HINGEWATCH_SECRET_KEY", "dashboard.secret_key")
_MIN_SECRET_KEY = 16
_SHARE_GROUP_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def default_db_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "hingewatch" / "dashboard.sqlite3"


def system_timezone() -> str:
    """The machine's IANA zone name (Europe/Berlin), or UTC when it cannot be told."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz:
        return tz
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return "UTC"
    _, sep, name = target.partition("zoneinfo/")
    return name if sep and name else "UTC"


@dataclass(frozen=True)
class DashboardMqtt(BrokerConfig):
    """The dashboard's broker connection (`[dashboard.mqtt]`): the agent's keys, with the
    defaults of a dashboard next to a local Mosquitto."""

    host: str = "127.0.0.1"
    # The broker keeps our subscriptions and queues QoS 1 events under this id while the
    # dashboard is down; two dashboards on one broker need two ids.
    client_id: str = "hingewatch-dashboard"
    # How long the broker keeps the session (and queued events) after we disconnect.
    # Raising it survives longer outages at the cost of broker memory. With MQTT 3.1.1
    # the broker keeps it as long as it likes (no expiry interval).
    session_expiry_s: Seconds32 = 7 * 24 * 3600
    reconnect_min_s: Annotated[float, Between(0.01, 60)] = 1.0
    reconnect_max_s: Annotated[float, Between(0.01, 3600)] = 30.0
    # Set on a centre that runs several ingest processes: they share the event stream as
    # the MQTT shared subscriptions `$share/<share_group>/hingewatch/+/event` (and
    # `.../+/practice`), each event (and practice summary) going to one of them. Each
    # process still needs a client_id of its own.
    share_group: str | None = None

    def check(self) -> None:
        super().check()
        if self.share_group is not None:
            self.need(bool(self.share_group) and set(self.share_group) <= _SHARE_GROUP_CHARS,
                      "share_group", "letters, digits, '_', '.' or '-'", self.share_group)


@dataclass(frozen=True)
class DashboardConfig(Table):
    """Everything the dashboard needs to run. Every field has a default that works on a Pi
    next to a local Mosquitto."""

    error: ClassVar[type[Exception]] = ConfigError

    db_path: Path = field(default_factory=default_db_path)
    # A central store shared by many homes: "postgresql://user@host/db" (the password from
    # ~/.pgpass or PGPASSWORD, never here). Unset: the SQLite file `db_path`.
    db_url: str | None = None
    http_host: str = "127.0.0.1"
    # 0: any free port (tests).
    http_port: Annotated[int, Between(0, 65535)] = 8080
    # True lets requests from 127.0.0.1 / ::1 in without a login, as a reviewer.
    allow_localhost: bool = False
    # Days ("today", the week) are counted in this zone; events keep UTC times.
    timezone: str = field(default_factory=system_timezone)
    session_max_age_s: Annotated[int, Between(60, 366 * 24 * 3600)] = 14 * 24 * 3600
    # Set behind HTTPS so browsers send the session cookie over TLS only.
    secure_cookies: bool = False
    # A day counts towards a streak when its hinge share reaches this.
    streak_goal: float = 0.7
    # Signs CSRF tokens (or HINGEWATCH_SECRET_KEY, or the credential dashboard.secret_key);
    # none: a random key kept in the database, so it survives restarts.
    secret_key_file: Path | None = None
    mqtt: DashboardMqtt = field(default_factory=DashboardMqtt)

    def check(self) -> None:
        # `~` is the dashboard user's home; a str from code becomes a Path.
        object.__setattr__(self, "db_path", Path(self.db_path).expanduser())
        if self.db_url is not None:
            self.need(self.db_url.startswith(("postgresql://", "postgres://")), "db_url",
                      "a postgresql:// URL", self.db_url.split("@")[-1])
        self.need(0.0 < self.streak_goal <= 1.0, "streak_goal", "0 < goal <= 1",
                  self.streak_goal)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.need(False, "timezone", "an IANA zone such as Europe/Berlin", self.timezone)

    @property
    def secret_key(self) -> str | None:
        """The CSRF signing key from the one place for secrets; None: keep one in the db."""
        try:
            key = SECRET_KEY.read(self.secret_key_file)
        except SecretError as exc:
            raise ConfigError(str(exc)) from exc
        if key is not None and len(key) < _MIN_SECRET_KEY:
            raise ConfigError(f"secret_key_file: expected at least {_MIN_SECRET_KEY} "
                              "characters in the key")
        return key

    @property
    def store(self) -> Path | str:
        """Where the dashboard keeps its data: the PostgreSQL URL if set, else the file."""
        return self.db_url if self.db_url is not None else self.db_path

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def url(self) -> str:
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        return f"http://{host}:{self.http_port}/"
