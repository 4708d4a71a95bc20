"""A database the dashboard cannot write: refused at start in one line; when it happens while
running, Health says so, ingest retries without acknowledging, and nothing is lost."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.settings import Settings
from dashboard.store.reader import Reader
from dashboard.store.writer import Writer
from dashboard.web.server import Dashboard
from edge.config_tables import changed
from tests.dashboard.conftest import ROOT, add_user, login, publish, wait_until
from tests.dashboard.factory import make_event
from tests.mqtt_broker import Broker

pytestmark = pytest.mark.sqlite_only

AS_ROOT = os.geteuid() == 0


@contextlib.contextmanager
def unwritable(db: Path, *, open_files_too: bool = False) -> Iterator[None]:
    """Make the database unwritable. Root writes any file, so as root it is made immutable
    (chattr +i, which also stops writes through handles already open)."""
    files = [db] + ([p for p in (Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]
                    if open_files_too else [])
    if AS_ROOT:
        if shutil.which("chattr") is None:
            pytest.fail("chattr is missing (e2fsprogs): needed to make a file unwritable as root")
        subprocess.run(["chattr", "+i", *map(str, files)], check=True, timeout=10)
    else:
        if open_files_too:
            pytest.skip("only root can make a file unwritable through a handle already open")
        for f in files:
            f.chmod(0o444)
    try:
        yield
    finally:
        if AS_ROOT:
            subprocess.run(["chattr", "-i", *map(str, files)], check=True, timeout=10)
        else:
            for f in files:
                f.chmod(0o644)


def test_an_unwritable_database_stops_the_start_in_one_line(dash_settings: Settings) -> None:
    db = dash_settings.db_path
    Writer(db, dash_settings.timezone).close()
    with unwritable(db):
        proc = subprocess.run(
            [sys.executable, "-m", "dashboard", "serve", "--port", "0", "--db", str(db),
             "--mqtt-port", "1", "--timezone", dash_settings.timezone],
            cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.startswith("hingewatch: error: cannot write to ")
    assert str(db) in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_health_shows_an_unwritable_database_and_ingest_recovers(
        dash_settings: Settings, mosquitto: Broker) -> None:
    now = datetime.now(UTC)
    first = [make_event("hinge", now - timedelta(minutes=10 + i), frames=2) for i in range(5)]
    later = [make_event("round", now - timedelta(minutes=1 + i), frames=2) for i in range(5)]
    with Dashboard(changed(dash_settings, {"mqtt_port": mosquitto.port})) as dash:
        assert dash.ingest is not None
        add_user(dash.writer, "anna", "viewer")
        client, _ = login(dash.url, "anna")
        reader = Reader(dash.settings.store)
        publish(mosquitto.port, [(f"hingewatch/{e.device_id}/event", e.to_json())
                                 for e in first])
        wait_until(lambda: reader.event_total() == 5, 15, "the first events")
        with unwritable(dash.settings.db_path, open_files_too=True):
            publish(mosquitto.port, [(f"hingewatch/{e.device_id}/event", e.to_json())
                                     for e in later])
            # type: ignore on the next line: the dashboard runs its ingest here
            wait_until(lambda: dash.ingest.status().store_error is not None, 30,  # type: ignore[union-attr]
                       "the failed write on Health")
            health = client.get("/api/health").json()["ingest"]
            assert "cannot" in health["store_error"] and health["received"] > health["written"]
            assert "The database cannot be written" in client.get("/health").text
        # Writable again: the held messages are stored, and Health clears.
        wait_until(lambda: reader.event_total() == 10, 30, "the held events stored")
        wait_until(lambda: client.get("/api/health").json()["ingest"]["store_error"] is None,
                   10, "Health cleared")
        client.close()
        reader.close()
