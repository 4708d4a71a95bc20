"""A paho client built from a `BrokerConfig`: the one way the agent and the dashboard open a
broker connection (client id, persistent session, login, TLS, connect timeout, protocol)."""

from __future__ import annotations

import ssl
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.delivery.mqtt_config import BrokerConfig

# CONNACK "Unsupported protocol version": a 3.1.1 broker's answer to an MQTT 5 CONNECT.
UNSUPPORTED_PROTOCOL = 132


def first_protocol(cfg: BrokerConfig) -> int:
    """MQTT 5 unless the config asks for 3.1.1 ("auto" starts with 5)."""
    return mqtt.MQTTv311 if cfg.protocol == "3.1.1" else mqtt.MQTTv5


def falls_back(cfg: BrokerConfig, protocol: int, reason: ReasonCode) -> bool:
    """True when the broker refused MQTT 5 and the config lets us try 3.1.1."""
    return (cfg.protocol == "auto" and protocol == mqtt.MQTTv5
            and reason.value == UNSUPPORTED_PROTOCOL)


def new_client(cfg: BrokerConfig, protocol: int, username: str, password: str | None,
               ssl_context: ssl.SSLContext | None, *, manual_ack: bool = False,
               role: str = "", clean: bool = False) -> mqtt.Client:
    """A paho client with the persistent session (or, `clean`, none), login and TLS. The
    caller reads the login and the TLS context once (`cfg.credentials()`,
    `cfg.ssl_context()`) so that a wrong password file or CA fails at start, not at every
    reconnect. `role` names a side connection of the same program ("link", "practice"): its
    client id is the program's with `-role` after it."""
    client_id = f"{cfg.effective_client_id}-{role}" if role else cfg.effective_client_id
    if protocol == mqtt.MQTTv5:
        # (5 says at connect whether the session is kept: connect_options)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id,
                             protocol=mqtt.MQTTv5, manual_ack=manual_ack)
    else:
        # 3.1.1 keeps the session with clean_session False.
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id,
                             clean_session=clean, protocol=mqtt.MQTTv311,
                             manual_ack=manual_ack)
    if username:
        client.username_pw_set(username, password)
    if ssl_context is not None:
        client.tls_set_context(ssl_context)
    client.connect_timeout = cfg.connect_timeout_s
    return client


def connect_options(cfg: BrokerConfig, protocol: int, **properties: int) -> dict[str, Any]:
    """The keyword arguments of `connect()` / `connect_async()` after host and port: the
    keepalive, and with MQTT 5 the resumed session, its expiry and `properties`
    (ReceiveMaximum=..., ...)."""
    if protocol != mqtt.MQTTv5:
        return {"keepalive": cfg.keepalive_s}
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = cfg.session_expiry_s
    for name, value in properties.items():
        setattr(props, name, value)
    return {"keepalive": cfg.keepalive_s, "clean_start": False, "properties": props}
