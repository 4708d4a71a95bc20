"""The Practice page's parts apart from the replayed clip: the back line coloured by how
straight it is (frames built by the edge's own `live_frame`), frames of another device or
of no open session not shown, and hostile start/stop requests refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dashboard.ingest.messages import classify
from dashboard.web.server import Dashboard
from edge.config_tables import changed
from edge.delivery.live import live_frame
from edge.delivery.topics import live_topic, practice_cmd_topic, status_topic
from tests.dashboard.conftest import (
    add_user,
    log_in,
    login,
    make_settings,
    publish,
    wait_until,
)
from tests.mqtt_broker import Broker, Collector
from tests.test_practice_live import _deepest_sample

UTC_ZONE = ZoneInfo("UTC")
# The stylesheet's --hinge green and --round red, as the browser computes them.
GREEN, RED = "rgb(46, 125, 50)", "rgb(216, 67, 21)"


@pytest.fixture
def site(tmp_path: Path, module_broker: Broker) -> Iterator[Dashboard]:
    dash = Dashboard(changed(make_settings(tmp_path), {"mqtt_port": module_broker.port})).start()
    assert dash.practice is not None and dash.practice.wait_connected(10)
    add_user(dash.writer, "anna", "reviewer")
    publish(module_broker.port, [(status_topic(d), "online") for d in ("kitchen", "nursery")],
            retain=True)
    wait_until(lambda: len(dash.app.state.services.reader.devices()) >= 2, 15, "two devices")
    yield dash
    publish(module_broker.port, [(status_topic(d), "") for d in ("kitchen", "nursery")],
            retain=True)
    dash.stop()


def frame(seq: int, kind: str) -> str:
    return json.dumps(live_frame(seq, seq / 15, "wall_hinge", _deepest_sample(kind),
                                 now=datetime.now(UTC)))


def test_the_back_line_is_coloured_by_straightness(site: Dashboard, module_broker: Broker,
                                                   browser: Any, artifacts: Path) -> None:
    straight, rounded = frame(1, "hinge"), frame(2, "round")
    assert json.loads(straight)["back"]["straightness"] == "straight"
    assert json.loads(rounded)["back"]["straightness"] == "rounded"
    device = Collector(module_broker.port, [practice_cmd_topic("kitchen")],
                       client_id="kitchen-cmd", clean=True).start()
    context = browser.new_context()
    page = context.new_page()
    try:
        log_in(page, site.url)
        page.goto(site.url + "practice")
        # No session yet: a frame is not ours to show.
        publish(module_broker.port, [(live_topic("kitchen"), straight)], qos=0)
        page.select_option("#practice-device", "kitchen")
        page.select_option("#practice-drill", "wall_hinge")
        page.click("#practice-start")
        page.wait_for_selector("#practice-state.on")
        assert device.wait_for(lambda ms: len(ms) == 1, 10)
        assert json.loads(device.snapshot()[0].payload) == {"drill": "wall_hinge",
                                                            "action": "start"}
        assert page.locator("#practice-frames").text_content() == "0"
        publish(module_broker.port, [(live_topic("nursery"), straight)], qos=0)  # not opened
        publish(module_broker.port, [(live_topic("kitchen"), straight)], qos=0)
        back = page.locator("#practice-back")
        page.wait_for_selector("#practice-back.back-straight")
        assert back.evaluate("b => getComputedStyle(b).stroke") == GREEN
        assert len((back.get_attribute("points") or "").split()) > 5
        assert page.locator("#practice-frames").text_content() == "1"
        page.screenshot(path=str(artifacts / "23-practice-straight.png"))
        publish(module_broker.port, [(live_topic("kitchen"), rounded)], qos=0)
        page.wait_for_selector("#practice-back.back-rounded")
        assert back.evaluate("b => getComputedStyle(b).stroke") == RED
        assert page.locator("#practice-back-word").text_content() == "back line: rounded"
        page.screenshot(path=str(artifacts / "24-practice-rounded.png"))
        page.click("#practice-stop")
        assert device.wait_for(lambda ms: len(ms) == 2, 10)
        assert json.loads(device.snapshot()[1].payload) == {"action": "stop"}
        assert site.practice is not None and site.practice.frames == 2
        assert site.practice.bad_frames == 0
    finally:
        context.close()
        device.stop()


def test_hostile_start_and_stop_requests_are_refused(site: Dashboard) -> None:
    client, csrf = login(site.url, "anna")
    headers = {"x-csrf-token": csrf}
    try:
        cases: list[tuple[dict[str, Any], dict[str, str], int]] = [
            ({"device": "kitchen", "drill": "wall_hinge"}, {}, 403),  # no CSRF token
            ({"device": "kitchen", "drill": "cartwheel"}, headers, 400),
            ({"device": "garage", "drill": "wall_hinge"}, headers, 400),
            ({"device": "kitchen", "drill": "wall_hinge", "x": 1}, headers, 422),
            ({"device": "kitchen/#", "drill": "wall_hinge"}, headers, 400),
            ({"device": "k" * 100, "drill": "wall_hinge"}, headers, 422),
        ]
        for body, head, status in cases:
            r = client.post("/api/practice/start", json=body, headers=head)
            assert r.status_code == status, (body, r.text)
        assert site.practice is not None and site.practice.session("kitchen") is None
        r = client.post("/api/practice/start", json={"device": "kitchen", "drill": "floor_lift"},
                        headers=headers)
        assert r.status_code == 200 and site.practice.session("kitchen") == "floor_lift"
        r = client.post("/api/practice/stop", json={"device": "kitchen"}, headers=headers)
        assert r.status_code == 200 and site.practice.session("kitchen") is None
        assert client.get("/live/practice?device=garage").status_code == 400
    finally:
        client.close()


def test_the_web_server_alone_still_starts_practice(tmp_path: Path,
                                                     module_broker: Broker) -> None:
    """A centre's `serve --no-ingest`: no ingest, but the Practice page's own broker link."""
    settings = changed(make_settings(tmp_path), {"mqtt_port": module_broker.port})
    dash = Dashboard(settings, ingest=False, practice=True).start()
    try:
        assert dash.ingest is None
        assert dash.practice is not None and dash.practice.wait_connected(10)
        dash.writer.write_batch([classify(status_topic("kitchen"), b"online", UTC_ZONE,
                                          "2026-12-05T10:00:00.000Z")],
                                "2026-12-05T10:00:00.000Z")
        add_user(dash.writer, "anna", "reviewer")
        client, csrf = login(dash.url, "anna")
        r = client.post("/api/practice/start", json={"device": "kitchen", "drill": "wall_hinge"},
                        headers={"x-csrf-token": csrf})
        client.close()
        assert r.status_code == 200 and dash.practice.session("kitchen") == "wall_hinge"
    finally:
        dash.stop()
