"""Households and access: an account sees only the households it was granted, in every
page, the API, the CSV and the report; a home's accounts see its one household.

Two households share one dashboard: smith (kitchen) and jones (garden). Anna was granted
smith, Ben jones, and Hugo (the home's kind of account) the default household, where the
devices no household claims are."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from dashboard.settings import Settings
from dashboard.store.writer import Writer
from dashboard.web import auth
from dashboard.web.server import Dashboard
from edge.events import BendEvent, now_ms
from tests.dashboard.conftest import PASSWORD, ROOT, login, make_settings, store_args
from tests.dashboard.factory import make_event
from tests.dashboard.test_store import ingest

HOUSEHOLDS = {"smith": "kitchen", "jones": "garden"}
WEEK = "2026-W48"
ACCOUNTS = {"anna": ("smith",), "ben": ("jones",), "carla": ("smith", "jones")}


def bends(device: str, n: int) -> list[BendEvent]:
    start = datetime(2026, 11, 24, 9, tzinfo=UTC)  # in WEEK
    return [make_event("hinge" if i % 2 else "round", start + timedelta(minutes=i),
                       device_id=device, frames=3) for i in range(n)]


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[Dashboard, dict[str, list[BendEvent]]]]:
    settings = make_settings(tmp_path_factory.mktemp("households"))
    writer = Writer(settings.store, settings.timezone)
    events = {"kitchen": bends("kitchen", 6), "garden": bends("garden", 4),
              "attic": bends("attic", 2)}  # in no household: the default one
    for device_events in events.values():
        ingest(writer, device_events)
    for household, device in HOUSEHOLDS.items():
        writer.put_devices(household, [device], now_ms())
    for name, granted in ACCOUNTS.items():
        writer.add_user(name, auth.hash_password(PASSWORD), "reviewer", now_ms(),
                        households=granted)
    writer.add_user("hugo", auth.hash_password(PASSWORD), "reviewer", now_ms())
    writer.close()
    dash = Dashboard(settings, ingest=False).start()
    yield dash, events
    dash.stop()


def ids(events: list[BendEvent]) -> set[str]:
    return {e.event_id for e in events}


@pytest.mark.parametrize(("user", "sees"), [
    ("anna", ("kitchen",)), ("ben", ("garden",)), ("carla", ("garden", "kitchen")),
    ("hugo", ("attic",)),
])
def test_the_api_csv_and_health_show_only_the_granted_households(
        homes: tuple[Dashboard, dict[str, list[BendEvent]]], user: str,
        sees: tuple[str, ...]) -> None:
    dash, events = homes
    client, _ = login(dash.url, user)
    mine = set().union(*(ids(events[d]) for d in sees))
    others = set().union(*(ids(v) for d, v in events.items() if d not in sees))
    page = client.get("/api/events", params={"limit": 200}).json()
    assert {e["event_id"] for e in page["events"]} == mine and page["total"] == len(mine)
    for event_id in list(others)[:3]:
        assert client.get(f"/api/events/{event_id}").status_code == 404
        assert client.get(f"/events/{event_id}").status_code == 404
    rows = list(csv.DictReader(io.StringIO(client.get("/export.csv").text)))
    assert {r["event_id"] for r in rows} == mine
    health = client.get("/api/health").json()
    assert sorted(d["device_id"] for d in health["devices"]) == sorted(sees)
    assert health["events_total"] == len(mine)
    # Health's totals are per household, the account's only; the store's own counters
    # span every household, so an account that does not see them all gets none of them.
    household_of = {**{d: h for h, d in HOUSEHOLDS.items()}, "attic": "home"}
    assert {h["household"]: (h["devices"], h["events"]) for h in health["households"]} == {
        household_of[d]: (1, len(events[d])) for d in sees}
    assert health["ingested"] == {}
    assert 'id="households"' in client.get("/health").text
    summary = client.get("/api/summary", params={"week": WEEK}).json()
    assert sum(summary["per_posture"].values()) == len(mine)
    for other in {"kitchen", "garden", "attic"} - set(sees):
        theirs = client.get("/api/summary", params={"week": WEEK, "device": other}).json()
        assert sum(theirs["per_posture"].values()) == 0
        assert other not in client.get("/devices").text
        assert other not in client.get("/report", params={"week": WEEK}).text
        assert other not in client.get("/week", params={"week": WEEK}).text
        assert other not in client.get("/").text


def test_a_reviewer_cannot_relabel_another_households_bend(
        homes: tuple[Dashboard, dict[str, list[BendEvent]]]) -> None:
    dash, events = homes
    client, csrf = login(dash.url, "anna")
    theirs = events["garden"][0].event_id
    r = client.post(f"/api/events/{theirs}/review", json={"label": "hinge", "note": "x"},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 404
    ben, _ = login(dash.url, "ben")
    assert ben.get(f"/api/events/{theirs}").json()["review"] is None


def test_a_page_visit_in_chromium_finds_no_other_household(
        homes: tuple[Dashboard, dict[str, list[BendEvent]]], browser: Any) -> None:
    dash, events = homes
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(dash.url + "login")
        page.fill("input[name=username]", "ben")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(dash.url)
        for path in ("", f"week?week={WEEK}", "events", "devices", "health",
                     f"report?week={WEEK}"):
            page.goto(dash.url + path)
            text = page.content()
            assert "kitchen" not in text and "attic" not in text, path
        page.goto(dash.url + "events")
        assert page.locator(f"a[href='/events/{events['garden'][0].event_id}']").count() == 1
        response = page.goto(dash.url + f"events/{events['kitchen'][0].event_id}")
        assert response is not None and response.status == 404
    finally:
        context.close()


def test_grant_and_household_add_from_the_command_line(tmp_path: Path) -> None:
    settings: Settings = make_settings(tmp_path)
    writer = Writer(settings.store, settings.timezone)
    ingest(writer, bends("porch", 2))
    writer.add_user("dora", auth.hash_password(PASSWORD), "viewer", now_ms(), households=())
    writer.close()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dashboard", *args, *store_args(settings)],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)

    missing = run("grant", "dora", "lee")
    assert missing.returncode == 2 and "no household 'lee'" in missing.stderr
    assert run("household", "add", "bad/name", "porch").returncode == 2
    assert run("household", "add", "lee", "porch").returncode == 0
    done = run("grant", "dora", "lee")
    assert done.returncode == 0, done.stderr
    assert run("grant", "nobody", "lee").returncode == 2
    with Dashboard(settings, ingest=False) as dash:
        client, _ = login(dash.url, "dora")
        assert client.get("/api/events").json()["total"] == 2


def test_schemathesis_as_one_household_finds_nothing_of_another(
        homes: tuple[Dashboard, dict[str, list[BendEvent]]]) -> None:
    """Every API operation, driven from its own document as Anna (smith): each answer
    matches the document and names no event or device of another household."""
    dash, events = homes
    client, csrf = login(dash.url, "anna")
    headers = {"Cookie": f"hw_session={client.cookies['hw_session']}", "X-CSRF-Token": csrf}
    client.close()
    theirs_ids = {e.event_id for d in ("garden", "attic") for e in events[d]}
    spec = httpx.get(dash.url + "api/openapi.json", timeout=10).json()
    api = schemathesis.openapi.from_dict(spec)
    # type: ignore on the next line: schemathesis results are loosely typed
    operations = [result.ok() for result in api.get_all_operations()]  # type: ignore[union-attr]
    calls = 0
    for operation in operations:

        @given(case=operation.as_strategy(schemathesis.GenerationMode.POSITIVE))
        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
        def run(case: schemathesis.Case) -> None:
            nonlocal calls
            response = case.call_and_validate(base_url=dash.url.rstrip("/"), headers=headers)
            text = response.text
            asked = f"{case.query} {case.path_parameters}"
            assert not any(i in text for i in theirs_ids), (case.operation.label, asked)
            for device in ("garden", "attic"):
                assert device in asked or device not in text, (case.operation.label, asked)
            calls += 1

        run()
    assert calls >= 4 * 10
