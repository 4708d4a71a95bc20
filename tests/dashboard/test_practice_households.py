"""Practice sessions and cut-off adjustments are a device's, so an account sees (and acts
on) only those of its households' devices, on both stores: the Week page's practice, the
Tuning page, an undo, a practice start. And the practice migration (2, as released) comes
before the households' (3): a home database at 2 upgrades.

Two households: smith (kitchen) and jones (garden); anna was granted smith only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dashboard.ingest.messages import classify
from dashboard.settings import Settings
from dashboard.store import migrations, scope
from dashboard.store.reader import Reader
from dashboard.store.writer import Writer
from dashboard.web import auth
from dashboard.web.server import Dashboard
from edge.delivery.topics import practice_topic
from edge.events import now_ms
from tests.dashboard.conftest import PASSWORD, login, make_settings
from tests.dashboard.factory import make_event
from tests.dashboard.test_practice_store import NOW, summary
from tests.dashboard.test_store import ingest

DAY = datetime(2026, 11, 25, 9, tzinfo=UTC)  # in 2026-W48
WEEK = "2026-W48"


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    settings = make_settings(tmp_path_factory.mktemp("practice-households"))
    writer = Writer(settings.store, settings.timezone)
    zone = ZoneInfo(settings.timezone)
    ingest(writer, [make_event("hinge", DAY, device_id=d, frames=3)
                    for d in ("kitchen", "garden")])
    writer.write_batch(
        [classify(practice_topic("kitchen"), json.dumps(summary("kitchen", at=DAY, reps=5,
                                                                good=4)).encode(), zone, NOW),
         classify(practice_topic("garden"), json.dumps(summary("garden", at=DAY, reps=7,
                                                               good=1)).encode(), zone, NOW)],
        NOW)
    for household, device in (("smith", "kitchen"), ("jones", "garden")):
        writer.put_devices(household, [device], now_ms())
        writer.accept_adjustment(device, (0.03, 0.045, 60.0), 0.5, 1.0, 28, "root", NOW)
    writer.add_user("anna", auth.hash_password(PASSWORD), "reviewer", now_ms(),
                    households=("smith",))
    writer.close()
    dash = Dashboard(settings, ingest=False).start()
    yield dash
    dash.stop()


def test_the_store_reads_only_the_accounts_practice_and_adjustments(homes: Dashboard) -> None:
    reader = Reader(homes.settings.store)
    try:
        every = reader.practice_days("2026-11-23", "2026-11-29", None)
        assert [(p.sessions, p.reps) for p in every] == [(2, 12)]  # no scope: everything
        with scope.reading_as("anna"):
            [mine] = reader.practice_days("2026-11-23", "2026-11-29", None)
            assert (mine.sessions, mine.reps, mine.good) == (1, 5, 4)
            assert reader.practice_days("2026-11-23", "2026-11-29", "garden") == []
            assert reader.active_adjustment("kitchen") is not None
            assert reader.active_adjustment("garden") is None
        assert reader.active_adjustment("garden") is not None
    finally:
        reader.close()


def test_pages_and_actions_on_another_households_device_are_refused(homes: Dashboard) -> None:
    client, csrf = login(homes.url, "anna")
    try:
        week = client.get("/week", params={"week": WEEK}).text
        row = week.split('class="practised"')[1].split("</tr>")[0]
        assert '<td data-label="Practice sessions" class="num">1</td>' in row
        assert '<td data-label="Reps" class="num">5</td>' in row
        assert client.get("/devices/kitchen/tuning").status_code == 200
        assert client.get("/devices/garden/tuning").status_code == 400  # not one of hers
        r = client.post("/devices/garden/tuning/undo", data={"csrf_token": csrf},
                        headers={"x-csrf-token": csrf})
        assert r.status_code == 400
        r = client.post("/api/practice/start", json={"device": "garden", "drill": "wall_hinge"},
                        headers={"x-csrf-token": csrf})
        assert r.status_code == 400
    finally:
        client.close()
    # The undo refused above left jones's adjustment active.
    reader = Reader(homes.settings.store)
    assert reader.active_adjustment("garden") is not None
    reader.close()


def test_a_home_database_with_practice_upgrades_to_households(
        dash_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """A home database at main's version 2 (practice) gets the households (now 3) and keeps
    its practice sessions, which its account still sees."""
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:2])
    writer = Writer(dash_settings.store, "UTC")
    assert writer.migrate() == 2
    writer.write_batch([classify(practice_topic("kitchen"), json.dumps(
        summary("kitchen", at=DAY)).encode(), ZoneInfo("UTC"), NOW)], NOW)
    writer.close()
    monkeypatch.undo()
    writer = Writer(dash_settings.store, "UTC")
    assert writer.migrate() == migrations.MIGRATIONS[-1][0] >= 3
    writer.add_user("hugo", "hash", "viewer", NOW)  # granted the default household
    writer.close()
    reader = Reader(dash_settings.store)
    with scope.reading_as("hugo"):
        assert [p.sessions for p in reader.practice_days("2026-11-23", "2026-11-29", None)] == [1]
    reader.close()


def test_a_time_zone_change_re_dates_practice_sessions(dash_settings: Settings) -> None:
    late = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)  # the 26th in Amsterdam
    writer = Writer(dash_settings.store, "UTC")
    writer.write_batch([classify(practice_topic("kitchen"), json.dumps(
        summary("kitchen", at=late)).encode(), ZoneInfo("UTC"), NOW)], NOW)
    writer.close()
    reader = Reader(dash_settings.store)
    assert [p.day for p in reader.practice_days("2026-11-23", "2026-11-29", None)] == [
        "2026-11-25"]
    Writer(dash_settings.store, "Europe/Amsterdam").close()
    assert [p.day for p in reader.practice_days("2026-11-23", "2026-11-29", None)] == [
        "2026-11-26"]
    reader.close()
