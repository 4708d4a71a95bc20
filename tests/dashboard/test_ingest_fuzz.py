"""Malformed messages never crash ingest, and every one is counted as rejected.

Over 10,000 generated payloads go through the ingest's message handler directly (the path
paho's on_message takes), and a few hundred through a real Mosquitto into a running
dashboard.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.ingest.mqtt import Ingest
from dashboard.settings import Settings
from dashboard.store.batch import EventMessage, Rejected
from dashboard.store.reader import Reader
from dashboard.store.writer import Writer
from edge.config_tables import changed
from tests.dashboard.conftest import publish, wait_until
from tests.dashboard.strategies import _BASE, broken_events, json_values
from tests.mqtt_broker import Broker

BATCH = 100
EXAMPLES = 105  # x BATCH = 10,500 payloads
EVENT = "hingewatch/kitchen/event"

valid_event = json.dumps(_BASE).encode()

malformed: st.SearchStrategy[tuple[str, bytes]] = st.one_of(
    # bytes that are not JSON, or JSON that is not an event
    st.tuples(st.just(EVENT), st.binary(min_size=1, max_size=200)),
    st.tuples(st.just(EVENT), json_values.map(lambda v: json.dumps(v).encode())),
    # an event broken in one place
    st.tuples(st.just(EVENT), broken_events().map(lambda e: json.dumps(e).encode())),
    # a valid event where it does not belong
    st.tuples(st.sampled_from(("hingewatch/nursery/event", "hingewatch/a b/event",
                               "hingewatch/kitchen/other", "hingewatch//event",
                               "other/kitchen/event", "hingewatch/kitchen/event/x")),
              st.just(valid_event)),
    # statuses and states that are neither
    st.tuples(st.just("hingewatch/kitchen/status"),
              st.binary(min_size=1, max_size=30).filter(
                  lambda b: b.decode("utf-8", "replace").strip() not in ("online", "offline"))),
    st.tuples(st.just("hingewatch/kitchen/state"),
              json_values.filter(lambda v: not isinstance(v, dict)).map(
                  lambda v: json.dumps(v).encode())),
    st.tuples(st.just("hingewatch/kitchen/state"), st.binary(min_size=1, max_size=50).filter(
        lambda b: not _is_json_object(b))),
    # too large to read
    st.just((EVENT, b"{" + b" " * (300 * 1024) + b"}")),
)


settings_for_fuzz = settings(
    max_examples=EXAMPLES, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.large_base_example],
)



def _is_json_object(data: bytes) -> bool:
    try:
        return isinstance(json.loads(data), dict)
    except ValueError:
        return False


def test_a_refused_message_with_nul_characters_is_counted_on_every_store(
        dash_settings: Settings) -> None:
    """PostgreSQL's text takes no NUL: a refused message carrying one must still be counted,
    not fail its batch (ingest would retry that batch for ever)."""
    writer = Writer(dash_settings.store, dash_settings.timezone)
    reader = Reader(dash_settings.store)
    try:
        result = writer.write_batch([Rejected("not_json", "hingewatch/ki\x00tchen/event",
                                              "not JSON: \x00 at 0")], "2026-12-05T00:00:00.000Z")
        assert result.rejected == 1
        assert reader.ingest_counts().rejected_total == 1
    finally:
        reader.close()
        writer.close()


def test_ten_thousand_malformed_payloads_are_all_counted(dash_settings: Settings) -> None:
    writer = Writer(dash_settings.store, dash_settings.timezone)
    reader = Reader(dash_settings.store)
    ingest = Ingest(dash_settings, writer)  # not started: we are paho's on_message here
    sent = 0

    @settings_for_fuzz
    @given(st.lists(malformed, min_size=BATCH, max_size=BATCH))
    def feed(messages: list[tuple[str, bytes]]) -> None:
        nonlocal sent
        for topic, payload in messages:
            verdict = ingest.handle(topic, payload)
            assert not isinstance(verdict, EventMessage), (topic, payload[:200])
        sent += len(messages)
        ingest.flush()

    feed()
    counts = reader.ingest_counts()
    assert sent >= 10_000
    assert counts.rejected_total == sent, {r.reason: r.count for r in counts.rejects}
    assert counts.by_kind == {}
    assert reader.event_total() == 0 and reader.devices() == []
    assert "internal_error" not in {r.reason for r in counts.rejects}
    # Ingest still takes a good event after all that.
    ingest.handle(EVENT, valid_event)
    ingest.flush()
    assert reader.event_total() == 1
    reader.close()
    writer.close()



@settings(max_examples=1, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(corpus=st.lists(malformed, min_size=250, max_size=250))
def test_malformed_messages_through_a_real_broker_are_counted(
    dash_settings: Settings, mosquitto: Broker, corpus: list[tuple[str, bytes]]
) -> None:
    from dashboard.web.server import Dashboard

    # Topics a broker refuses to publish on ('//' is fine, '+' and '#' are not) stay out.
    corpus = [m for m in corpus if "+" not in m[0] and "#" not in m[0]]
    dash = Dashboard(changed(dash_settings, {"mqtt_port": mosquitto.port})).start()
    try:
        assert dash.ingest is not None and dash.ingest.wait_connected(10)
        # Only what the dashboard subscribed to reaches it: hingewatch/<one level>/<kind>.
        reaching = [m for m in corpus if m[0].startswith("hingewatch/") and m[0].count("/") == 2
                    and m[0].rsplit("/", 1)[1] in ("event", "status", "state")]
        publish(mosquitto.port, corpus + [(EVENT, valid_event)])
        reader = Reader(dash_settings.store)
        try:
            wait_until(lambda: reader.ingest_counts().rejected_total >= len(reaching)
                       and reader.event_total() == 1, 20, "every message counted")
            counts = reader.ingest_counts()
            assert counts.rejected_total == len(reaching), counts
            assert counts.by_kind == {"event_stored": 1}
        finally:
            reader.close()
    finally:
        dash.stop()
