"""Pages, login, roles, CSRF and the JSON API, over real HTTP to the real server."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from dashboard.ingest.messages import classify
from dashboard.store.summary import IsoWeek
from dashboard.web.server import Dashboard
from tests.dashboard.conftest import PASSWORD, add_user, login, make_settings
from tests.dashboard.factory import make_event, week_of_events

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    settings = make_settings(tmp_path_factory.mktemp("web"))
    dash = Dashboard(settings, ingest=False).start()
    add_user(dash.writer, "anna", "reviewer")
    add_user(dash.writer, "vic", "viewer")
    events = week_of_events(NOW, per_day=4, frames=3)
    events.append(make_event("round", NOW, simulated=True, device_id="nursery", frames=3))
    zone = ZoneInfo(settings.timezone)
    dash.writer.write_batch([classify(f"hingewatch/{e.device_id}/event", e.to_json().encode(),
                                      zone, "2026-01-01T00:00:00.000Z") for e in events],
                            "2026-01-01T00:00:00.000Z")
    dash.app.state.events = events
    yield dash
    dash.stop()


@pytest.fixture(scope="module")
def anna(web: Dashboard) -> Iterator[tuple[httpx.Client, str]]:
    client, csrf = login(web.url, "anna")
    yield client, csrf
    client.close()


def some_event(web: Dashboard, simulated: bool = False) -> str:
    return next(e.event_id for e in web.app.state.events if e.simulated == simulated)


def test_pages_need_a_login(web: Dashboard) -> None:
    with httpx.Client(base_url=web.url) as c:
        for path in ("/", "/week?week=2026-W48", "/events", "/report", "/devices", "/health",
                     "/export.csv"):
            r = c.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/")
        for path in ("/api/events", "/api/summary", "/api/health", "/live/today"):
            r = c.get(path)
            assert r.status_code == 401 and r.json()["detail"].startswith("log in")


def test_login_sets_a_new_httponly_samesite_cookie(web: Dashboard) -> None:
    with httpx.Client(base_url=web.url) as c:
        page = c.get("/login")
        before = c.cookies["hw_session"]
        cookie = page.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
        # type: ignore on the next line: the form always carries the token; a miss fails the test
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]  # type: ignore[index]
        wrong = c.post("/login", data={"username": "anna", "password": "nope",
                                       "csrf_token": csrf, "next": "/"})
        assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
        nobody = c.post("/login", data={"username": "zed", "password": PASSWORD,
                                        "csrf_token": csrf})
        assert nobody.status_code == 401
        ok = c.post("/login", data={"username": "anna", "password": PASSWORD,
                                    "csrf_token": csrf, "next": "//evil.example/x"})
        assert ok.status_code == 303 and ok.headers["location"] == "/"
        assert "HttpOnly" in ok.headers["set-cookie"]
        assert c.cookies["hw_session"] != before  # a planted cookie is worth nothing
        assert c.get("/").status_code == 200


def test_login_without_its_csrf_token_is_refused(web: Dashboard) -> None:
    with httpx.Client(base_url=web.url) as c:
        c.get("/login")
        r = c.post("/login", data={"username": "anna", "password": PASSWORD})
        assert r.status_code == 403


def test_every_page_renders_with_local_assets_only(web: Dashboard,
                                                   anna: tuple[httpx.Client, str]) -> None:
    client, _ = anna
    event_id = some_event(web, simulated=True)
    for path in ("/", "/week", "/week?week=2026-W01", "/events", "/events?posture=round&page=2",
                 f"/events/{event_id}", "/report", "/devices", "/health"):
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        assert "default-src 'self'" in r.headers["content-security-policy"]
        refs = re.findall(r'(?:src|href)="([^"#?]*)', r.text)
        assert all(not ref.startswith(("http:", "https:", "//")) for ref in refs), refs
    simulated = client.get(f"/events/{event_id}").text
    assert "simulated" in simulated.lower()
    for asset in ("/static/style.css", "/static/live.js", "/static/replay.js",
                  "/static/icon.svg"):
        assert client.get(asset).status_code == 200


def test_bad_parameters_are_a_400_page_not_a_crash(anna: tuple[httpx.Client, str]) -> None:
    client, _ = anna
    for path in ("/week?week=2026-W99", "/week?week=yesterday", "/events?posture=bent",
                 "/events?start=24.11.2026", "/events?page=abc", "/week?device=nope",
                 "/report?week=2026-W00"):
        r = client.get(path)
        assert r.status_code == 400 and "<h1>" in r.text, path
    assert client.get("/events/01HZZZZZZZZZZZZZZZZZZZZZZZ").status_code == 404
    assert client.get("/api/events/01HZZZZZZZZZZZZZZZZZZZZZZZ").status_code == 404
    assert client.get("/api/summary?week=2026-W99").status_code == 422


def test_review_by_form_keeps_the_devices_verdict(web: Dashboard,
                                                 anna: tuple[httpx.Client, str]) -> None:
    client, csrf = anna
    event = next(e for e in web.app.state.events if e.posture == "round")
    r = client.post(f"/events/{event.event_id}/review",
                    data={"label": "hinge", "note": "=HYPERLINK(\"x\") fine", "csrf_token": csrf})
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "Review saved" in page
    assert re.search(r"Device said.*Rounded back", page, re.S)
    assert re.search(r"Reviewer said.*Hip hinge", page, re.S)
    api = client.get(f"/api/events/{event.event_id}").json()
    assert api["posture"] == "round" and api["effective_posture"] == "hinge"
    assert api["review"]["reviewer"] == "anna" and len(api["skeleton"]) == 33
    rows = list(csv.DictReader(io.StringIO(client.get("/export.csv").text)))
    row = next(r for r in rows if r["event_id"] == event.event_id)
    assert (row["posture"], row["review_label"]) == ("round", "hinge")
    assert row["review_note"].startswith("'=HYPERLINK")  # no formula for the spreadsheet


def test_writes_without_the_csrf_token_are_refused(web: Dashboard,
                                                   anna: tuple[httpx.Client, str]) -> None:
    client, csrf = anna
    event_id = some_event(web)
    url = f"/events/{event_id}/review"
    assert client.post(url, data={"label": "squat"}).status_code == 403
    assert client.post(url, data={"label": "squat", "csrf_token": "0" * 64}).status_code == 403
    api = f"/api/events/{event_id}/review"
    assert client.post(api, json={"label": "squat"}).status_code == 403
    assert client.post(api, json={"label": "squat"},
                       headers={"X-CSRF-Token": "nope"}).status_code == 403
    ok = client.post(api, json={"label": "squat", "note": "knees first"},
                     headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json()["label"] == "squat"
    # A token from another session does not work here.
    other, other_csrf = login(web.url, "anna")
    assert client.post(api, json={"label": "hinge"},
                       headers={"X-CSRF-Token": other_csrf}).status_code == 403
    other.close()


def test_a_viewer_can_look_but_not_review(web: Dashboard) -> None:
    client, csrf = login(web.url, "vic")
    event_id = some_event(web)
    assert client.get(f"/events/{event_id}").status_code == 200
    assert "Save review" not in client.get(f"/events/{event_id}").text
    r = client.post(f"/api/events/{event_id}/review", json={"label": "hinge"},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and "viewer" in r.json()["detail"]
    client.close()


def test_logout_needs_csrf_and_ends_the_session(web: Dashboard) -> None:
    client, csrf = login(web.url, "anna")
    assert client.post("/logout").status_code == 403
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert client.get("/").status_code == 303
    client.close()


def test_the_api_pages_and_sums(web: Dashboard, anna: tuple[httpx.Client, str]) -> None:
    client, _ = anna
    total = len(web.app.state.events)
    first = client.get("/api/events?limit=5").json()
    assert first["total"] == total and len(first["events"]) == 5 and first["next_offset"] == 5
    last = client.get(f"/api/events?limit=5&offset={total - 2}").json()
    assert len(last["events"]) == 2 and last["next_offset"] is None
    sims = client.get("/api/events?simulated=true").json()
    assert sims["total"] == 1 and sims["events"][0]["simulated"] is True
    week = IsoWeek.of(datetime.now(ZoneInfo(web.settings.timezone)).date())
    summary = client.get(f"/api/summary?week={week}").json()
    assert summary["week"] == str(week) and len(summary["per_day"]) == 7
    assert summary["totals"]["bends"] == sum(d["hinge"] + d["round"] + d["squat"]
                                             for d in summary["per_day"])
    assert len(summary["trend"]) == 8
    health = client.get("/api/health").json()
    assert health["ingest"] is None and health["events_total"] == total
    spec = client.get("/api/openapi.json").json()
    assert {"/api/events", "/api/summary", "/api/health",
            "/api/events/{event_id}/review"} <= set(spec["paths"])


def test_localhost_may_come_in_without_a_login(tmp_path_factory: pytest.TempPathFactory) -> None:
    settings = make_settings(tmp_path_factory.mktemp("local"), allow_localhost=True)
    with Dashboard(settings, ingest=False) as dash, httpx.Client(base_url=dash.url) as c:
        assert c.get("/").status_code == 200
        assert c.get("/api/health").status_code == 200
        # ...but a write still needs the page's CSRF token.
        r = c.post("/api/events/01HZZZZZZZZZZZZZZZZZZZZZZZ/review", json={"label": "hinge"})
        assert r.status_code == 403
        # type: ignore on the next line: every page carries the token; a miss fails the test
        token = re.search(r'<meta name="csrf" content="([^"]+)"', c.get("/").text)[1]  # type: ignore[index]
        r = c.post("/api/events/01HZZZZZZZZZZZZZZZZZZZZZZZ/review", json={"label": "hinge"},
                   headers={"X-CSRF-Token": token})
        assert r.status_code == 404
