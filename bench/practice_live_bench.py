"""Practice live-stream benchmark: the skeleton's delay from the device to the browser, and
what the live stream costs the device's CPU.

    .venv/bin/python bench/practice_live_bench.py [--seconds 20] [--fps 15]

- latency: a real Mosquitto, the dashboard (ingest, practice link, web server) and the
  agent's practice hook (edge.practice.hook) fed a synthetic side-on household of hinges
  and rounded bends at `--fps`; real Chromium (/usr/bin/chromium) opens the Practice page
  and presses start. Each frame carries the wall time it left the device (`sent_at`); the
  page records `Date.now() - sent_at` when it has drawn it. p50 / p95 / max in ms over
  every frame drawn (target p95 ≤ 250 ms).
- edge CPU: a separate process runs only the device's side (bend analysis and the hook,
  poses precomputed: the pose model's own cost is agent_bench.py's) for `--seconds`, first
  with no session open, then with one open and a viewer subscribed; its CPU time over wall
  time, in % of one core, and the difference the session makes.

Prints one JSON object. Not a test: nothing here passes or fails; targets are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from edge.analysis.analyzer import BendAnalyzer  # noqa: E402
from edge.config import parse  # noqa: E402
from edge.pose.landmarks import Pose  # noqa: E402
from edge.practice.hook import PracticeHook  # noqa: E402
from edge.synth import Camera, Motion, make_clip  # noqa: E402

LATENCY_TARGET_MS = 250.0
CPU_TARGET_ADDED = 10.0
CHROMIUM = "/usr/bin/chromium"
DEVICE = "kitchen"


def household(fps: float, seed: int = 0) -> list[Pose | None]:
    """Side-on hinges and rounded bends, one after the other (about 4 s each)."""
    def motion(kind: str, subtype: str, trunk: float, knee: float, lumbar: float) -> Motion:
        # type: ignore on the next line: kind and subtype names, checked by Motion
        return Motion(kind=kind, subtype=subtype, depth=1.0, down_s=1.0, hold_s=0.6,  # type: ignore[arg-type]
                      up_s=1.0, trunk_deg=trunk, knee_deg=knee, lumbar_deg=lumbar,
                      thoracic_deg=-5.0, neck_deg=0.0)
    motions = [motion("hinge", "hip_hinge", 70, 20, 0), motion("round", "lumbar", 70, 15, 45)]
    clip = make_clip(np.random.default_rng(seed), motions=motions * 2,
                     camera=Camera.around(0.0, 0.0, 3.2, resolution_wh=(640, 480), fps=fps))
    return list(clip.poses)


def feed(hook: PracticeHook, poses: list[Pose | None], fps: float, seconds: float,
         stop: threading.Event | None = None) -> int:
    """The agent's per-frame calls, paced like a camera, for `seconds` (bounded)."""
    analyzer = BendAnalyzer()
    start = time.monotonic()
    i = 0
    while time.monotonic() - start < seconds and not (stop and stop.is_set()):
        t_s = i / fps
        bends = analyzer.update(t_s, poses[i % len(poses)])
        hook.frame(t_s, analyzer.last_sample, bends)
        i += 1
        time.sleep(max(0.0, start + i / fps - time.monotonic()))
    return i


def device_config(port: int, folder: Path) -> Any:
    return parse({"device": {"id": DEVICE, "state_dir": str(folder)},
                  "mqtt": {"host": "127.0.0.1", "port": port}}, "device.toml")


# --- edge CPU (run in its own process) ---------------------------------------------------------

def edge_worker(port: int, seconds: float, fps: float, session: bool) -> dict[str, Any]:
    poses = household(fps)
    with tempfile.TemporaryDirectory() as folder:
        hook = PracticeHook(device_config(port, Path(folder)))
        hook.start()
        if not hook.link.wait_ready(10):
            raise SystemExit("the device's link did not connect")
        if session:
            hook.runner.command(b'{"drill":"wall_hinge","action":"start"}')
        cpu0, wall0 = time.process_time(), time.monotonic()
        frames = feed(hook, poses, fps, seconds)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        sent = hook.runner.stream.seq
        hook.close()
    return {"session": session, "frames": frames, "live_frames_sent": sent,
            "cpu_percent_of_one_core": round(100 * cpu / wall, 2)}


def edge_cpu(port: int, seconds: float, fps: float) -> dict[str, Any]:
    from tests.mqtt_broker import Collector

    viewer = Collector(port, [f"hingewatch/{DEVICE}/live"], client_id="bench-viewer",
                       clean=True).start()
    runs = {}
    try:
        for session in (False, True):
            out = subprocess.run(
                [sys.executable, __file__, "--edge-worker", str(port), "--seconds", str(seconds),
                 "--fps", str(fps)] + (["--session"] if session else []),
                capture_output=True, text=True, timeout=seconds + 120, check=True)
            runs["session" if session else "no_session"] = json.loads(out.stdout)
    finally:
        viewer.stop()
    off = runs["no_session"]["cpu_percent_of_one_core"]
    on = runs["session"]["cpu_percent_of_one_core"]
    return {**runs, "added_percent_of_one_core": round(on - off, 2),
            "target_added_percent": CPU_TARGET_ADDED,
            "note": "bend analysis and the hook only; the pose model's cost is agent_bench.py's"}


# --- frame to browser --------------------------------------------------------------------------

def latency(port: int, seconds: float, fps: float) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from dashboard.web.server import Dashboard
    from edge.config_tables import changed
    from tests.dashboard.conftest import PASSWORD, add_user, make_settings, publish

    poses = household(fps)
    with tempfile.TemporaryDirectory() as folder:
        dash = Dashboard(changed(make_settings(Path(folder) / "dash"), {"mqtt_port": port}))
        dash.start()
        hook = PracticeHook(device_config(port, Path(folder) / "state"))
        stop = threading.Event()
        try:
            assert dash.practice is not None and dash.practice.wait_connected(10)
            add_user(dash.writer, "bench", "reviewer")
            hook.start()
            assert hook.link.wait_ready(10)
            publish(port, [(f"hingewatch/{DEVICE}/status", "online")], retain=True)
            deadline = time.monotonic() + 15
            while not any(d.device_id == DEVICE for d in dash.app.state.services.reader.devices()):
                if time.monotonic() > deadline:
                    raise SystemExit("the device never showed up in the dashboard")
                time.sleep(0.05)
            camera = threading.Thread(target=feed, args=(hook, poses, fps, seconds + 30, stop),
                                      daemon=True)
            camera.start()
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
                page = browser.new_page()
                page.goto(dash.url + "login")
                page.fill("input[name=username]", "bench")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(dash.url)
                page.goto(dash.url + "practice")
                page.select_option("#practice-device", DEVICE)
                page.click("#practice-start")
                page.wait_for_selector("#practice-state.on")
                time.sleep(seconds)
                delays = page.evaluate("window.practiceDelays.slice()")
                page.click("#practice-stop")
                browser.close()
        finally:
            stop.set()
            hook.close()
            dash.stop()
    delays = sorted(float(d) for d in delays)
    if not delays:
        return {"frames": 0, "note": "no frame reached the page"}
    q = statistics.quantiles(delays, n=100) if len(delays) > 1 else [delays[0]] * 99
    return {"frames": len(delays), "frames_per_s": round(len(delays) / seconds, 1),
            "p50_ms": round(statistics.median(delays), 1), "p95_ms": round(q[94], 1),
            "max_ms": round(delays[-1], 1), "target_p95_ms": LATENCY_TARGET_MS,
            "note": "Date.now() - sent_at on the page; both clocks are this machine's, "
                    "sent_at has ms resolution"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--edge-worker", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--session", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.edge_worker is not None:
        print(json.dumps(edge_worker(args.edge_worker, args.seconds, args.fps, args.session)))
        return 0
    from tests.mqtt_broker import start_broker

    with tempfile.TemporaryDirectory() as folder:
        broker = start_broker(Path(folder))
        try:
            out: dict[str, Any] = {
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform()},
                "fps": args.fps, "seconds": args.seconds,
                "frame_to_browser": latency(broker.port, args.seconds, args.fps),
                "edge_cpu": edge_cpu(broker.port, args.seconds, args.fps),
            }
        finally:
            broker.stop()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
