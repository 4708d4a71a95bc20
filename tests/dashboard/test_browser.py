"""A person's visit in real Chromium: log in, watch the week fill with events published to
a real Mosquitto, open a bend and its skeleton, relabel it, export CSV; a write without the
CSRF token is refused. Screenshots go to test-artifacts/dashboard/."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from dashboard.store.reader import Reader
from dashboard.web.server import Dashboard
from dashboard.web.words import REASON_WORDS as WORDS
from edge.config_tables import changed
from edge.delivery.state import DeviceState
from tests.dashboard.conftest import PASSWORD, add_user, log_in, make_settings, publish, wait_until
from tests.dashboard.factory import make_event, week_of_events
from tests.mqtt_broker import Broker


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, module_broker: Broker) -> Iterator[Dashboard]:
    settings = make_settings(tmp_path_factory.mktemp("browser"))
    dash = Dashboard(changed(settings, {"mqtt_port": module_broker.port})).start()
    assert dash.ingest is not None and dash.ingest.wait_connected(10)
    add_user(dash.writer, "anna", "reviewer")
    yield dash
    dash.stop()


@pytest.fixture
def page(browser: Any, artifacts: Path) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def shot(page: Any, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def test_a_reviewers_visit(site: Dashboard, module_broker: Broker, page: Any,
                           artifacts: Path) -> None:
    url = site.url
    page.goto(url)
    assert page.url.startswith(url + "login")
    shot(page, artifacts, "01-login")
    page.fill("input[name=username]", "anna")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url)
    page.wait_for_selector("#live-state.on")  # the live stream is open

    # Events arrive through the broker while the Today page is open.
    now = datetime.now(UTC)
    events = week_of_events(now - timedelta(minutes=2), per_day=6, days=7, frames=20,
                            unsure=0.15)
    events.append(make_event("round", now - timedelta(seconds=30), device_id="nursery",
                             activity="crib", simulated=True, frames=20))
    publish(module_broker.port, [(f"hingewatch/{e.device_id}/event", e.to_json())
                                 for e in events])
    publish(module_broker.port, [("hingewatch/kitchen/status", "online"),
                                 ("hingewatch/kitchen/state", DeviceState(
                                     "kitchen", person_present=True, posture_now="hinge",
                                     fps=14.7).to_json())], retain=True)
    reader = Reader(site.settings.store)
    wait_until(lambda: reader.event_total() == len(events), 20, "the events in the store")
    page.wait_for_selector(".bend .tag.sim")  # pushed by server-sent events, no reload
    page.wait_for_selector(".device.online")
    assert page.locator(".bend").count() >= 2
    shot(page, artifacts, "02-today-live")

    # This week's chart shows what was published.
    page.click("nav >> text=Week")
    page.wait_for_selector("#chart-bends svg")
    summary = page.request.get(url + "api/summary").json()
    today = next(d for d in summary["per_day"] if d["day"] == now.astimezone(
        site.settings.zone).date().isoformat())
    desc = page.locator("#chart-bends svg desc").text_content()
    label = datetime.fromisoformat(today["day"]).strftime("%a ") + str(
        int(today["day"][-2:]))
    assert (f"{label}: {today['hinge']} Hinge, {today['squat']} Squat, {today['round']} Rounded, "
            f"{today['unsure']} Unsure") in desc
    assert summary["totals"]["unsure"] > 0  # the grey band is drawn
    assert page.locator("#chart-bends svg rect.c-unsure").count() > 1
    assert today["hinge"] + today["round"] + today["squat"] > 0
    assert page.locator("#chart-bends svg rect").count() > 3
    assert "simulated" in page.locator(".notice.sim").text_content()
    shot(page, artifacts, "03-week")

    # Open the newest kitchen bend: its skeleton at the deepest moment, and the replay.
    page.click("nav >> text=Events")
    page.select_option("select[name=device]", "kitchen")
    page.click("form.filters button[type=submit]")
    page.click("table.events tbody tr:first-child td:first-child a")
    page.wait_for_selector("svg#skeleton")
    assert page.locator("svg#skeleton .sk-bone").count() == 35
    assert page.locator("svg#skeleton .sk-joint").count() == 33
    before = page.locator("svg#skeleton .sk-joint").nth(0).get_attribute("cy")
    page.click("#replay-play")
    expect(page.locator("#replay-time")).not_to_have_text("0.0 s")
    page.click("#replay-play")  # pause
    assert page.locator("svg#skeleton .sk-joint").nth(0).get_attribute("cy") != before
    page.locator("#replay-frame").fill("12")
    shot(page, artifacts, "04-event")
    event_id = page.url.rsplit("/", 1)[-1]
    original = page.locator(".verdict-box").first.locator(".badge").text_content()

    # Relabel it as not a bend, with a note; the device's verdict stays beside it.
    page.check("input[name=label][value=not_a_bend]")
    page.fill("textarea[name=note]", "reaching into the dryer, not bending")
    page.click("text=Save review")
    page.wait_for_selector("text=Review saved")
    boxes = page.locator(".verdict-box")
    assert boxes.nth(0).locator(".badge").text_content() == original
    assert boxes.nth(1).locator(".badge").text_content() == "Not a bend"
    shot(page, artifacts, "05-relabelled")

    # The weekly report, and its CSV with the review in it.
    page.click("nav >> text=Report")
    page.wait_for_selector("text=REBA trunk bands")
    shot(page, artifacts, "06-report")
    with page.expect_download() as download_info:
        page.click("#csv-week")
    rows = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text())))
    row = next(r for r in rows if r["event_id"] == event_id)
    assert row["review_label"] == "not_a_bend" and row["reviewer"] == "anna"
    assert row["review_note"] == "reaching into the dryer, not bending"
    assert {r["event_id"] for r in rows} <= {e.event_id for e in events}

    # Devices and health, to look at.
    page.click("nav >> text=Devices")
    page.wait_for_selector("text=14.7")
    shot(page, artifacts, "07-devices")
    page.click("nav >> text=Health")
    shot(page, artifacts, "08-health")
    reader.close()


def test_a_write_without_the_csrf_token_is_refused(site: Dashboard, page: Any,
                                                   artifacts: Path) -> None:
    url = site.url
    event = make_event("round", datetime.now(UTC), frames=5)
    site.writer.write_batch([_message(site, event)], "2026-01-01T00:00:00.000Z")
    log_in(page, url)
    page.goto(url + f"events/{event.event_id}")
    # A script on the page posting without the header: refused.
    status = page.evaluate(
        """async (id) => (await fetch(`/api/events/${id}/review`, {method: "POST",
             headers: {"Content-Type": "application/json"},
             body: JSON.stringify({label: "hinge"})})).status""", event.event_id)
    assert status == 403
    # The form with its token taken out: refused, and the page says why.
    page.evaluate("document.querySelector('.review-form input[name=csrf_token]').remove()")
    page.check("input[name=label][value=hinge]")
    page.click("text=Save review")
    page.wait_for_selector("text=CSRF")
    assert "Not allowed" in page.locator("h1").text_content()
    shot(page, artifacts, "09-csrf-refused")
    reader = Reader(site.settings.store)
    # type: ignore on the next line: the event was stored above
    assert reader.event(event.event_id).review is None  # type: ignore[union-attr]
    reader.close()


def test_the_week_on_a_phone(site: Dashboard, browser: Any, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    log_in(page, site.url)
    page.goto(site.url + "week")
    # Nothing wider than the screen: no sideways scrolling of the page.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, artifacts, "10-phone-week")
    page.goto(site.url + "events")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, artifacts, "11-phone-events")
    context.close()


# The stylesheet's --unsure grey, as the browser computes it.
GREY = "rgb(100, 109, 117)"


def test_an_unsure_bend_is_grey_with_its_reason(site: Dashboard, module_broker: Broker,
                                                page: Any, artifacts: Path) -> None:
    url = site.url
    log_in(page, url)
    page.wait_for_selector("#live-state.on")
    # A hingewatch.bend/2 event arrives while Today is open: the back was hidden.
    event = make_event("unsure", datetime.now(UTC) - timedelta(seconds=5), device_id="hall",
                       reasons=("back_hidden",), frames=10)
    publish(module_broker.port, [(f"hingewatch/{event.device_id}/event", event.to_json())])
    bend = page.locator(f'.bend a[href="/events/{event.event_id}"]')
    bend.wait_for()  # pushed by server-sent events, no reload
    badge = bend.locator(".badge")
    assert badge.text_content() == "Unsure"
    assert badge.evaluate("b => getComputedStyle(b).backgroundColor") == GREY
    assert bend.evaluate("a => getComputedStyle(a).borderLeftColor") == GREY
    why = bend.locator(".why")
    assert why.text_content() == WORDS["back_hidden"] and why.is_visible()
    shot(page, artifacts, "12-today-unsure")

    bend.click()
    page.wait_for_selector("svg#skeleton")
    head = page.locator("h1 .badge")
    assert head.text_content() == "Unsure"
    assert head.evaluate("b => getComputedStyle(b).backgroundColor") == GREY
    trunk = page.locator("svg#skeleton .sk-trunk").first
    assert trunk.evaluate("t => getComputedStyle(t).stroke") == GREY
    assert page.locator("ul.reasons li").all_text_contents() == [WORDS["back_hidden"]]
    assert page.locator("text=Why the device could not tell").is_visible()
    shot(page, artifacts, "13-event-unsure")


def _message(site: Dashboard, event: Any) -> Any:
    from dashboard.ingest.messages import classify

    return classify(f"hingewatch/{event.device_id}/event", event.to_json().encode(),
                    site.settings.zone, "2026-01-01T00:00:00.000Z")
