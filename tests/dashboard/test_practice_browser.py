"""The practice flow in real Chromium: a reviewer chooses a drill and a device, presses
start; the dashboard sends the command through a real Mosquitto to the agent's practice
hook, which a replayed clip (the fixtures' squats) drives in place of the camera; the live
skeleton and back line arrive on the page, each rep with its verdict and cue, and the
summary at stop. Screenshots go to test-artifacts/dashboard/."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboard.store.reader import Reader
from dashboard.web.server import Dashboard
from edge.config import parse
from edge.config_tables import changed
from edge.delivery.topics import live_topic, status_topic
from edge.practice.hook import PracticeHook
from tests.dashboard.conftest import add_user, log_in, make_settings, publish, wait_until
from tests.dashboard.practice_clip import SQUATS_CLIP, clip_poses, play
from tests.mqtt_broker import Broker

DEVICE = "kitchen"
WAIT_S = 30.0


@pytest.fixture
def site(tmp_path: Path, module_broker: Broker) -> Iterator[Dashboard]:
    settings = make_settings(tmp_path / "dash")
    dash = Dashboard(changed(settings, {"mqtt_port": module_broker.port})).start()
    assert dash.ingest is not None and dash.ingest.wait_connected(10)
    assert dash.practice is not None and dash.practice.wait_connected(10)
    add_user(dash.writer, "anna", "reviewer")
    yield dash
    dash.stop()


@pytest.fixture
def device(tmp_path: Path, module_broker: Broker, site: Dashboard) -> Iterator[PracticeHook]:
    """The agent's practice side, as the agent runs it; `online` as its publisher says."""
    config = parse({"device": {"id": DEVICE, "state_dir": str(tmp_path / "state")},
                    "mqtt": {"host": "127.0.0.1", "port": module_broker.port}}, "device.toml")
    hook = PracticeHook(config)
    hook.start()
    assert hook.link.wait_ready(10)
    publish(module_broker.port, [(status_topic(DEVICE), "online")], retain=True)
    reader = Reader(site.settings.store)
    wait_until(lambda: any(d.device_id == DEVICE for d in reader.devices()), 15, "the device")
    reader.close()
    yield hook
    hook.close()
    publish(module_broker.port, [(status_topic(DEVICE), "")], retain=True)


def test_practice_squats_live_in_the_browser(site: Dashboard, device: PracticeHook,
                                            module_broker: Broker, fixtures: Path,
                                            browser: Any, artifacts: Path) -> None:
    poses = clip_poses(fixtures / SQUATS_CLIP)
    assert poses, "no frames read from the squats clip"
    started, stop = threading.Event(), threading.Event()
    bends: list[int] = []

    def camera() -> None:  # the replayed clip, from the moment the session opens
        if wait_until_set(lambda: device.runner.stream.drill is not None, started, stop):
            bends.append(play(device, poses, pace_hz=15.0, stop=stop))

    thread = threading.Thread(target=camera, daemon=True)
    thread.start()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_S * 1000)
    page = context.new_page()
    try:
        log_in(page, site.url)
        page.click("nav >> text=Practice")
        page.select_option("#practice-device", DEVICE)
        page.select_option("#practice-drill", "dowel_hinge")
        page.click("#practice-start")
        page.wait_for_selector("#practice-state.on")
        # A hostile frame on the live topic while the session is open: dropped, counted.
        publish(module_broker.port, [(live_topic(DEVICE), b"not json"),
                                     (live_topic(DEVICE), json.dumps({
                                         "schema": "hingewatch.live/1", "seq": 1,
                                         "pixels": "AAAA"}))], qos=0)
        page.wait_for_function("() => +document.getElementById('practice-frames')"
                               ".textContent > 20")
        assert started.is_set() and device.runner.stream.drill == "dowel_hinge"
        joint = page.locator("#practice-joints circle").nth(0)
        assert float(joint.get_attribute("cx") or 0) > 0
        back = page.locator("#practice-back").get_attribute("class") or ""
        assert back.startswith("back-line back-")
        page.screenshot(path=str(artifacts / "20-practice-live.png"), full_page=True)
        page.wait_for_selector("#practice-reps li:nth-child(3)")
        thread.join(WAIT_S)
        assert not thread.is_alive() and bends == [3]

        page.click("#practice-stop")
        page.wait_for_selector("#practice-summary:not([hidden])")
        assert page.locator("#summary-reps").text_content() == "3"
        badges = page.locator("#practice-reps li .badge").all_text_contents()
        assert badges == ["squat", "squat", "squat"]
        cues = page.locator("#practice-reps li .cue").all_text_contents()
        assert all(c.strip() for c in cues)
        page.screenshot(path=str(artifacts / "21-practice-summary.png"), full_page=True)
        assert site.practice is not None
        wait_until(lambda: site.practice.bad_frames == 2, 10, "the bad frames counted")
        # Ingest stored the same summary: the Week page shows the session beside the bends.
        reader = Reader(site.settings.store)
        wait_until(lambda: reader.ingest_counts().by_kind.get("practice_stored") == 1, 15,
                   "the summary stored")
        reader.close()
        page.click("nav >> text=Week")
        row = page.locator("table.practice-week tr.practised")
        assert row.locator("td[data-label=Reps]").text_content() == "3"
        assert row.locator("td[data-label='Good hinges']").text_content() == "0%"
        page.screenshot(path=str(artifacts / "22-week-practice.png"), full_page=True)
        page.click("nav >> text=Health")
        # type: ignore on the next line: the element is on the page
        assert page.locator("#live-dropped").text_content().startswith("2 (last: ")  # type: ignore[union-attr]
    finally:
        stop.set()
        thread.join(WAIT_S)
        context.close()


def wait_until_set(condition: Any, flag: threading.Event, stop: threading.Event,
                   timeout_s: float = WAIT_S) -> bool:
    """Poll `condition` (bounded); set `flag` when it holds."""
    for _ in range(int(timeout_s / 0.02)):
        if stop.is_set():
            return False
        if condition():
            flag.set()
            return True
        stop.wait(0.02)
    return False
