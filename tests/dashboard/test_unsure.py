"""Unsure bends (hingewatch.bend/2) beside version 1 events, through a real Mosquitto into
the running dashboard: stored and counted as bends, left out of the hinge share, shown in
grey with their reason, filtered, relabelled; a /1 event that says `unsure` is refused."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dashboard.store.reader import Reader
from dashboard.store.summary import IsoWeek
from dashboard.web.server import Dashboard
from dashboard.web.words import CHECK_WORDS, REASON_WORDS
from edge.delivery.state import DeviceState
from tests.dashboard.conftest import add_user, login, publish, wait_until
from tests.dashboard.factory import make_event
from tests.mqtt_broker import Broker

TOPIC = "hingewatch/kitchen/event"


def as_version(posture: str, started: datetime, schema_id: str, **kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(make_event(posture, started, frames=2, **kw).to_json())
    data["schema"] = schema_id
    return data


def rejected(reader: Reader) -> dict[str, int]:
    return {r.reason: r.count for r in reader.ingest_counts().rejects}


@pytest.fixture
def anna(running: Dashboard) -> httpx.Client:
    add_user(running.writer, "anna", "reviewer")
    client, csrf = login(running.url, "anna")
    client.headers["X-CSRF-Token"] = csrf
    return client


def test_both_versions_are_stored_and_a_v1_unsure_is_refused(
        running: Dashboard, mosquitto: Broker, anna: httpx.Client) -> None:
    start = datetime.now(UTC) - timedelta(minutes=30)
    v1 = as_version("hinge", start, "hingewatch.bend/1")
    v2 = as_version("unsure", start + timedelta(minutes=1), "hingewatch.bend/2",
                    reasons=("back_hidden",))
    v1_unsure = as_version("unsure", start + timedelta(minutes=2), "hingewatch.bend/1")
    publish(mosquitto.port, [(TOPIC, json.dumps(e)) for e in (v1, v2, v1_unsure)])
    reader = Reader(running.settings.store)
    wait_until(lambda: reader.event_total() + sum(rejected(reader).values()) == 3, 20,
               "every event stored or refused")
    assert reader.event_total() == 2
    assert rejected(reader) == {"invalid": 1}
    (reject,) = reader.ingest_counts().rejects
    assert "in hingewatch.bend/1" in reject.last_detail, reject.last_detail
    stored = {e["event_id"]: e for e in anna.get("/api/events").json()["events"]}
    assert set(stored) == {v1["event_id"], v2["event_id"]}
    assert stored[v2["event_id"]]["posture"] == "unsure"
    assert stored[v2["event_id"]]["effective_posture"] == "unsure"
    assert stored[v2["event_id"]]["reasons"] == ["back_hidden"]
    health = anna.get("/health").text
    assert "Rejected" in health and "in hingewatch.bend/1" in health
    reader.close()


def test_unsure_bends_count_as_bends_but_not_in_hinge_share(
        running: Dashboard, mosquitto: Broker, anna: httpx.Client) -> None:
    # Today, a few minutes apart: 3 hinges, 1 rounded back, 4 unsure bends.
    now = datetime.now(UTC)
    start = now - timedelta(minutes=20)
    postures = ["hinge", "hinge", "hinge", "round", "unsure", "unsure", "unsure", "unsure"]
    events = [make_event(p, start + timedelta(seconds=20 * i), frames=2)
              for i, p in enumerate(postures)]
    publish(mosquitto.port, [(TOPIC, e.to_json()) for e in events])
    reader = Reader(running.settings.store)
    wait_until(lambda: reader.event_total() == len(events), 20, "the events stored")
    reader.close()
    week = IsoWeek.of(datetime.now(running.settings.zone).date())
    totals = anna.get(f"/api/summary?week={week}").json()["totals"]
    assert (totals["hinge"], totals["round"], totals["unsure"], totals["bends"]) == (3, 1, 4, 8)
    assert totals["hinge_share"] == 0.75  # 3 / (3 + 1): the unsure bends count neither way
    summary = anna.get(f"/api/summary?week={week}").json()
    assert summary["per_posture"]["unsure"] == 4
    deep = sum(e.metrics.time_beyond_60_deg_s for e in events)
    assert summary["deep_s"] == pytest.approx(deep)  # unsure bends' time bent is in it
    unsure_only = anna.get("/api/events?posture=unsure").json()
    assert unsure_only["total"] == 4
    assert {e["posture"] for e in unsure_only["events"]} == {"unsure"}

    # The Week page draws them as their own grey band; Today, Events and the Report say so.
    week_page = anna.get(f"/week?week={week}").text
    assert 'class="c-unsure"' in week_page and ">Unsure<" in week_page
    today = anna.get("/").text
    assert today.count('class="bend p-unsure"') == 4
    assert today.count(REASON_WORDS["front_view"]) == 4
    assert re.search(r'c-unsure-t">4<', today)
    events_page = anna.get("/events?posture=unsure").text
    assert events_page.count('<tr class="p-unsure">') == 4
    assert '<option value="unsure" selected>Unsure</option>' in events_page
    report = anna.get(f"/report?week={week}").text
    assert "4 unsure" in report and "75%" in report

    # A reviewer relabels an unsure bend a hinge: now it counts in the share.
    target = unsure_only["events"][0]["event_id"]
    r = anna.post(f"/api/events/{target}/review", json={"label": "hinge"})
    assert r.status_code == 200 and r.json()["original_posture"] == "unsure"
    totals = anna.get(f"/api/summary?week={week}").json()["totals"]
    assert (totals["hinge"], totals["unsure"], totals["bends"]) == (4, 3, 8)
    assert totals["hinge_share"] == 0.8


def test_the_event_page_says_why_in_words(running: Dashboard, mosquitto: Broker,
                                          anna: httpx.Client) -> None:
    event = make_event("unsure", datetime.now(UTC) - timedelta(minutes=3), frames=3,
                       reasons=("back_hidden", "back_unclear"))
    publish(mosquitto.port, [(TOPIC, event.to_json())])
    reader = Reader(running.settings.store)
    wait_until(lambda: reader.event_total() == 1, 20, "the event stored")
    reader.close()
    page = anna.get(f"/events/{event.event_id}").text
    assert '<span class="badge p-unsure">Unsure</span>' in page
    assert "Why the device could not tell" in page
    assert REASON_WORDS["back_hidden"] in page and REASON_WORDS["back_unclear"] in page
    assert 'class="skeleton posture-unsure"' in page
    # The review offers every label; none is preselected for an unsure verdict.
    assert re.findall(r'name="label" value="(\w+)"', page) == [
        "hinge", "round", "squat", "not_a_bend"]
    assert 'checked' not in page.split('id="review"')[1].split("</fieldset>")[0]


def test_states_of_both_versions_and_the_outbox_dead_are_shown(
        running: Dashboard, mosquitto: Broker, anna: httpx.Client) -> None:
    v2 = DeviceState("kitchen", person_present=True, posture_now="unsure",
                     last_posture="unsure", outbox_dead=3, pose_precision="int8").to_json()
    v1 = json.loads(DeviceState("hall", posture_now="hinge").to_json())
    v1["schema"] = "hingewatch.state/1"
    v1_unsure = {**v1, "device_id": "porch", "posture_now": "unsure"}
    publish(mosquitto.port, [("hingewatch/kitchen/state", v2),
                             ("hingewatch/hall/state", json.dumps(v1)),
                             ("hingewatch/porch/state", json.dumps(v1_unsure))], retain=True)
    reader = Reader(running.settings.store)
    wait_until(lambda: sum(1 for d in reader.devices() if d.state) == 2
               and rejected(reader).get("bad_state", 0) == 1, 20, "two states, one refused")
    reader.close()
    devices = anna.get("/devices").text
    assert "3 set aside" in devices
    # The pose model's precision from each state: int8 said, float when the field is absent.
    assert re.findall(r'class="tag precision">(\w+)<', devices) == ["float", "int8"]
    today = anna.get("/").text
    assert "<dt>Posture now</dt><dd>Unsure</dd>" in today
    health = {d["device_id"]: d for d in anna.get("/api/health").json()["devices"]}
    assert health["kitchen"]["outbox_dead"] == 3 and health["hall"]["outbox_dead"] == 0
    assert '<span class="warn-text">3</span>' in anna.get("/health").text


def test_the_openapi_document_names_unsure(running: Dashboard, anna: httpx.Client) -> None:
    spec = anna.get("/api/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"]["/api/events"]["get"]["parameters"]}
    assert "unsure" in json.dumps(params["posture"]["schema"])
    counts = spec["components"]["schemas"]["CountsOut"]
    assert "unsure" in counts["required"] and "never in hinge_share" in json.dumps(counts)
    event = json.dumps(spec["components"]["schemas"]["EventOut"]["properties"]["posture"])
    assert "unsure" in event


def test_the_week_page_tells_a_device_seen_from_the_front_to_turn_its_camera(
        running: Dashboard, mosquitto: Broker, anna: httpx.Client) -> None:
    """Half the kitchen's bends unread for a front view: the Week page says so, with what to
    change; a device whose bends were read gets no such line."""
    start = datetime.now(UTC) - timedelta(minutes=30)
    postures = ["hinge"] * 5 + ["round"] + ["unsure"] * 6
    kitchen = [make_event(p, start + timedelta(seconds=20 * i), frames=2,
                          reasons=("front_view",) if p == "unsure" else None)
               for i, p in enumerate(postures)]
    hall = [make_event("hinge", start + timedelta(seconds=20 * i + 5), frames=2,
                       device_id="hall") for i in range(12)]
    publish(mosquitto.port, [(f"hingewatch/{e.device_id}/event", e.to_json())
                             for e in kitchen + hall])
    reader = Reader(running.settings.store)
    wait_until(lambda: reader.event_total() == len(kitchen) + len(hall), 20, "the events stored")
    reader.close()
    # (the week the bends started in: the test may run just past midnight on a Monday)
    week = IsoWeek.of(start.astimezone(running.settings.zone).date())
    page = anna.get(f"/week?week={week}").text
    checks = re.findall(r'<p class="notice check" data-device="(\w+)" data-why="(\w+)">(.*?)</p>',
                        page)
    assert [(d, w) for d, w, _ in checks] == [("kitchen", "front_view")]
    text = checks[0][2]
    assert "6 of its 12 bends this week (50%)" in text and CHECK_WORDS["front_view"] in text
    # ... and opens them: the kitchen's unsure bends of that week, all six.
    (link,) = re.findall(r'<a href="(/events\?[^"]+)">See them</a>', text)
    listed = anna.get(link.replace("&amp;", "&")).text
    assert listed.count('<tr class="p-unsure">') == 6
    assert "notice check" not in anna.get(f"/week?week={week}&device=hall").text
    # The API says the same.
    api = anna.get(f"/api/summary?week={week}").json()["camera_checks"]
    assert api == [{"device_id": "kitchen", "why": "front_view", "n": 6, "bends": 12}]
    # Another week holds none of them.
    assert "notice check" not in anna.get(f"/week?week={week.shifted(-1)}").text


def test_a_verdict_said_less_than_sure_is_marked_not_sure(
        running: Dashboard, mosquitto: Broker, anna: httpx.Client) -> None:
    """A verdict said under ACT_ON_CONFIDENCE (a round read from weak evidence, as the
    classifier says every such round; a hinge hard to read) carries "not sure" beside its
    badge on Today, Events and its page, saying why in its title; a sure one does not, nor
    an unsure bend (it says why already), nor a reviewed one in the lists (the reviewer's
    label stands there)."""
    from dataclasses import replace

    from dashboard.web.words import NOT_SURE_WORD
    from edge.analysis.classifier import WEAK_ROUND_MAX_CONFIDENCE
    from edge.events import ACT_ON_CONFIDENCE

    start = datetime.now(UTC) - timedelta(seconds=90)

    def event(posture: str, k: int, confidence: float) -> Any:
        return replace(make_event(posture, start + timedelta(seconds=20 * k), frames=2,
                                  device_id="landing"), confidence=confidence)

    weak = event("round", 0, WEAK_ROUND_MAX_CONFIDENCE)
    sure = event("round", 1, ACT_ON_CONFIDENCE)
    hinge = event("hinge", 2, 0.64)
    unsure = event("unsure", 3, 0.0)
    reviewed = event("round", 4, 0.6)
    ours = (weak, sure, hinge, unsure, reviewed)
    publish(mosquitto.port, [("hingewatch/landing/event", e.to_json()) for e in ours])
    reader = Reader(running.settings.store)
    wait_until(lambda: all(reader.event(e.event_id) for e in ours), 20, "the events stored")
    reader.close()
    r = anna.post(f"/api/events/{reviewed.event_id}/review", json={"label": "round"})
    assert r.status_code == 200
    tag = 'class="tag weak" title="said less than 80% sure: '

    def marked(html: str, event_id: str, pattern: str) -> str | None:
        """The tag's title (why it is not sure), or None without the tag."""
        (item,) = re.findall(pattern.format(id=event_id), html, re.S)
        found = re.search(re.escape(tag) + rf'([^"]*)">{NOT_SURE_WORD}</span>', item)
        return found.group(1) if found else None

    today = anna.get("/").text
    in_today = r'<a href="/events/{id}">(.*?)</a>'
    said = [marked(today, e.event_id, in_today) for e in ours]
    assert [s is not None for s in said] == [True, False, True, False, False]
    assert "never sets off a cue" in str(said[0]) and "may have been a rounded back" in str(said[2])
    listed = anna.get("/events?device=landing").text
    in_list = r'<tr class="p-\w+">\s*<td data-label="When"><a href="/events/{id}">(.*?)</tr>'
    assert [marked(listed, e.event_id, in_list) is not None for e in ours] == [
        True, False, True, False, False]
    # Its own page shows what the device said, reviewed or not.
    in_page = r'<span class="l">Device said</span>(.*?)</div>'
    assert [marked(anna.get(f"/events/{e.event_id}").text, "", in_page) is not None
            for e in ours] == [True, False, True, False, True]
