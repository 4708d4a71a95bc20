"""Every MQTT topic string hingewatch uses, in one place."""

from __future__ import annotations

import re

PREFIX = "hingewatch"
HA_DISCOVERY_PREFIX = "homeassistant"
HA_STATUS = f"{HA_DISCOVERY_PREFIX}/status"  # Home Assistant says `online` here on start

DEVICE_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")

# Subscriptions for a dashboard that collects every device.
ALL_EVENTS = f"{PREFIX}/+/event"
ALL_STATUS = f"{PREFIX}/+/status"
ALL_STATE = f"{PREFIX}/+/state"
ALL_PRACTICE = f"{PREFIX}/+/practice"
ALL_LIVE = f"{PREFIX}/+/live"
ALL_CUES = f"{PREFIX}/+/cue"


def check_device_id(device_id: str) -> str:
    if not DEVICE_ID_PATTERN.fullmatch(device_id):
        raise ValueError(
            f"device_id: expected 1-64 letters, digits, '_' or '-', got {device_id!r}"
        )
    return device_id


def event_topic(device_id: str) -> str:
    """One JSON `BendEvent` per bend; QoS 1, not retained."""
    return f"{PREFIX}/{check_device_id(device_id)}/event"


def status_topic(device_id: str) -> str:
    """`online` / `offline`, retained; `offline` is the last will."""
    return f"{PREFIX}/{check_device_id(device_id)}/status"


def state_topic(device_id: str) -> str:
    """Retained live state: person present, posture now, fps, outbox depth."""
    return f"{PREFIX}/{check_device_id(device_id)}/state"


def practice_topic(device_id: str) -> str:
    """One JSON practice summary per session (`hingewatch.practice/1`); QoS 1, not retained."""
    return f"{PREFIX}/{check_device_id(device_id)}/practice"


def practice_cmd_topic(device_id: str) -> str:
    """Commands to the device: {"drill": …, "action": "start"|"stop"}; validated there."""
    return f"{PREFIX}/{check_device_id(device_id)}/practice/cmd"


def live_topic(device_id: str) -> str:
    """Landmarks and the back line while a practice session is open; QoS 0, not retained."""
    return f"{PREFIX}/{check_device_id(device_id)}/live"


def cue_topic(device_id: str) -> str:
    """A gentle cue in everyday life (the words to say); QoS 1, not retained."""
    return f"{PREFIX}/{check_device_id(device_id)}/cue"


def adjust_topic(device_id: str) -> str:
    """The device's accepted cut-off adjustment (`hingewatch.adjust/1`), retained; an empty
    retained payload means the classifier's defaults."""
    return f"{PREFIX}/{check_device_id(device_id)}/adjust"


def ha_discovery_topic(platform: str, device_id: str, object_id: str) -> str:
    """Home Assistant's per-entity discovery topic for one of this device's entities."""
    return (f"{HA_DISCOVERY_PREFIX}/{platform}/hingewatch_{check_device_id(device_id)}/"
            f"{object_id}/config")


def device_of(topic: str) -> str | None:
    """The device id in a hingewatch topic, or None for any other topic."""
    parts = topic.split("/")
    if len(parts) == 3 and parts[0] == PREFIX and DEVICE_ID_PATTERN.fullmatch(parts[1]):
        return parts[1]
    return None
