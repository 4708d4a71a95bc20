"""Dashboard under load: live streams opened and closed by the hundred and a thousand failed
logins, while events flow; how fast live updates and pages stay.

    .venv/bin/python bench/dashboard_load_bench.py [--streams 200] [--failed-logins 1000]

Starts Mosquitto as the tests do (tests/mqtt_broker.py) and `hingewatch dashboard serve` as
its own process on a free loopback port, then, while a publisher sends `--rate` events a
second through the broker:

- one viewer opens `--streams` live streams at once (the session cap answers the rest
  with 429), then they are closed;
- `--streams` streams over several sessions are held open for `--rounds` rounds, each
  closed all at once and opened again; every stream records, for each event, the time from
  its publish to the live update that shows it (`live_update_ms`: publish -> broker ->
  ingest -> commit -> render -> server-sent event);
- `--failed-logins` wrong passwords from 8 guessers at once (the brake answers most of
  them with 429);
- all along, a logged-in client requests Today, Week and /api/health one after the other
  (`pages_ms`, its wall time per request);
- last, SIGTERM with streams open, and how long the process takes to end.

The dashboard's CPU (% of one core, from /proc) is given for each part. Bounded: fixed
counts, each part under a time cap. Prints one JSON object; targets are printed beside
the figures, nothing passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402

from dashboard.store.writer import Writer  # noqa: E402
from dashboard.web.live import MAX_STREAMS_PER_SESSION  # noqa: E402
from tests.dashboard.conftest import PASSWORD, add_user  # noqa: E402
from tests.dashboard.factory import make_event  # noqa: E402
from tests.mqtt_broker import start_broker  # noqa: E402

TARGET_P95_MS = 100.0
ZONE = "Europe/Berlin"
PART_CAP_S = 120.0
EVENT_ID = re.compile(r"/events/([0-9A-HJKMNP-TV-Z]{26})")


def stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {"n": len(values), "p50": round(statistics.median(ordered), 1),
            "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
            "max": round(ordered[-1], 1)}


class Cpu:
    """The dashboard process's CPU time, read from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._ticks = os.sysconf("SC_CLK_TCK")

    def seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self._ticks  # utime + stime


class Publisher(threading.Thread):
    """Publishes one event every 1/rate s; keeps each event's publish time by its id."""

    def __init__(self, port: int, rate: float) -> None:
        super().__init__(daemon=True)
        self.rate = rate
        self.sent: dict[str, float] = {}
        self._halt = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-load-pub")
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def run(self) -> None:
        while not self._halt.wait(1 / self.rate):
            # A little in the past, so each is the newest bend of today on the page.
            event = make_event("hinge", datetime.now(UTC) - timedelta(seconds=1), frames=10)
            self.sent[event.event_id] = time.monotonic()
            self.client.publish("hingewatch/kitchen/event", event.to_json(), qos=1)

    def stop(self) -> None:
        self._halt.set()
        self.join(10)
        self.client.disconnect()
        self.client.loop_stop()


def start_dashboard(folder: Path, mqtt_port: int) -> tuple[subprocess.Popen[str], str]:
    db = folder / "dashboard.sqlite3"
    writer = Writer(db, ZONE)
    for i in range(64):
        add_user(writer, f"viewer{i}", "viewer")
    writer.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "serve", "--port", "0", "--db", str(db),
         "--mqtt-port", str(mqtt_port), "--client-id", "bench-load", "--timezone", ZONE],
        cwd=ROOT, stdout=(folder / "dashboard.log").open("w"), stderr=subprocess.STDOUT,
        text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        if m := re.search(r"open (http://\S+/)", (folder / "dashboard.log").read_text()):
            return proc, m[1]
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the dashboard did not start: " + (folder / "dashboard.log").read_text())


async def session(url: str, name: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=url, timeout=30)
    page = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    r = await client.post("/login", data={"username": name, "password": PASSWORD,
                                          "csrf_token": csrf[1], "next": "/"})
    assert r.status_code == 303, r.status_code
    return client


class Stream:
    """One open /live/today. It only keeps what arrives and when (so that reading 200 of
    them costs this process little); `latencies()` then finds, for each event, the time
    from its publish to the first update that shows it (the first update is not timed)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.chunks: list[tuple[float, bytes]] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for chunk in self.response.aiter_raw():
                self.chunks.append((time.monotonic(), chunk))
        except httpx.HTTPError:
            return  # the server ended the stream (SIGTERM)

    def latencies(self, sent: dict[str, float]) -> list[float]:
        found: list[float] = []
        seen: set[str] | None = None
        buffer = b""
        for at, chunk in self.chunks:
            buffer += chunk
            while b"\n\n" in buffer:
                message, buffer = buffer.split(b"\n\n", 1)
                if not message.startswith(b"event: today"):
                    continue
                ids = set(EVENT_ID.findall(message.decode()))
                if seen is not None:
                    found += [(at - sent[i]) * 1000 for i in ids - seen if i in sent]
                seen = ids if seen is None else seen | ids
        return found

    async def close(self) -> None:
        self.task.cancel()
        await self.response.aclose()


async def open_streams(client: httpx.AsyncClient, n: int) -> tuple[list[Stream], int]:
    async def one() -> Stream | None:
        try:
            r = await client.send(client.build_request("GET", "/live/today"), stream=True)
        except httpx.RemoteProtocolError:
            # A kept-alive connection the server had just closed (after its idle timeout).
            r = await client.send(client.build_request("GET", "/live/today"), stream=True)
        if r.status_code != 200:
            await r.aclose()
            return None
        return Stream(r)

    opened = await asyncio.gather(*(one() for _ in range(n)))
    streams = [s for s in opened if s is not None]
    return streams, n - len(streams)


async def probe_pages(client: httpx.AsyncClient, times: list[float],
                      stop: asyncio.Event) -> None:
    paths = ("/", "/week", "/api/health")
    i = 0
    while not stop.is_set():
        t0 = time.perf_counter()
        r = await client.get(paths[i % len(paths)])
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (paths[i % len(paths)], r.status_code)
        i += 1
        await asyncio.sleep(0.05)


async def guess(url: str, n: int, codes: dict[int, int]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for i in range(n):
            page = await client.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert csrf
            r = await client.post("/login", data={"username": f"viewer{i % 64}",
                                                  "password": "wrong guess",
                                                  "csrf_token": csrf[1], "next": "/"})
            codes[r.status_code] = codes.get(r.status_code, 0) + 1


async def scenario(url: str, proc: subprocess.Popen[str], pub: Publisher,
                   args: argparse.Namespace) -> dict[str, Any]:
    cpu = Cpu(proc.pid)
    out: dict[str, Any] = {}
    sessions_needed = -(-args.streams // MAX_STREAMS_PER_SESSION)
    clients = [await session(url, f"viewer{i}") for i in range(sessions_needed + 1)]
    prober, pages_ms = clients[-1], []
    stop_probe = asyncio.Event()
    probe = asyncio.create_task(probe_pages(prober, pages_ms, stop_probe))
    try:
        async with asyncio.timeout(PART_CAP_S):
            # One viewer asks for them all.
            c0, t0 = cpu.seconds(), time.monotonic()
            streams, refused = await open_streams(clients[0], args.streams)
            await asyncio.sleep(2)
            out["one_viewer"] = {
                "asked": args.streams, "opened": len(streams), "refused_429": refused,
                "dashboard_cpu_percent": round(
                    100 * (cpu.seconds() - c0) / (time.monotonic() - t0)),
            }
            await asyncio.gather(*(s.close() for s in streams))

        # Many sessions: open, hold while events flow, close all at once, again.
        live_ms: list[float] = []
        c0, t0, held = cpu.seconds(), time.monotonic(), 0
        async with asyncio.timeout(PART_CAP_S * args.rounds):
            for _ in range(args.rounds):
                per = [min(MAX_STREAMS_PER_SESSION, args.streams - k * MAX_STREAMS_PER_SESSION)
                       for k in range(sessions_needed)]
                opened = await asyncio.gather(*(open_streams(c, n)
                                                for c, n in zip(clients, per, strict=False)))
                streams = [s for group, _ in opened for s in group]
                held = max(held, len(streams))
                await asyncio.sleep(args.hold_s)
                await asyncio.gather(*(s.close() for s in streams))
                live_ms += [ms for s in streams for ms in s.latencies(pub.sent)]
        out["streams"] = {
            "held_at_once": held, "rounds": args.rounds, "hold_s": args.hold_s,
            "dashboard_cpu_percent": round(100 * (cpu.seconds() - c0) / (time.monotonic() - t0)),
        }
        out["live_update_ms"] = stats(live_ms)
        out["pages_ms_during_streams"] = stats(pages_ms)

        # Failed logins, with streams open and events flowing.
        streams, _ = await open_streams(clients[0], MAX_STREAMS_PER_SESSION)
        pages_ms.clear()
        codes: dict[int, int] = {}
        c0, t0 = cpu.seconds(), time.monotonic()
        async with asyncio.timeout(PART_CAP_S):
            share = [args.failed_logins // 8 + (k < args.failed_logins % 8) for k in range(8)]
            await asyncio.gather(*(guess(url, n, codes) for n in share))
        took = time.monotonic() - t0
        out["failed_logins"] = {
            "n": sum(codes.values()), "by_status": {str(k): v for k, v in sorted(codes.items())},
            "seconds": round(took, 2),
            "dashboard_cpu_percent": round(100 * (cpu.seconds() - c0) / took),
        }
        out["pages_ms_during_logins"] = stats(pages_ms)

        # SIGTERM with streams open.
        stop_probe.set()
        await probe
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 30)
        out["sigterm"] = {"exit_code": code, "seconds": round(time.monotonic() - t0, 2),
                          "streams_open": len(streams)}
        await asyncio.gather(*(s.close() for s in streams))
    finally:
        stop_probe.set()
        for client in clients:
            await client.aclose()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--streams", type=int, default=200)
    p.add_argument("--failed-logins", type=int, default=1000)
    p.add_argument("--rate", type=float, default=5.0, help="events a second")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--hold-s", type=float, default=6.0)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="hw-load-") as tmp:
        folder = Path(tmp)
        broker = start_broker(folder)
        proc, url = start_dashboard(folder, broker.port)
        pub = Publisher(broker.port, args.rate)
        pub.start()
        try:
            result = asyncio.run(scenario(url, proc, pub, args))
        except BaseException:
            print((folder / "dashboard.log").read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            pub.stop()
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            broker.stop()
    result["events_published"] = len(pub.sent)
    result["target_p95_ms"] = TARGET_P95_MS
    result["cpus"] = os.cpu_count()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
