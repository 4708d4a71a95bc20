"""Home Assistant discovery: the config messages, their republishing, and the README."""

from __future__ import annotations

import json
import re
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.delivery.discovery import discovery_messages, discovery_topic
from edge.delivery.mqtt_config import CONFIG_KEYS, ENVIRONMENT, MqttConfig
from edge.delivery.outbox import Outbox
from edge.delivery.publisher import Publisher
from edge.delivery.state import STATE_FIELDS
from edge.delivery.topics import (
    HA_DISCOVERY_PREFIX,
    HA_STATUS,
    event_topic,
    state_topic,
    status_topic,
)
from tests.conftest import ROOT
from tests.mqtt_broker import Broker, Collector

EVENT_FIELDS = set(json.loads((ROOT / "edge/schemas/bend-1.schema.json").read_text())
                   ["properties"])

# The keys Home Assistant's MQTT `sensor` and `event` platforms accept that we use
# (home-assistant.io/integrations/sensor.mqtt and event.mqtt): a typo would be ignored
# by Home Assistant without a word, so the test refuses it here.
COMMON_KEYS = {"availability_topic", "payload_available", "payload_not_available", "device",
               "origin", "name", "unique_id", "state_topic", "value_template", "icon"}
ALLOWED_KEYS = {
    "sensor": COMMON_KEYS | {"state_class", "unit_of_measurement", "device_class", "options"},
    "event": COMMON_KEYS | {"event_types", "qos", "device_class"},
}


def _configs(device_id: str = "kitchen") -> dict[str, dict]:
    return {m.topic: json.loads(m.payload) for m in discovery_messages(device_id, "9.9.9")}


def test_one_device_four_sensors_and_a_bend_event() -> None:
    configs = _configs()
    assert set(configs) == {
        "homeassistant/sensor/hingewatch_kitchen/bends_today/config",
        "homeassistant/sensor/hingewatch_kitchen/hinge_share_today/config",
        "homeassistant/sensor/hingewatch_kitchen/hinge_share_7d/config",
        "homeassistant/sensor/hingewatch_kitchen/last_posture/config",
        "homeassistant/event/hingewatch_kitchen/bend/config",
    }
    unique_ids = [c["unique_id"] for c in configs.values()]
    assert len(set(unique_ids)) == 5
    for topic, config in configs.items():
        platform = topic.split("/")[1]
        assert set(config) <= ALLOWED_KEYS[platform], set(config) - ALLOWED_KEYS[platform]
        assert config["availability_topic"] == status_topic("kitchen")
        assert (config["payload_available"], config["payload_not_available"]) == (
            "online", "offline")
        assert config["device"]["identifiers"] == ["hingewatch_kitchen"]
        assert config["device"]["sw_version"] == "9.9.9"
    bends = configs[discovery_topic("sensor", "kitchen", "bends_today")]
    assert bends["state_class"] == "total_increasing"
    assert bends["state_topic"] == state_topic("kitchen")
    last = configs[discovery_topic("sensor", "kitchen", "last_posture")]
    # An enum sensor takes options and must have neither unit nor state_class.
    assert last["device_class"] == "enum"
    assert last["options"] == ["hinge", "round", "squat", "unsure"]
    assert "state_class" not in last and "unit_of_measurement" not in last
    event = configs[discovery_topic("event", "kitchen", "bend")]
    assert event["event_types"] == ["hinge", "round", "squat", "unsure"]
    assert event["state_topic"] == event_topic("kitchen")


def test_templates_read_only_fields_that_exist() -> None:
    for topic, config in _configs().items():
        fields = set(re.findall(r"value_json\.(\w+)", config["value_template"]))
        assert fields, topic
        known = EVENT_FIELDS if "/event/" in topic else set(STATE_FIELDS)
        assert fields <= known, (topic, fields - known)
    event = _configs()[discovery_topic("event", "kitchen", "bend")]
    # Home Assistant's event entity needs `event_type`; the skeleton stays out.
    assert "'event_type': value_json.posture" in event["value_template"]
    assert "skeleton" not in event["value_template"]


def test_discovery_is_retained_and_sent_again_when_home_assistant_comes_online(
    mosquitto: Broker, tmp_path: Path
) -> None:
    config = MqttConfig(host="127.0.0.1", port=mosquitto.port, device_id="kitchen")
    expected = {m.topic for m in discovery_messages("kitchen")}
    probe = Collector(mosquitto.port, [f"{HA_DISCOVERY_PREFIX}/#"], client_id="probe",
                      clean=True).start()
    with Outbox(tmp_path / "o.sqlite3") as outbox, Publisher(config, outbox) as publisher:
        assert publisher.wait_connected(10)
        assert probe.wait_for(lambda ms: len(ms) == 5, 5)  # now on the broker
        probe.stop()
        # Home Assistant starting later: it gets the retained configs on subscribing.
        ha = Collector(mosquitto.port, [f"{HA_DISCOVERY_PREFIX}/+/+/+/config"],
                       client_id="home-assistant", clean=True).start()
        try:
            assert ha.wait_for(lambda ms: {m.topic for m in ms} == expected, 5)
            assert all(m.retain for m in ha.snapshot())
            said = mqtt.Client(CallbackAPIVersion.VERSION2, "ha-birth")
            said.connect("127.0.0.1", mosquitto.port)
            said.loop_start()
            said.publish(HA_STATUS, "offline", qos=1).wait_for_publish(5)
            said.publish(HA_STATUS, "online", qos=1).wait_for_publish(5)
            assert ha.wait_for(lambda ms: len(ms) == 10, 5)
            assert {m.topic for m in ha.snapshot()[5:]} == expected
            assert not any(m.retain for m in ha.snapshot()[5:])  # sent live, on request
            said.disconnect()
            said.loop_stop()
        finally:
            ha.stop()
    assert len(ha.snapshot()) == 10  # "offline" asked for nothing


def test_discovery_can_be_turned_off(mosquitto: Broker, tmp_path: Path) -> None:
    config = MqttConfig(host="127.0.0.1", port=mosquitto.port, device_id="hall",
                        ha_discovery=False)
    with Outbox(tmp_path / "o.sqlite3") as outbox, Publisher(config, outbox) as publisher:
        assert publisher.wait_connected(10)
        ha = Collector(mosquitto.port, [f"{HA_DISCOVERY_PREFIX}/#"], clean=True,
                       client_id="ha-off").start()
        try:
            assert not ha.wait_for(lambda ms: len(ms) > 0, 1.0)
        finally:
            ha.stop()


def _documented_topics() -> list[str]:
    placeholder = "DEVICEID"
    topics = [event_topic(placeholder), status_topic(placeholder), state_topic(placeholder),
              HA_STATUS] + [m.topic for m in discovery_messages(placeholder)]
    return [t.replace(placeholder, "<device>") for t in topics]


@pytest.mark.parametrize(
    "name",
    [f"topic {t}" for t in _documented_topics()]
    # device_id is [device] id in the config file, documented there.
    + [f"setting {k}" for k in CONFIG_KEYS if k != "device_id"]
    + [f"variable {v}" for v in ENVIRONMENT]
    + [f"state field {f}" for f in STATE_FIELDS],
)
def test_the_readme_documents_it(name: str) -> None:
    readme = (ROOT / "README.md").read_text()
    thing = name.split(" ")[-1]
    assert f"`{thing}`" in readme, f"README.md does not mention `{thing}` ({name})"
