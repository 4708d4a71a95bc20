"""What only the PostgreSQL store has to show (the rest of tests/dashboard runs on both):
a wrong URL's one-line error, an account made on it from the command line, processes that
migrate at once, and a server that is down then back."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dashboard.errors import StoreError
from dashboard.store import migrations
from dashboard.store.reader import Reader
from dashboard.store.writer import Writer
from tests.dashboard.conftest import ROOT, ZONE, assert_config_refused, new_store_url
from tests.dashboard.factory import make_event
from tests.dashboard.test_store import ingest
from tests.postgres_server import Postgres


@pytest.fixture
def url(store_kind: str) -> str:
    if store_kind != "postgresql":
        pytest.skip("a PostgreSQL test")
    found = new_store_url()
    assert found is not None
    return found


@pytest.mark.storeless
def test_a_db_url_that_is_not_postgresql_names_the_key_and_the_file(tmp_path: Path) -> None:
    assert_config_refused(tmp_path, '[dashboard]\ndb_url = "mysql://u@h/db"\n',
                          r"db_url: expected a postgresql:// URL")


def test_adduser_on_postgresql_from_the_command_line(url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "adduser", "anna", "--role", "reviewer",
         "--password-stdin", "--db-url", url],
        cwd=ROOT, input="correct horse battery\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    creds = Reader(url).user_credentials("anna")
    assert creds is not None and creds[0].role == "reviewer"


def test_processes_that_migrate_at_once_make_the_schema_once(url: str) -> None:
    versions: list[int] = []
    failures: list[BaseException] = []

    def open_one() -> None:
        try:
            w = Writer(url, ZONE)
            versions.append(w.migrate())
            w.close()
        except BaseException as exc:  # noqa: BLE001 - reported by the assert below
            failures.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    assert versions == [migrations.MIGRATIONS[-1][0]] * 4


def test_a_write_while_the_server_is_down_fails_in_one_line_and_works_after(
        url: str, postgres: Postgres) -> None:
    writer = Writer(url, ZONE)
    first = make_event("hinge", datetime(2026, 11, 24, 9, tzinfo=UTC), frames=2)
    ingest(writer, [first])
    postgres.stop()
    try:
        with pytest.raises(StoreError) as caught:
            ingest(writer, [make_event("round", datetime(2026, 11, 24, 10, tzinfo=UTC),
                                       frames=2)])
        assert "\n" not in str(caught.value) and "127.0.0.1" in str(caught.value)
    finally:
        postgres.start()
    second = make_event("round", datetime(2026, 11, 24, 11, tzinfo=UTC), frames=2)
    ingest(writer, [second])  # a new connection: the broken one is not reused
    writer.close()
    reader = Reader(url)
    assert reader.event_total() == 2
    reader.close()
