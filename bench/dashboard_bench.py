"""Dashboard benchmark: ingest rate through Mosquitto into SQLite, and the server time of the
Week page and /api/summary with a year of events.

    .venv/bin/python bench/dashboard_bench.py [--events 20000] [--year-events 70000]

- ingest, live: a publisher process sends `--events` full-size events (~24 kB: a 30-frame
  replay trace each) back to back at QoS 1 while the dashboard ingests; events/s from the
  first publish to the last event committed and acknowledged.
- ingest, backlog: the same number queued in the dashboard's persistent session while it
  is down, then drained when it starts; events/s from its start to the last commit.
  Both use a Mosquitto started as the tests start it (tests/mqtt_broker.py), whose
  `max_inflight_messages` is Mosquitto's default of 20: the dashboard acknowledges after
  each commit, so that window bounds the rate (see `--inflight`).
- pages: `--year-events` events over the last 365 days (two devices, five activities,
  2 % reviewed) stored through the real ingest path; then each page and API call is
  requested `--repeat` times by a logged-in client; the server's own time (the
  `Server-Timing` header) and the client's wall time, median and p95, in ms.

Prints one JSON object. Not a test: nothing here passes or fails; targets are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard.ingest.messages import classify  # noqa: E402
from dashboard.settings import DashboardMqtt, Settings  # noqa: E402
from dashboard.store.reader import Reader  # noqa: E402
from dashboard.store.summary import IsoWeek  # noqa: E402
from dashboard.store.writer import Writer  # noqa: E402
from dashboard.web.server import Dashboard  # noqa: E402
from edge.ulid import new_ulid  # noqa: E402
from tests.dashboard.conftest import add_user, login  # noqa: E402
from tests.dashboard.factory import ACTIVITIES, make_event  # noqa: E402
from tests.mqtt_broker import start_broker  # noqa: E402

INGEST_TARGET = 2000.0  # events/s
PAGE_TARGET_MS = 50.0
ZONE = "Europe/Berlin"


def full_payloads(n: int, seed: int = 7, devices: int = 1) -> list[tuple[str, bytes]]:
    """`n` (topic, full-size event): 200 distinct bends, each sent with fresh event ids;
    one device ("kitchen") or `devices` homes' devices in turn ("home0" ...)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    bases = [make_event(rng.choice(("hinge", "round", "squat")), now - timedelta(seconds=i),
                        frames=30, rng=rng).to_json() for i in range(200)]
    ids = [json.loads(b)["event_id"] for b in bases]
    out = []
    for i in range(n):
        device = "kitchen" if devices == 1 else f"home{i % devices}"
        payload = bases[i % 200].replace(ids[i % 200], new_ulid())
        if devices > 1:
            payload = payload.replace('"device_id":"kitchen"', f'"device_id":"{device}"')
        out.append((f"hingewatch/{device}/event", payload.encode()))
    return out


def publisher_main(port: int, n: int, inflight: int, devices: int = 1) -> None:
    """Child process: build the payloads, say ready, wait for `go`, publish, say done."""
    import paho.mqtt.client as mqtt

    payloads = full_payloads(n, devices=devices)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.max_inflight_messages_set(inflight)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    print("ready", flush=True)
    sys.stdin.readline()
    t0 = time.perf_counter()
    infos = [client.publish(topic, p, qos=1) for topic, p in payloads]
    for info in infos:
        info.wait_for_publish(120)
    print(f"done {time.perf_counter() - t0:.3f}", flush=True)
    client.disconnect()
    client.loop_stop()


def publisher(port: int, n: int, inflight: int, devices: int = 1) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--publisher", str(port), str(n), str(inflight),
         str(devices)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def wait_written(dash: Dashboard, n: int, timeout_s: float) -> float:
    assert dash.ingest is not None
    deadline = time.perf_counter() + timeout_s
    while dash.ingest.status().written < n:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"only {dash.ingest.status().written} of {n} written")
        time.sleep(0.01)
    return time.perf_counter()


def bench_ingest(folder: Path, n: int, inflight: int) -> dict[str, Any]:
    broker = start_broker(folder)
    settings = Settings(db_path=folder / "ingest.sqlite3", http_port=0, timezone=ZONE,
                        mqtt=DashboardMqtt(port=broker.port, client_id="bench-dashboard"))
    size = len(full_payloads(1)[0][1])
    try:
        # Live: the dashboard ingests while the publisher sends.
        pub = publisher(broker.port, n, inflight)
        dash = Dashboard(settings).start()
        assert dash.ingest is not None and dash.ingest.wait_connected(10)
        assert pub.stdin is not None and pub.stdout is not None
        t0 = time.perf_counter()
        pub.stdin.write("go\n")
        pub.stdin.flush()
        t_end = wait_written(dash, n, 600)
        publish_s = float(pub.stdout.readline().split()[1])
        pub.wait(60)
        batches = dash.ingest.last_batch
        dash.stop()
        live = {"events": n, "seconds": round(t_end - t0, 3),
                "events_per_s": round(n / (t_end - t0)),
                "publisher_alone_events_per_s": round(n / publish_s)}
        # Backlog: queued in our session while we are down, drained on start.
        pub = publisher(broker.port, n, inflight)
        assert pub.stdin is not None and pub.stdout is not None
        pub.stdin.write("go\n")
        pub.stdin.flush()
        pub.stdout.readline()
        pub.wait(60)
        t0 = time.perf_counter()
        dash = Dashboard(settings).start()
        t_end = wait_written(dash, n, 600)
        dash.stop()
        backlog = {"events": n, "seconds": round(t_end - t0, 3),
                   "events_per_s": round(n / (t_end - t0))}
        reader = Reader(settings.db_path)
        stored = reader.event_total()
        reader.close()
    finally:
        broker.stop()
    return {"event_bytes": size, "live": live, "backlog": backlog, "stored": stored,
            "expected_stored": 2 * n, "last_batch": str(batches),
            "broker": "tests/mqtt_broker.py config (max_inflight_messages default 20)",
            "target_events_per_s": INGEST_TARGET,
            "meets_target": min(live["events_per_s"], backlog["events_per_s"]) >= INGEST_TARGET}


def year_of_events(writer: Writer, n: int, seed: int = 11) -> int:
    """`n` events over the last 365 days through classify + write_batch (the ingest path)."""
    rng = random.Random(seed)
    template = json.loads(make_event("hinge", datetime.now(UTC), frames=2, rng=rng).to_json())
    zone = Settings(timezone=ZONE).zone
    now = datetime.now(UTC)
    start = now - timedelta(days=365)
    step = (now - start) / n
    batch = []
    reviewed = 0
    ids = []
    for i in range(n):
        t = start + step * i
        progress = i / n
        posture = rng.choices(("hinge", "round", "squat"),
                              (0.35 + 0.5 * progress, 0.6 - 0.5 * progress, 0.2))[0]
        e = dict(template)
        e["event_id"] = new_ulid(int(t.timestamp() * 1000))
        e["device_id"] = rng.choice(("kitchen", "nursery"))
        e["started_at"] = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
        t2 = t + timedelta(seconds=2.5)
        e["ended_at"] = t2.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t2.microsecond // 1000:03d}Z"
        e["duration_s"] = 2.5  # what the times say, or the event check refuses it
        e["posture"] = posture
        e["activity"] = rng.choice(ACTIVITIES)
        e["metrics"] = {**e["metrics"], "peak_trunk_inclination_deg": rng.uniform(15, 95),
                        "time_beyond_60_deg_s": round(rng.uniform(0, 2), 2)}
        batch.append(classify(f"hingewatch/{e['device_id']}/event", json.dumps(e).encode(),
                              zone, "2026-01-01T00:00:00.000Z"))
        ids.append(e["event_id"])
        if len(batch) == 2000:
            writer.write_batch(batch, "2026-01-01T00:00:00.000Z")
            batch = []
    if batch:
        writer.write_batch(batch, "2026-01-01T00:00:00.000Z")
    for event_id in rng.sample(ids, n // 50):
        writer.review(event_id, rng.choice(("hinge", "round", "squat", "not_a_bend")), "",
                      "bench", "2026-01-01T00:00:00.000Z")
        reviewed += 1
    return reviewed


def timed(client: Any, path: str, repeat: int) -> dict[str, Any]:
    server, wall = [], []
    for i in range(repeat + 3):
        t0 = time.perf_counter()
        r = client.get(path)
        took = (time.perf_counter() - t0) * 1000
        assert r.status_code == 200, (path, r.status_code)
        if i >= 3:  # the first few warm the caches
            wall.append(took)
            server.append(float(r.headers["server-timing"].split("dur=")[1]))

    def p95(v: list[float]) -> float:
        return sorted(v)[min(len(v) - 1, round(0.95 * (len(v) - 1)))]

    return {"server_ms_median": round(statistics.median(server), 2),
            "server_ms_p95": round(p95(server), 2),
            "wall_ms_median": round(statistics.median(wall), 2), "bytes": len(r.content)}


def bench_pages(folder: Path, n: int, repeat: int) -> dict[str, Any]:
    settings = Settings(db_path=folder / "year.sqlite3", http_port=0, timezone=ZONE)
    writer = Writer(settings.db_path, settings.timezone)
    t0 = time.perf_counter()
    reviewed = year_of_events(writer, n)
    load_s = time.perf_counter() - t0
    writer.close()
    dash = Dashboard(replace(settings), ingest=False).start()
    try:
        add_user(dash.writer, "bench", "reviewer")
        client, _ = login(dash.url, "bench")
        this = IsoWeek.of(datetime.now(settings.zone).date())
        mid = this.shifted(-26)
        paths = {
            "week_page_this_week": "/week",
            "week_page_26_weeks_ago": f"/week?week={mid}",
            "api_summary_this_week": "/api/summary",
            "api_summary_26_weeks_ago": f"/api/summary?week={mid}",
            "report_page": "/report",
            "today_page": "/",
            "events_page_filtered": "/events?posture=round&device=kitchen",
            "api_events_page_100": "/api/events?limit=100&offset=5000",
        }
        results = {name: timed(client, path, repeat) for name, path in paths.items()}
        client.close()
        reader = Reader(settings.db_path)
        total = reader.event_total()
        size = reader.size_bytes()
        reader.close()
    finally:
        dash.stop()
    keys = ("week_page_this_week", "week_page_26_weeks_ago", "api_summary_this_week",
            "api_summary_26_weeks_ago")
    return {"events": total, "reviewed": reviewed, "load_s": round(load_s, 1),
            "db_mib": round(size / 2**20, 1), "repeat": repeat, "results": results,
            "target_server_ms": PAGE_TARGET_MS,
            "meets_target": all(results[k]["server_ms_p95"] <= PAGE_TARGET_MS for k in keys)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--inflight", type=int, default=1000,
                        help="the publisher's own in-flight window (default 1000)")
    parser.add_argument("--year-events", type=int, default=70_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--publisher", nargs=4, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publisher:
        publisher_main(*args.publisher)
        return
    out: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                       "platform": platform.platform()}}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_ingest:
            out["ingest"] = bench_ingest(Path(tmp), args.events, args.inflight)
        out["pages"] = bench_pages(Path(tmp), args.year_events, args.repeat)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
