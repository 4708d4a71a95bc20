"""`hingewatch demo`: broker, dashboard and edge agent together, on a laptop, no camera.

The edge agent watches the synthetic household (a simulated kitchen and nursery day,
every event marked `simulated`) through the real bend, event, MQTT and dashboard code;
eight weeks of history are backfilled first so the Week page means something. `--video`
or `--camera` use the real pose model instead. Ctrl-C stops everything and leaves no
process behind.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from edge.demo.zones import zones_toml
from edge.errors import HingewatchError

DEVICE_ID = "kitchen"
DEMO_USER = "demo"
# A child that does not stop within this long after SIGTERM is killed.
STOP_GRACE_S = 10.0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run broker, dashboard and edge agent together (no camera)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--video", type=Path, help="play this clip through the real pose model")
    src.add_argument("--camera", action="store_true",
                     help="use the Pi camera (or webcam:0 where there is no Pi camera)")
    p.add_argument("--port", type=int, default=8080,
                   help="dashboard port (default 8080; 0 or a busy port: any free one)")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--no-history", action="store_true", help="skip the backfilled weeks")
    p.add_argument("--keep", type=Path,
                   help="keep the demo's data in this folder (default: a temporary folder, "
                        "removed at exit)")
    p.set_defaults(func=run)


def free_port(preferred: int = 0) -> int:
    for port in ((preferred, 0) if preferred else (0,)):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise HingewatchError("no free TCP port on 127.0.0.1")


def _wait_port(port: int, proc: subprocess.Popen, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HingewatchError(f"{what} stopped at start (exit code {proc.returncode})")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise HingewatchError(f"{what} did not open port {port} within {timeout_s:.0f} s")


class Children:
    """The demo's processes, stopped in reverse order with SIGTERM, then SIGKILL."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], log: Path, **kw: object) -> subprocess.Popen:
        out = log.open("ab")
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]  # Popen has no overload for an open **kw; the callers pass only its keywords
        out.close()
        self.procs.append((name, proc))
        return proc

    def stop(self) -> None:
        # One by one, last started first: the edge agent flushes its outbox while the
        # dashboard and the broker are still there to take it.
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def dead(self) -> str | None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                return f"{name} stopped (exit code {proc.returncode})"
        return None


def start_broker(children: Children, work: Path) -> tuple[int, str, str]:
    """Mosquitto when installed, else the embedded amqtt broker: (port, name, protocol)."""
    port = free_port()
    mosquitto = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if mosquitto:
        conf = work / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                        f"persistence true\npersistence_location {work}/\n")
        proc = children.start("mosquitto", [mosquitto, "-c", str(conf)], work / "broker.log")
        _wait_port(port, proc, "mosquitto")
        return port, "Mosquitto", "auto"
    proc = children.start("amqtt", [sys.executable, "-m", "edge.demo.amqtt_broker", str(port)],
                          work / "broker.log")
    _wait_port(port, proc, "the amqtt broker")
    return port, "amqtt (Mosquitto is not installed)", "3.1.1"


def backfill(port: int, protocol: str, work: Path) -> int:
    """Publish the simulated history through the real publisher and outbox."""
    from edge.delivery.mqtt_config import MqttConfig
    from edge.delivery.outbox import Outbox
    from edge.delivery.publisher import Publisher
    from edge.demo.backfill import history

    events = history(DEVICE_ID)
    # The device's own topic, under a client id of its own (the agent's session is apart).
    config = MqttConfig(host="127.0.0.1", port=port, device_id=DEVICE_ID,
                        client_id="hingewatch-demo-history",
                        protocol=protocol,  # type: ignore[arg-type]  # the broker probe returns one of the protocol names
                        ha_discovery=False)
    outbox = Outbox(work / "history-outbox.sqlite3", len(events) + 10)
    publisher = Publisher(config, outbox, validate_events=False).start()
    try:
        for event in events:
            publisher.submit(event)
        if not publisher.wait_drained(60):
            raise HingewatchError("the broker did not take the history within 60 s")
    finally:
        publisher.close()
        outbox.close()
    return len(events)


def _dashboard_ready(url: str, proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HingewatchError(f"the dashboard stopped at start (exit code {proc.returncode})")
        with contextlib.suppress(OSError), \
                urllib.request.urlopen(url + "login", timeout=2) as resp:
            if resp.status == 200:
                return
        time.sleep(0.2)
    raise HingewatchError(f"the dashboard did not answer at {url} within {timeout_s:.0f} s")


def run(args: argparse.Namespace) -> int:
    if args.video is not None and not args.video.is_file():
        raise HingewatchError(f"--video {args.video}: no such file")
    work = args.keep or Path(tempfile.mkdtemp(prefix="hingewatch-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    children = Children()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    cli = [sys.executable, "-m", "edge.cli"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        port, broker_name, protocol = start_broker(children, work)
        password = secrets.token_urlsafe(9)
        db = work / "dashboard.sqlite3"
        subprocess.run(cli + ["dashboard", "adduser", DEMO_USER, "--role", "reviewer",
                              "--password-stdin", "--replace", "--db", str(db)],
                       input=password + "\n", text=True, check=True, capture_output=True,
                       timeout=60)
        http_port = free_port(args.port)
        dashboard = children.start("dashboard", cli + [
            "dashboard", "serve", "--db", str(db), "--port", str(http_port),
            "--mqtt-host", "127.0.0.1", "--mqtt-port", str(port),
            "--mqtt-protocol", protocol,  # the agent's: "auto" (Mosquitto) or "3.1.1"
            "--client-id", "hingewatch-demo-dashboard"], work / "dashboard.log", env=env)
        url = f"http://127.0.0.1:{http_port}/"
        _dashboard_ready(url, dashboard)
        history = 0 if args.no_history else backfill(port, protocol, work)
        source = ("synthetic" if args.video is None and not args.camera
                  else str(args.video) if args.video is not None else _camera())
        config = work / "hingewatch.toml"
        config.write_text(edge_config(work, source, port, protocol))
        children.start("edge agent", cli + ["edge", "--config", str(config), "--realtime"],
                       work / "edge.log", env=env)
        what = ("the simulated household: every event is marked SIMULATED"
                if source == "synthetic" else f"{source} through the real pose model")
        print(f"""
hingewatch demo — {what}
  dashboard  {url}
  login      {DEMO_USER} / {password}
  broker     {broker_name} on 127.0.0.1:{port}
  history    {history} simulated bends over the last 8 weeks
  logs       {work}/{{broker,dashboard,edge}}.log
Ctrl-C stops everything.""", flush=True)
        deadline = time.monotonic() + args.duration if args.duration else None
        while not stop.wait(0.5):
            problem = children.dead()
            if problem:
                raise HingewatchError(f"{problem}; see the logs in {work}")
            if deadline is not None and time.monotonic() >= deadline:
                break
    finally:
        print("stopping…", file=sys.stderr, flush=True)
        children.stop()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def edge_config(work: Path, source: str, port: int, protocol: str) -> str:
    """The demo agent's config: its broker, its folder, and the demo's own zones."""
    return (f'[device]\nid = "{DEVICE_ID}"\nstate_dir = {json.dumps(str(work))}\n'
            f'[camera]\nsource = {json.dumps(source)}\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nprotocol = "{protocol}"\n'
            f'outbox_path = {json.dumps(str(work / "outbox.sqlite3"))}\n'
            + zones_toml())


def _camera() -> str:
    try:
        import picamera2  # noqa: F401
    except ImportError:
        return "webcam:0"
    return "camera"
