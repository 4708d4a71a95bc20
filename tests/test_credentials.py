"""One place for secrets: a named file, else the environment, else a systemd credential;
the broker password of the agent and the dashboard and the dashboard's key all read it."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config_dashboard import SECRET_KEY, DashboardConfig
from edge.config_tables import ConfigError
from edge.credentials import Secret, SecretError
from edge.delivery.mqtt_config import PASSWORD, MqttConfig

SECRET = Secret("token_file", "HW_TEST_TOKEN", "test.token")


def test_a_file_wins_then_the_environment_then_the_credential(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "test.token").write_text("from-credential\n")
    file = tmp_path / "token"
    file.write_text("from-file\r\n")
    env = {"HW_TEST_TOKEN": "from-env", "CREDENTIALS_DIRECTORY": str(creds)}
    assert SECRET.read(file, env) == "from-file"
    assert SECRET.read(None, env) == "from-env"
    assert SECRET.read(None, {"CREDENTIALS_DIRECTORY": str(creds)}) == "from-credential"
    # A credentials folder without this credential (systemd passed another one): none.
    assert SECRET.read(None, {"CREDENTIALS_DIRECTORY": str(tmp_path)}) is None
    assert SECRET.read(None, {}) is None


def test_an_unreadable_or_empty_file_names_its_key(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match="token_file: cannot read .*missing"):
        SECRET.read(tmp_path / "missing", {})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SecretError, match="token_file: .*empty is empty"):
        SECRET.read(tmp_path / "empty", {})


def test_the_agent_the_dashboard_and_the_signing_key_share_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (PASSWORD.credential, SECRET_KEY.credential) == ("mqtt.password",
                                                           "dashboard.secret_key")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "mqtt.password").write_text("broker-pass\n")
    (creds / "dashboard.secret_key").write_text("k" * 32 + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    for name in ("HINGEWATCH_MQTT_PASSWORD", "HINGEWATCH_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HINGEWATCH_MQTT_USERNAME", "edge")
    assert MqttConfig().credentials() == ("edge", "broker-pass")
    dashboard = DashboardConfig()
    assert dashboard.mqtt.credentials() == ("edge", "broker-pass")
    assert dashboard.secret_key == "k" * 32
    (creds / "dashboard.secret_key").write_text("short\n")
    with pytest.raises(ConfigError, match="secret_key_file: expected at least 16"):
        _ = dashboard.secret_key
