"""The dashboard's settings from the one config file.

Precedence, lowest first: the defaults, the `[dashboard]` and `[dashboard.mqtt]` tables,
command-line options. The broker login and TLS are the agent's (edge.delivery.mqtt_config):
the user name from `HINGEWATCH_MQTT_USERNAME` or `username`, the password from
`password_file`, `HINGEWATCH_MQTT_PASSWORD` or systemd's credential `mqtt.password`
($CREDENTIALS_DIRECTORY); secrets never live in the file (edge.credentials).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dashboard.errors import SettingsError
from dashboard.settings import Settings
from edge.config_tables import DEFAULT_PATH, changed
from edge.errors import HingewatchError

DEFAULT_CONFIG = DEFAULT_PATH


def load_settings(config: Path | None = None, **options: Any) -> Settings:
    """Settings from the config file (`config`, else /etc/hingewatch/hingewatch.toml when it
    exists; every table of it is checked) and `options` (None values are ignored). The
    secrets are read once here, so a missing password file fails now, in one line."""
    # Here, not at the top: the whole tree pulls numpy (zones), and `python -m dashboard
    # --help` needs only the standard library.
    from edge.config import load

    try:
        settings: Settings = changed(load(config).dashboard,
                                     {k: v for k, v in options.items() if v is not None})
        settings.mqtt.credentials()
        settings.mqtt.ssl_context()
        _ = settings.secret_key
    except HingewatchError as exc:
        raise SettingsError(str(exc)) from None
    return settings
