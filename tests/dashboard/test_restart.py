"""The dashboard restarts (cleanly, and killed) while events flow: nothing is lost.

The dashboard runs as its own process (`python -m dashboard serve`), as in production. Its
persistent MQTT session makes the broker queue what arrives while it is down, and it
acknowledges each event only after committing it, so even SIGKILL loses nothing.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from dashboard.store.reader import Reader
from dashboard.store.sql import EventQuery
from tests.dashboard.conftest import ROOT, ZONE, publish, wait_until
from tests.dashboard.factory import make_event, now_utc
from tests.mqtt_broker import Broker

pytestmark = pytest.mark.sqlite_only

N_EVENTS = 450
RATE_HZ = 150.0


class DashboardProcess:
    def __init__(self, db: Path, broker_port: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dashboard", "serve", "--db", str(db), "--port", "0",
             "--mqtt-port", str(broker_port), "--client-id", "dash-restart-test",
             "--timezone", ZONE, "--allow-localhost"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.url = self._read_url()
        wait_until(self.connected, 20, "the dashboard's MQTT connection")

    def _read_url(self) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            found = re.search(r"open (http://\S+/)", line)
            if found:
                return found[1]
            if not line and self.proc.poll() is not None:
                break
        raise AssertionError(f"the dashboard did not start (exit {self.proc.poll()})")

    def connected(self) -> bool:
        health = httpx.get(self.url + "api/health", timeout=5).json()
        return bool(health["ingest"] and health["ingest"]["connected"])

    def stop(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)
        self.proc.wait(20)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def test_restarts_while_events_flow_lose_nothing(tmp_path: Path, mosquitto: Broker) -> None:
    db = tmp_path / "dashboard.sqlite3"
    start = now_utc()
    events = [make_event("hinge", start, frames=8) for _ in range(N_EVENTS)]
    sent = threading.Event()
    published: list[str] = []

    def publisher() -> None:
        for i in range(0, N_EVENTS, 15):
            chunk = events[i:i + 15]
            publish(mosquitto.port, [(f"hingewatch/{e.device_id}/event", e.to_json())
                                     for e in chunk])
            published.extend(e.event_id for e in chunk)
            time.sleep(len(chunk) / RATE_HZ)
        sent.set()

    first = DashboardProcess(db, mosquitto.port)
    flow = threading.Thread(target=publisher)
    flow.start()
    wait_until(lambda: len(published) >= 90, 30, "the first events")
    first.stop(signal.SIGTERM)                     # a clean stop mid-stream
    wait_until(lambda: len(published) >= 180, 30, "events while the dashboard is down")
    second = DashboardProcess(db, mosquitto.port)
    wait_until(lambda: len(published) >= 300, 30, "more events")
    second.stop(signal.SIGKILL)                    # a crash mid-stream
    third = DashboardProcess(db, mosquitto.port)
    flow.join(60)
    assert sent.is_set()
    reader = Reader(db)
    try:
        wait_until(lambda: reader.event_total() == N_EVENTS, 30,
                   f"all {N_EVENTS} events stored")
        stored = {e.event_id for e in reader.iter_events(EventQuery())}
        assert stored == set(published) == {e.event_id for e in events}
        counts = reader.ingest_counts()
        assert counts.by_kind["event_stored"] == N_EVENTS
        assert counts.rejected_total == 0
    finally:
        reader.close()
        third.stop(signal.SIGTERM)
