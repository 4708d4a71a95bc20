"""What the publisher tests share: the device, its topics, a config for a test broker."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from edge.delivery.mqtt_config import MqttConfig
from edge.delivery.topics import event_topic, state_topic, status_topic
from tests.mqtt_broker import Broker, Collector

DEVICE = "kitchen"
EVENTS = event_topic(DEVICE)
STATUS = status_topic(DEVICE)
STATE = state_topic(DEVICE)


def config_for(port: int, **settings: object) -> MqttConfig:
    """The device's settings for a broker on 127.0.0.1: quick reconnects, no discovery."""
    base: dict[str, object] = {"host": "127.0.0.1", "port": port, "device_id": DEVICE,
                               "reconnect_min_s": 0.1, "reconnect_max_s": 1.0,
                               "ha_discovery": False}
    base.update(settings)
    return MqttConfig(**base)  # type: ignore[arg-type]  # test values of each field's type, checked by the table


def event_ids(messages: list) -> list[str]:
    return [json.loads(m.payload)["event_id"] for m in messages if m.topic == EVENTS]


@pytest.fixture
def collector(mosquitto: Broker) -> Iterator[Collector]:
    """A subscriber to the device's events, status and state."""
    c = Collector(mosquitto.port, [EVENTS, STATUS, STATE]).start()
    try:
        yield c
    finally:
        c.stop()
