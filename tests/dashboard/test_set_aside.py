"""A message the schema check passes but the store refuses is set aside, not retried for
ever: the messages around it are stored, it is kept (payload and reason) in `set_aside`
and counted on Health, and ingest goes on. An outage (tests/dashboard/test_unwritable.py,
tests/dashboard/test_scale_out.py) is still retried with nothing lost.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

from dashboard.settings import Settings
from dashboard.store.reader import Reader
from dashboard.web.server import Dashboard
from edge.config_tables import changed
from tests.dashboard.conftest import add_user, login, publish, wait_until
from tests.dashboard.factory import make_event, now_utc
from tests.mqtt_broker import Broker

TOPIC = "hingewatch/kitchen/event"


def event(i: int) -> bytes:
    return make_event("hinge", now_utc() - timedelta(minutes=30 - i), frames=2).to_json().encode()


def poison(settings: Settings) -> bytes:
    """A valid event this store refuses. PostgreSQL's text takes no NUL, which JSON and
    the schema allow in `zone`. SQLite takes any value the schema allows, so there the
    refusal is the operator's own rule, a trigger (as a CHECK added later would be)."""
    e = json.loads(event(0))
    if settings.db_url is not None:
        e["zone"] = "kitchen\u0000sink"
    else:
        e["zone"] = "quarantined"
        with sqlite3.connect(settings.db_path) as db:
            db.execute("CREATE TRIGGER refuse BEFORE INSERT ON events "
                       "WHEN new.zone = 'quarantined' "
                       "BEGIN SELECT RAISE(ABORT, 'this zone is quarantined'); END")
    return json.dumps(e).encode()


def test_a_message_the_store_refuses_is_set_aside_and_ingest_goes_on(
        dash_settings: Settings, mosquitto: Broker) -> None:
    with Dashboard(changed(dash_settings, {"mqtt_port": mosquitto.port})) as dash:
        assert dash.ingest is not None and dash.ingest.wait_connected(10)
        add_user(dash.writer, "anna", "viewer")
        bad = poison(dash.settings)
        reader = Reader(dash.settings.store)
        try:
            # One publish: the refused message lands in a batch among good ones.
            publish(mosquitto.port, [(TOPIC, event(i)) for i in range(1, 11)] + [(TOPIC, bad)]
                    + [(TOPIC, event(i)) for i in range(11, 21)])
            wait_until(lambda: reader.event_total() == 20, 30, "the 20 good events stored")
            wait_until(lambda: len(reader.set_aside()) == 1, 30, "the refused one set aside")
            kept = reader.set_aside()[0]
            assert (kept.topic, kept.payload) == (TOPIC, bad)
            # The store's own words: PostgreSQL's on the NUL (0x00), SQLite's trigger's.
            assert "0x00" in kept.reason or "quarantined" in kept.reason
            counts = reader.ingest_counts()
            assert counts.by_kind["event_stored"] == 20
            assert {r.reason: r.count for r in counts.rejects} == {"set_aside": 1}
            client, _ = login(dash.url, "anna")
            assert "set_aside" in client.get("/health").text
            client.close()
            # Ingest goes on; the refused message was acknowledged, so nothing comes back.
            publish(mosquitto.port, [(TOPIC, event(21))])
            wait_until(lambda: reader.event_total() == 21, 30, "a later event stored")
            assert dash.ingest.status().store_error is None
            assert dash.ingest.status().written == dash.ingest.status().received
            assert len(reader.set_aside()) == 1
        finally:
            reader.close()
