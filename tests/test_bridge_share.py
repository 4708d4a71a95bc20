"""The centre's ACL with shared subscriptions: the centre's Mosquitto as the shipped
systemd/mosquitto-centre.conf and .acl plus what `install.sh --centre-acl` prints for each
home (tests/test_bridge.py's `start_centre`). Two ingest clients of the `dashboard`
account share the events through the `$share/...` subscriptions ingest makes; a home's
account joining the same share group gets none, so it can neither read other homes'
events nor take events away from the ingest. Every wait is on a condition with a bound.
"""

from __future__ import annotations

import secrets
import ssl
from pathlib import Path

from dashboard.ingest.mqtt import subscriptions
from tests.mqtt_broker import Collector, Publisher, free_port, make_tls_files
from tests.test_bridge import (
    ARRIVE_S,
    DASHBOARD_PASSWORD,
    HOME_SECRETS,
    event,
    start_centre,
)

GROUP = f"ingest-{secrets.token_hex(8)}"  # as the README says: a name nobody guesses
N = 60


def test_ingest_accounts_share_the_events_and_a_home_account_gets_none(tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path / "tls")
    ingest_port = free_port()
    centre = start_centre(tmp_path / "centre", tls, ingest_port)
    topics = [topic for topic, _ in subscriptions(GROUP)]
    assert f"$share/{GROUP}/hingewatch/+/event" in topics
    started: list[Collector | Publisher] = []
    try:
        ingest = [Collector(ingest_port, topics, client_id=f"ingest-{i}", username="dashboard",
                            password=DASHBOARD_PASSWORD).start() for i in (1, 2)]
        started += ingest
        context = ssl.create_default_context(cafile=str(tls.ca_file))
        # home-jones reads the way ingest does, in the group anyone would guess, and all.
        guessed = [topic for topic, _ in subscriptions("hingewatch")] + ["hingewatch/#"]
        jones = Collector(centre.port, guessed, client_id="jones-reads", username="home-jones",
                          password=HOME_SECRETS["home-jones"], ssl_context=context).start()
        started.append(jones)
        smith = Publisher(centre.port, client_id="smith", username="home-smith",
                          password=HOME_SECRETS["home-smith"], ssl_context=context)
        started.append(smith)
        sent = [event(i) for i in range(N)]
        for payload in sent:
            assert smith.publish("hingewatch/kitchen/event", payload) == 0

        def taken() -> list[bytes]:
            return sorted(m.payload for c in ingest for m in c.snapshot())

        assert ingest[0].wait_for(lambda _: len(taken()) >= N, ARRIVE_S), len(taken())
        assert taken() == sorted(sent)  # each event to one ingest client, none twice
        assert all(c.snapshot() for c in ingest)  # shared between both, not all to one
        # A sentinel after them: the home's reader would have had its share by now.
        assert smith.publish("hingewatch/kitchen/event", event(N)) == 0
        assert ingest[0].wait_for(lambda _: len(taken()) > N, ARRIVE_S)
        assert jones.snapshot() == []
    finally:
        for client in started:
            client.stop()
        centre.stop()
