"""The dashboard's settings from the `[dashboard]` table of the shared TOML file.

Precedence, lowest first: `Settings` defaults, the `[dashboard]` table, the environment
(`HINGEWATCH_MQTT_USERNAME`, `HINGEWATCH_MQTT_PASSWORD`), command-line options. Secrets
never live in the file: the broker password comes from `mqtt_password_file`, the
environment, or systemd's credential `mqtt.password` ($CREDENTIALS_DIRECTORY).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from dashboard.errors import SettingsError
from dashboard.settings import Settings

DEFAULT_CONFIG = Path("/etc/hingewatch/hingewatch.toml")
ENV_USERNAME = "HINGEWATCH_MQTT_USERNAME"
ENV_PASSWORD = "HINGEWATCH_MQTT_PASSWORD"
CREDENTIAL = "mqtt.password"

# The keys of [dashboard], with the type each must have in TOML. `mqtt_password` and
# `secret_key` are not among them: secrets do not go in the file.
KEYS: dict[str, type | tuple[type, ...]] = {
    "db_path": str,
    "mqtt_host": str,
    "mqtt_port": int,
    "mqtt_username": str,
    "mqtt_password_file": str,
    "mqtt_client_id": str,
    "mqtt_session_expiry_s": int,
    "mqtt_protocol": str,
    "http_host": str,
    "http_port": int,
    "allow_localhost": bool,
    "timezone": str,
    "session_max_age_s": int,
    "secure_cookies": bool,
    "streak_goal": (int, float),
}
_FIELDS = {f.name for f in fields(Settings)}


def read_table(path: Path) -> dict[str, Any]:
    """The [dashboard] table of a config file ({} when the file has none)."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from exc
    table = data.get("dashboard", {})
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [dashboard]: expected a table")
    return table


def check_table(table: dict[str, Any], where: str = "[dashboard]") -> dict[str, Any]:
    """Settings keyword arguments from a [dashboard] table; raises naming the bad key."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in KEYS:
            raise SettingsError(
                f"{where}: unknown key {key!r}; allowed: {', '.join(sorted(KEYS))}"
            )
        kind = KEYS[key]
        if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            wanted = kind.__name__ if isinstance(kind, type) else "a number"
            raise SettingsError(f"{where}: {key}: expected {wanted}, got {value!r}")
        out[key] = value
    return out


def _password(file: str | Path | None) -> str | None:
    candidates: list[Path] = []
    if file:
        candidates.append(Path(file))
    elif os.environ.get(ENV_PASSWORD):
        return os.environ[ENV_PASSWORD]
    elif os.environ.get("CREDENTIALS_DIRECTORY"):
        candidates.append(Path(os.environ["CREDENTIALS_DIRECTORY"]) / CREDENTIAL)
    for path in candidates:
        try:
            return path.read_text().splitlines()[0]
        except (OSError, IndexError) as exc:
            raise SettingsError(f"mqtt_password_file: cannot read a password from {path}") \
                from exc
    return None


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the config file (`config`, else /etc/hingewatch/hingewatch.toml when it
    exists), the environment and `overrides` (None values are ignored)."""
    path = config if config is not None else (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
    values: dict[str, Any] = {}
    if path is not None:
        values.update(check_table(read_table(path), f"{path}: [dashboard]"))
    if os.environ.get(ENV_USERNAME):
        values["mqtt_username"] = os.environ[ENV_USERNAME]
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["mqtt_password"] = _password(values.pop("mqtt_password_file", None))
    unknown = set(values) - _FIELDS
    if unknown:
        raise SettingsError(f"unknown setting {sorted(unknown)[0]!r}")
    if "db_path" in values:
        values["db_path"] = Path(values["db_path"]).expanduser()
    return Settings(**values)
