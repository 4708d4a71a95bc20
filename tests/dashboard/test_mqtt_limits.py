"""Oversized MQTT messages: the dashboard's connection says how large a packet it takes
(MQTT 5 Maximum Packet Size), and the shipped Mosquitto config refuses larger payloads."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dashboard.ingest.mqtt import MAX_PACKET_BYTES
from dashboard.settings import Settings
from dashboard.store.reader import Reader
from dashboard.web.server import Dashboard
from edge.config_tables import changed
from tests.dashboard.conftest import ROOT, publish, wait_until
from tests.dashboard.factory import make_event
from tests.mqtt_broker import Broker, Collector, start_broker

SHIPPED = ROOT / "systemd" / "mosquitto-hingewatch.conf"


def an_event() -> str:
    return make_event("hinge", datetime.now(UTC) - timedelta(minutes=1), frames=2).to_json()


def test_a_message_over_our_packet_size_never_reaches_the_dashboard(
        dash_settings: Settings, mosquitto: Broker) -> None:
    with Dashboard(changed(dash_settings, {"mqtt_port": mosquitto.port})) as dash:
        assert dash.ingest is not None
        huge = b"{" + b" " * (2 * MAX_PACKET_BYTES) + b"}"
        publish(mosquitto.port, [("hingewatch/kitchen/event", huge),
                                 ("hingewatch/kitchen/event", an_event())])
        reader = Reader(dash.settings.store)
        wait_until(lambda: reader.event_total() == 1, 15, "the event after the huge one")
        # The broker dropped the huge one: it was never handed over (so never counted).
        assert dash.ingest.status().received == 1
        assert reader.ingest_counts().rejects == ()
        assert dash.ingest.status().connected
        reader.close()


def shipped_limit() -> int:
    match = re.search(r"^message_size_limit (\d+)$", SHIPPED.read_text(), re.MULTILINE)
    assert match, f"{SHIPPED} sets no message_size_limit"
    return int(match[1])


def test_the_shipped_broker_config_refuses_an_oversized_payload(tmp_path: Path) -> None:
    limit, event = shipped_limit(), an_event()
    assert len(event) < limit <= MAX_PACKET_BYTES
    broker = start_broker(tmp_path, extra=(f"message_size_limit {limit}",))
    collector = Collector(broker.port, ["hingewatch/#"], clean=True,
                          client_id=f"limits-{uuid.uuid4().hex[:6]}").start()
    try:
        publish(broker.port, [("hingewatch/kitchen/event", b"x" * (limit + 1)),
                              ("hingewatch/kitchen/event", event)])
        # Sent in order on one connection: once the second is here, the first was dropped.
        assert collector.wait_for(lambda got: len(got) >= 1, 15)
        assert [len(m.payload) for m in collector.snapshot()] == [len(event)]
    finally:
        collector.stop()
        broker.stop()
