"""The publisher's settings: backoff, checked values, broker URLs and credentials."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from edge.delivery.mqtt_config import MqttConfig, MqttConfigError, backoff_delay_s


def test_backoff_doubles_is_jittered_and_capped() -> None:
    rng = random.Random(1)
    for attempt, (low, high) in enumerate([(0.25, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 4.0)]):
        delays = [backoff_delay_s(attempt, 0.5, 4.0, rng) for _ in range(200)]
        assert low <= min(delays) and max(delays) <= high
        assert max(delays) - min(delays) > (high - low) / 2  # really jittered
    assert backoff_delay_s(10_000, 0.5, 4.0, rng) <= 4.0


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"port": 0}, "port: expected 1-65535, got 0"),
        ({"device_id": "my kitchen"}, "device_id: expected 1-64 letters"),
        ({"protocol": "4"}, "protocol: expected auto, 5 or 3.1.1, got '4'"),
        ({"reconnect_min_s": 5.0, "reconnect_max_s": 1.0}, "reconnect_max_s: expected 5.0-3600"),
        ({"max_inflight": 0}, "max_inflight: expected 1-65535, got 0"),
        ({"key_file": Path("k.pem")}, "key_file: expected only together with cert_file"),
        ({"outbox_max_events": 0}, "outbox_max_events: expected 1-100000000, got 0"),
    ],
)
def test_bad_settings_say_which_and_what_is_allowed(settings: dict, message: str) -> None:
    with pytest.raises(MqttConfigError) as info:
        MqttConfig(**settings)
    assert str(info.value).startswith(message)


def test_broker_urls() -> None:
    plain = MqttConfig.from_url("mqtt://broker.local", "kitchen")
    assert (plain.host, plain.port, plain.uses_tls) == ("broker.local", 1883, False)
    secure = MqttConfig.from_url("mqtts://edge@10.0.0.2", "kitchen")
    assert (secure.port, secure.uses_tls, secure.username) == (8883, True, "edge")
    assert secure.effective_client_id == "hingewatch-kitchen"
    for bad, message in [("http://x:1", "broker: expected mqtt://"),
                         ("mqtt://u:secret@x", "broker: no password in the URL")]:
        with pytest.raises(MqttConfigError, match=message):
            MqttConfig.from_url(bad, "kitchen")


def test_credentials_from_a_file_or_the_environment(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    config = MqttConfig(username="edge", password_file=secret)
    assert config.credentials({}) == ("edge", "s3cret")
    env = {"HINGEWATCH_MQTT_USERNAME": "env-user", "HINGEWATCH_MQTT_PASSWORD": "env-pass"}
    assert MqttConfig().credentials(env) == ("env-user", "env-pass")
    assert MqttConfig().credentials({}) == ("", None)
    with pytest.raises(MqttConfigError, match="password_file: cannot read .*missing"):
        MqttConfig(username="u", password_file=tmp_path / "missing").credentials({})
    with pytest.raises(MqttConfigError, match="a password is set but no user name"):
        MqttConfig().credentials({"HINGEWATCH_MQTT_PASSWORD": "p"})
