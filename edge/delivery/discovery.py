"""Home Assistant MQTT discovery: one device, four sensors, a bend `event` entity and, with
the everyday cue turned on ([cue] enabled), a `cue` event entity.

A home that already runs Home Assistant sees the device without configuration. Each
entity has a retained config message at `homeassistant/<platform>/hingewatch_<device>/
<object>/config` (Home Assistant's per-entity discovery topic), all tied to one device
by `device.identifiers`, all available only while `hingewatch/<device>/status` says
`online`. The sensors read fields of the retained state JSON (`DeviceState`); the
`event` entity reads the event topic and fires `hinge`, `round` or `squat`, with a few
of the event's fields as attributes (never the skeleton: Home Assistant would store it
with every state change). The cue entity fires `cue` with the words to say (an
automation hands them to a speaker or a phone). The publisher sends these on every
connect and again when `homeassistant/status` says `online` (Home Assistant restarted).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from edge import __version__
from edge.delivery.topics import (
    check_device_id,
    cue_topic,
    event_topic,
    ha_discovery_topic,
    state_topic,
    status_topic,
)
from edge.events import POSTURES

NODE_PREFIX = "hingewatch_"

# A share 0-1 in the state JSON shown as a percentage; unknown until the first bend.
_SHARE_TEMPLATE = (
    "{{% if value_json.{0} is number %}}{{{{ (value_json.{0} * 100) | round(1) }}}}"
    "{{% else %}}None{{% endif %}}"
)
# What the event entity fires: Home Assistant wants a JSON object whose `event_type` is
# one of `event_types`; the other keys become the event's attributes.
_EVENT_TEMPLATE = (
    "{{ {'event_type': value_json.posture, 'event_id': value_json.event_id,"
    " 'confidence': value_json.confidence, 'reasons': value_json.reasons,"
    " 'activity': value_json.activity, 'zone': value_json.zone,"
    " 'duration_s': value_json.duration_s, 'ended_at': value_json.ended_at} | tojson }}"
)
_CUE_TEMPLATE = (
    "{{ {'event_type': 'cue', 'words': value_json.words,"
    " 'rounded_bends': value_json.rounded_bends, 'window_min': value_json.window_min,"
    " 'at': value_json.at} | tojson }}"
)


@dataclass(frozen=True)
class DiscoveryMessage:
    topic: str
    payload: str  # JSON


def node_id(device_id: str) -> str:
    return NODE_PREFIX + check_device_id(device_id)


def discovery_topic(platform: str, device_id: str, object_id: str) -> str:
    return ha_discovery_topic(platform, device_id, object_id)


def discovery_messages(
    device_id: str, software_version: str = __version__, *, cue: bool = False
) -> list[DiscoveryMessage]:
    """Every config message for one device, to be published retained at QoS 1; `cue`:
    the everyday cue is on, so its event entity too."""
    node = node_id(device_id)
    common: dict[str, Any] = {
        "availability_topic": status_topic(device_id),
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": {
            "identifiers": [node],
            "name": f"hingewatch {device_id}",
            "manufacturer": "hingewatch",
            "model": "hingewatch edge",
            "sw_version": software_version,
        },
        "origin": {"name": "hingewatch", "sw_version": software_version},
    }
    state = state_topic(device_id)
    sensors: list[tuple[str, dict[str, Any]]] = [
        ("bends_today", {
            "name": "Bends today",
            "state_topic": state,
            "value_template": "{{ value_json.bends_today }}",
            # Counts up through the day and falls to 0 at midnight: a new cycle.
            "state_class": "total_increasing",
            "unit_of_measurement": "bends",
            "icon": "mdi:human-handsdown",
        }),
        ("hinge_share_today", {
            "name": "Hinge share today",
            "state_topic": state,
            "value_template": _SHARE_TEMPLATE.format("hinge_share_today"),
            "state_class": "measurement",
            "unit_of_measurement": "%",
            "icon": "mdi:percent",
        }),
        ("hinge_share_7d", {
            "name": "Hinge share 7 days",
            "state_topic": state,
            "value_template": _SHARE_TEMPLATE.format("hinge_share_7d"),
            "state_class": "measurement",
            "unit_of_measurement": "%",
            "icon": "mdi:percent",
        }),
        ("last_posture", {
            "name": "Last posture",
            "state_topic": state,
            "value_template": "{{ value_json.last_posture }}",
            # An enum sensor: no unit and no state_class, the options listed.
            "device_class": "enum",
            "options": list(POSTURES),
            "icon": "mdi:human",
        }),
    ]
    messages = [
        _message("sensor", device_id, object_id, {**config, **common,
                                                   "unique_id": f"{node}_{object_id}"})
        for object_id, config in sensors
    ]
    messages.append(_message("event", device_id, "bend", {
        "name": "Bend",
        "state_topic": event_topic(device_id),
        "qos": 1,
        "event_types": list(POSTURES),
        "value_template": _EVENT_TEMPLATE,
        "icon": "mdi:human-handsdown",
        **common,
        "unique_id": f"{node}_bend",
    }))
    if cue:
        messages.append(_message("event", device_id, "cue", {
            "name": "Hinge cue",
            "state_topic": cue_topic(device_id),
            "qos": 1,
            "event_types": ["cue"],
            "value_template": _CUE_TEMPLATE,
            "icon": "mdi:account-voice",
            **common,
            "unique_id": f"{node}_cue",
        }))
    return messages


def _message(platform: str, device_id: str, object_id: str, config: dict[str, Any]) -> (
    DiscoveryMessage
):
    return DiscoveryMessage(
        discovery_topic(platform, device_id, object_id),
        json.dumps(config, separators=(",", ":"), sort_keys=True),
    )
