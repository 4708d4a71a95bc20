"""The dashboard's settings: one frozen value, checked when it is made."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dashboard.errors import SettingsError

ROLES: tuple[str, ...] = ("viewer", "reviewer")
_CLIENT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # fullmatch: "$" lets a final "\n" in


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
class Settings:
    """Everything the dashboard needs to run. Every field has a default that works on a Pi
    next to a local Mosquitto; `__post_init__` says which field is wrong and what is allowed."""

    db_path: Path = field(default_factory=default_db_path)
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    # The broker keeps our subscriptions and queues QoS 1 events under this id while the
    # dashboard is down; two dashboards on one broker need two ids.
    mqtt_client_id: str = "hingewatch-dashboard"
    # How long the broker keeps the session (and queued events) after we disconnect.
    # Raising it survives longer outages at the cost of broker memory.
    mqtt_session_expiry_s: int = 7 * 24 * 3600
    # "5", or "3.1.1" for a broker without MQTT 5 (the demo's amqtt fallback). With 3.1.1
    # the broker keeps the session for as long as it likes (no expiry interval).
    mqtt_protocol: str = "5"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # True lets requests from 127.0.0.1 / ::1 in without a login, as a reviewer.
    allow_localhost: bool = False
    # Days ("today", the week) are counted in this zone; events keep UTC times.
    timezone: str = field(default_factory=system_timezone)
    session_max_age_s: int = 14 * 24 * 3600
    # Set behind HTTPS so browsers send the session cookie over TLS only.
    secure_cookies: bool = False
    # A day counts towards a streak when its hinge share reaches this.
    streak_goal: float = 0.7
    # Signs CSRF tokens; None keeps a random key in the database so it survives restarts.
    secret_key: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "db_path", Path(self.db_path))
        for name in ("mqtt_port", "http_port"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= 65535:
                raise SettingsError(f"{name}: expected a port 0-65535, got {value!r}")
        if not _CLIENT_ID.fullmatch(self.mqtt_client_id):
            raise SettingsError(
                f"mqtt_client_id: expected 1-64 letters, digits, '_', '.' or '-', "
                f"got {self.mqtt_client_id!r}"
            )
        if self.mqtt_protocol not in ("5", "3.1.1"):
            raise SettingsError(f"mqtt_protocol: expected 5 or 3.1.1, got {self.mqtt_protocol!r}")
        if not 0 <= self.mqtt_session_expiry_s <= 0xFFFFFFFF:
            raise SettingsError(
                f"mqtt_session_expiry_s: expected 0-4294967295, got {self.mqtt_session_expiry_s}"
            )
        if not 60 <= self.session_max_age_s <= 366 * 24 * 3600:
            raise SettingsError(
                f"session_max_age_s: expected 60 s to a year, got {self.session_max_age_s}"
            )
        if not 0.0 < self.streak_goal <= 1.0:
            raise SettingsError(f"streak_goal: expected 0 < goal <= 1, got {self.streak_goal}")
        if self.secret_key is not None and len(self.secret_key) < 16:
            raise SettingsError("secret_key: expected at least 16 characters")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(
                f"timezone: expected an IANA zone such as Europe/Berlin, got {self.timezone!r}"
            ) from exc

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def url(self) -> str:
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        return f"http://{host}:{self.http_port}/"
