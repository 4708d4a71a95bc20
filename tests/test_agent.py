"""The edge agent end to end: real model, real Mosquitto, real signals and notify socket."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.events import validate
from edge.sdnotify import Notifier
from tests.mqtt_broker import Broker, Collector, have_mosquitto

pytestmark = [pytest.mark.pose,
              pytest.mark.skipif(not have_mosquitto(), reason="mosquitto is not installed")]


def _edge(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "edge.cli", "edge", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def _events(collector: Collector, device: str) -> list[dict]:
    return [json.loads(m.payload) for m in collector.on_topic(f"hingewatch/{device}/event")]


def test_once_replays_a_file_into_the_broker(fixtures: Path, mosquitto: Broker,
                                             tmp_path: Path) -> None:
    collector = Collector(mosquitto.port, ["hingewatch/#"], client_id="t-once").start()
    try:
        proc = _edge("--source", str(fixtures / "video/pose_squats.mp4"),
                     "--broker", f"mqtt://127.0.0.1:{mosquitto.port}", "--device-id", "kitchen",
                     "--once", "--outbox", str(tmp_path / "outbox.sqlite3"), "--timeout", "600")
        # A generous bound: tflite-runtime on a busy machine (two test suites side by side)
        # reads this clip at ~1 frame/s; the process exits as soon as the replay is delivered.
        _, err = proc.communicate(timeout=660)
        assert proc.returncode == 0, err
        assert collector.wait_for(lambda m: len(_events(collector, "kitchen")) >= 3, 10)
        events = _events(collector, "kitchen")
        for e in events:
            validate(e)
        states = [json.loads(m.payload) for m in collector.on_topic("hingewatch/kitchen/state")]
        assert states and states[-1]["last_posture"] == events[-1]["posture"]
        assert [e["posture"] for e in events] == ["squat", "squat", "squat"]
        assert all(e["simulated"] is False and e["device_id"] == "kitchen" for e in events)
        status = collector.on_topic("hingewatch/kitchen/status")
        assert status and status[-1].payload == b"offline"  # said on the way out
    finally:
        collector.stop()


def test_once_is_not_held_up_by_events_an_older_shared_outbox_holds(
    fixtures: Path, mosquitto: Broker, tmp_path: Path
) -> None:
    # Older versions shared one default outbox among all devices: a run with the device id
    # "kitchen\n" left events whose topic the broker drops the connection for, and every
    # later `--once` run, whatever its device, waited behind them until its timeout.
    import sqlite3

    from edge.delivery.outbox import Outbox

    home = tmp_path / "home"  # the default state folder is under the user's home
    state = home / ".local/state/hingewatch"
    with Outbox(state / "outbox.sqlite3"):
        pass
    db = sqlite3.connect(state / "outbox.sqlite3")
    for i in range(3):
        db.execute("INSERT INTO outbox (event_id, topic, payload, added_at_s) VALUES (?, ?, ?, 0)",
                   (f"OLD{i}", "hingewatch/kitchen\n/event", b'{"device_id": "kitchen\\n"}'))
    db.commit()
    db.close()
    config = tmp_path / "hingewatch.toml"
    config.write_text("# the defaults, and no /etc/hingewatch/hingewatch.toml read\n")
    collector = Collector(mosquitto.port, ["hingewatch/#"], client_id="t-shared").start()
    try:
        proc = _edge("--config", str(config), "--source", str(fixtures / "video/pose_squats.mp4"),
                     "--broker", f"mqtt://127.0.0.1:{mosquitto.port}", "--device-id", "bar",
                     # A bound for a busy machine, not a speed goal.
                     "--once", "--timeout", "240", env={"HOME": str(home)})
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert collector.wait_for(lambda m: len(_events(collector, "bar")) >= 3, 10)
        assert (state / "outbox-bar.sqlite3").is_file()
        assert "shared by older versions" in err  # its events are not forgotten silently
    finally:
        collector.stop()


def test_sigterm_in_the_middle_of_a_bend_loses_nothing(fixtures: Path, mosquitto: Broker,
                                                         tmp_path: Path) -> None:
    collector = Collector(mosquitto.port, ["hingewatch/#"], client_id="t-term").start()
    sock_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(sock_path))
    notify.settimeout(0.2)
    try:
        proc = _edge("--source", str(fixtures / "video/pose_squats.mp4"), "--realtime",
                     "--broker", f"mqtt://127.0.0.1:{mosquitto.port}", "--device-id", "nursery",
                     "--outbox", str(tmp_path / "outbox.sqlite3"),
                     env={"NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "2000000"})
        messages: list[str] = []

        def listen() -> None:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    messages.append(notify.recv(4096).decode())
                except TimeoutError:
                    continue

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()

        def bent(msgs: list) -> bool:
            return any(m.topic == "hingewatch/nursery/state"
                       and json.loads(m.payload).get("posture_now") == "squat" for m in msgs)

        assert collector.wait_for(bent, 60), "never saw the person squat in the state topic"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        listener.join(5)
        assert collector.wait_for(lambda m: len(_events(collector, "nursery")) >= 1, 10), err
        events = _events(collector, "nursery")
        assert events[-1]["posture"] == "squat"
        notes = "\n".join(messages)
        assert "READY=1" in notes and "WATCHDOG=1" in notes and "STOPPING=1" in notes
    finally:
        notify.close()
        collector.stop()


def _static_clip(fixtures: Path, path: Path, seconds: float = 40.0, fps: float = 15.0) -> None:
    """A camera on an empty corner: one picture with sensor noise on every frame."""
    from edge.capture.sources import read_image

    wall = read_image(fixtures / "images/squat.png")[:, -120:]  # the bare wall beside him
    wall = cv2.resize(wall, (320, 240))
    noise = np.random.default_rng(1)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (320, 240))
    for _ in range(int(seconds * fps)):
        jitter = noise.integers(-3, 4, wall.shape, dtype=np.int16)
        frame = np.clip(wall.astype(np.int16) + jitter, 0, 255).astype(np.uint8)
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def test_a_static_clip_runs_the_model_on_under_5_percent_of_frames(
    fixtures: Path, mosquitto: Broker, tmp_path: Path
) -> None:
    from edge.agent import Agent
    from edge.config import parse
    from edge.delivery.outbox import Outbox
    from edge.delivery.publisher import Publisher

    clip = tmp_path / "static.avi"
    _static_clip(fixtures, clip)
    config = parse({
        "device": {"id": "hall", "state_dir": str(tmp_path)},
        "camera": {"source": str(clip)},
        "analysis": {"rate_hz": 15.0},
        "mqtt": {"host": "127.0.0.1", "port": mosquitto.port},
    }, "test.toml")
    outbox = Outbox(tmp_path / "outbox.sqlite3", 1000)
    agent = Agent(config, Publisher(config.mqtt, outbox), once=True)
    try:
        assert agent.run(threading.Event()) == 0
    finally:
        outbox.close()
    h = agent.health
    assert h.analysed >= 590
    assert h.pose_runs / h.analysed < 0.05, f"pose ran on {h.pose_runs} of {h.analysed}"


def test_notifier_speaks_to_the_socket_systemd_names(tmp_path: Path) -> None:
    path = tmp_path / "n.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(2)
        n = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "1000000"})
        assert n.watchdog_interval_s == 0.5
        n.ready("watching camera")
        assert sock.recv(1024).decode() == "READY=1\nSTATUS=watching camera"
        n.watchdog(now_s=10.0)
        n.watchdog(now_s=10.2)  # too soon: no second ping
        n.watchdog(now_s=10.6)
        assert sock.recv(1024) == b"WATCHDOG=1" and sock.recv(1024) == b"WATCHDOG=1"
        with pytest.raises(TimeoutError):
            sock.settimeout(0.2)
            sock.recv(1024)
    assert not Notifier({}).enabled


def test_a_lost_camera_is_retried_while_the_state_says_degraded(
    mosquitto: Broker, tmp_path: Path
) -> None:
    from edge.agent import Agent
    from edge.config import parse
    from edge.delivery.outbox import Outbox
    from edge.delivery.publisher import Publisher

    config = parse({
        "device": {"id": "porch", "state_dir": str(tmp_path)},
        "camera": {"source": "webcam:7", "retry_min_s": 0.2, "retry_max_s": 0.4},
        "mqtt": {"host": "127.0.0.1", "port": mosquitto.port},
    }, "test.toml")
    collector = Collector(mosquitto.port, ["hingewatch/porch/state"], client_id="t-deg").start()
    outbox = Outbox(tmp_path / "outbox.sqlite3", 100)
    agent = Agent(config, Publisher(config.mqtt, outbox))
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    runner.start()
    try:
        def degraded(msgs: list) -> bool:
            return any(json.loads(m.payload).get("status") == "degraded" for m in msgs)

        assert collector.wait_for(degraded, 15)
        time.sleep(1.0)
        assert runner.is_alive()  # still trying, not crashed
    finally:
        stop.set()
        runner.join(30)
        outbox.close()
        collector.stop()
    assert not runner.is_alive()


# Generous: six pings take ~3 s on an idle machine; the bound only stops a hung test.
WATCHDOG_BOUND_S = 60.0


def test_the_watchdog_is_fed_while_a_lost_camera_is_retried(tmp_path: Path) -> None:
    from edge.agent import Agent
    from edge.config import parse
    from edge.delivery.outbox import Outbox
    from edge.delivery.publisher import Publisher

    sock_path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(sock_path))
        sock.settimeout(0.2)
        # One retry wait far longer than the test against a 1 s watchdog: every ping after
        # the camera failed comes from inside that wait. Waited for with a bound, not
        # counted against the clock (a busy machine slows the pings, not the verdict).
        config = parse({
            "device": {"id": "shed", "state_dir": str(tmp_path)},
            "camera": {"source": "webcam:7", "retry_min_s": 3600.0, "retry_max_s": 3600.0},
            "mqtt": {"host": "127.0.0.1", "port": 9},  # nobody there: events wait
        }, "test.toml")
        outbox = Outbox(tmp_path / "outbox.sqlite3", 100)
        notifier = Notifier({"NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "1000000"})
        agent = Agent(config, Publisher(config.mqtt, outbox), notifier=notifier)
        stop = threading.Event()
        runner = threading.Thread(target=agent.run, args=(stop,), daemon=True)
        runner.start()
        pings = 0
        deadline = time.monotonic() + WATCHDOG_BOUND_S
        while pings < 6 and time.monotonic() < deadline:
            try:
                pings += sock.recv(1024) == b"WATCHDOG=1"
            except TimeoutError:
                continue
        stop.set()
        runner.join(30)
        outbox.close()
    assert not runner.is_alive(), "the agent did not stop from inside its retry wait"
    assert pings >= 6, f"only {pings} watchdog pings within {WATCHDOG_BOUND_S} s"


def test_habits_share_counts_hinges_over_hinges_and_rounds_only(tmp_path: Path) -> None:
    from datetime import date

    from edge.habits import Habits

    habits = Habits(tmp_path / "habits.json")
    day = date(2026, 12, 4)
    for posture in ("hinge", "hinge", "round", "squat", "unsure", "unsure"):
        habits.add(day, posture)
    count, share = habits.today(day)
    assert count == 6 and share == 2 / 3  # squats and unsure bends count neither way
    again = Habits(tmp_path / "habits.json")  # a restart keeps every posture's count
    assert again.today(day) == (6, 2 / 3) and again.week_share(day) == 2 / 3


def test_the_synthetic_household_runs_like_a_camera_and_its_baseline_survives_a_restart(
    mosquitto: Broker, tmp_path: Path,
) -> None:
    from edge.agent import BASELINE_FILE, Agent
    from edge.analysis.calibration import load_baseline
    from edge.config import parse
    from edge.delivery.outbox import Outbox
    from edge.delivery.publisher import Publisher

    config = parse({
        "device": {"id": "den", "state_dir": str(tmp_path)},
        "camera": {"source": "synthetic"},
        "mqtt": {"host": "127.0.0.1", "port": mosquitto.port},
    }, "test.toml")
    collector = Collector(mosquitto.port, ["hingewatch/den/event"], client_id="t-den").start()
    outbox = Outbox(tmp_path / "outbox.sqlite3", 1000)
    agent = Agent(config, Publisher(config.mqtt, outbox))
    assert agent.analyzer.baseline is None  # nothing learned yet
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    runner.start()
    baseline = tmp_path / BASELINE_FILE
    try:
        # A bound for a busy machine, not a speed goal.
        assert collector.wait_for(lambda m: len(m) >= 1 and baseline.is_file(), 120)
    finally:
        stop.set()
        runner.join(60)
        outbox.close()
        collector.stop()
    assert not runner.is_alive()
    events = _events(collector, "den")
    assert all(e["simulated"] and e["model"] == {"name": "synthetic", "variant": "synthetic"}
               for e in events)
    learned = agent.analyzer.baseline
    assert learned is not None
    # Stopped, the agent kept its last baseline; a new one starts from it.
    with Outbox(tmp_path / "outbox.sqlite3", 1000) as again_outbox:
        again = Agent(config, Publisher(config.mqtt, again_outbox))
        kept = again.analyzer.baseline
    assert kept is not None
    assert np.allclose(kept.up_world, learned.up_world, atol=1e-4)
    assert kept.leg_length_m == pytest.approx(learned.leg_length_m, abs=1e-3)
    assert kept.leg_length_m == load_baseline(baseline).leg_length_m
