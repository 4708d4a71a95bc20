"""One place for secrets: the broker password of the agent and of the dashboard, the
dashboard's signing key. A secret never lives in the config file; it comes from, in order:

1. the file a `*_file` key names (a file holding only the secret, like a Docker secret);
2. an environment variable (`HINGEWATCH_MQTT_PASSWORD`, ...);
3. a systemd credential (`LoadCredential=NAME:...` puts it in `$CREDENTIALS_DIRECTORY/NAME`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from edge.errors import HingewatchError

CREDENTIALS_DIRECTORY = "CREDENTIALS_DIRECTORY"


class SecretError(HingewatchError):
    """A secret's file is named but cannot be read, or holds nothing."""


@dataclass(frozen=True)
class Secret:
    """Where one secret may come from: `key` names its file in the config, `env` the
    environment variable, `credential` the systemd credential."""

    key: str
    env: str
    credential: str

    def read(self, file: Path | None, environ: Mapping[str, str] | None = None) -> str | None:
        """The secret, or None when none of the three places holds it."""
        env = os.environ if environ is None else environ
        if file is not None:
            return self._read_file(Path(file).expanduser())
        if env.get(self.env):
            return env[self.env]
        folder = env.get(CREDENTIALS_DIRECTORY)
        if folder and (Path(folder) / self.credential).is_file():
            return self._read_file(Path(folder) / self.credential)
        return None

    def _read_file(self, path: Path) -> str:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise SecretError(f"{self.key}: cannot read {path}: {why}") from exc
        # The file holds the secret and at most a line break after it (`echo` writes one).
        secret = text.rstrip("\r\n")
        if not secret:
            raise SecretError(f"{self.key}: {path} is empty")
        return secret
