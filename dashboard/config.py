"""The dashboard's settings from the one config file.

Precedence, lowest first: the defaults, the `[dashboard]` and `[dashboard.mqtt]` tables,
command-line options. The broker login and TLS are the agent's (edge.delivery.mqtt_config):
the user name from `HINGEWATCH_MQTT_USERNAME` or `username`, the password from
`password_file`, `HINGEWATCH_MQTT_PASSWORD` or systemd's credential `mqtt.password`
($CREDENTIALS_DIRECTORY); secrets never live in the file (edge.credentials).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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

    with _one_line(""):
        from_file: Settings = load(config).dashboard
    with _one_line("command line: "):
        settings: Settings = changed(from_file,
                                     {k: v for k, v in options.items() if v is not None})
    with _one_line("[dashboard.mqtt]: "):
        settings.mqtt.credentials()
        settings.mqtt.ssl_context()
    with _one_line("[dashboard]: "):
        _ = settings.secret_key
    return settings


@contextmanager
def _one_line(where: str) -> Iterator[None]:
    """A config error as the dashboard's one-line SettingsError, saying where it is."""
    try:
        yield
    except HingewatchError as exc:
        raise SettingsError(f"{where}{exc}") from None
