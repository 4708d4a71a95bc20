"""Event delivery benchmark: latency from `submit` to a subscriber, and sustained rate.

    .venv/bin/python bench/events_bench.py [--broker mqtt://HOST:PORT]

Without --broker it starts its own Mosquitto on a free 127.0.0.1 port (as the tests do).
Events are the tests' synthetic bends (~24 KB each: a full 30-frame replay trace).

- latency: events submitted at a steady `--rate-hz` (a bend ends, `submit` is called);
  the time until a QoS 1 subscriber holds it, p50/p99/max in ms. Measured once with the
  schema check in `submit` (the default) and once without.
- throughput: `--burst` events submitted back to back; events/s from the first submit to
  the subscriber holding the last one, and the commit-only rate of `submit` itself.

Prints one JSON object. Not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.delivery.mqtt_config import MqttConfig  # noqa: E402
from edge.delivery.outbox import Outbox  # noqa: E402
from edge.delivery.publisher import Publisher  # noqa: E402
from edge.delivery.topics import event_topic  # noqa: E402
from tests._publisher_proc import synthetic_event  # noqa: E402
from tests.mqtt_broker import MOSQUITTO, Collector, start_broker  # noqa: E402

DEVICE = "bench"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def received_at(collector: Collector, expected: set[str], timeout_s: float) -> dict[str, float]:
    """event_id -> first arrival time, waiting (bounded) until every expected id is in."""
    def arrivals() -> dict[str, float]:
        seen: dict[str, float] = {}
        for m in collector.on_topic(event_topic(DEVICE)):
            seen.setdefault(json.loads(m.payload)["event_id"], m.t_s)
        return seen

    collector.wait_for(lambda _: expected <= set(arrivals()), timeout_s)
    return {k: v for k, v in arrivals().items() if k in expected}


def latency(config: MqttConfig, folder: Path, collector: Collector, first: int, count: int,
            rate_hz: float, validate: bool) -> dict[str, float]:
    events = [synthetic_event(first + i, DEVICE) for i in range(count)]
    sent: dict[str, float] = {}
    commit_ms: list[float] = []
    with Outbox(folder / f"latency-{validate}.sqlite3") as outbox, \
            Publisher(config, outbox, validate_events=validate) as publisher:
        publisher.wait_connected(10)
        period_s = 1.0 / rate_hz
        next_s = time.perf_counter()
        for event in events:
            time.sleep(max(0.0, next_s - time.perf_counter()))
            next_s += period_s
            t0 = time.perf_counter()
            publisher.submit(event)
            commit_ms.append((time.perf_counter() - t0) * 1000)
            sent[event.event_id] = t0
        publisher.wait_drained(30)
    got = received_at(collector, set(sent), 30)
    ms = [(got[i] - sent[i]) * 1000 for i in sent if i in got]
    return {
        "events": count, "received": len(ms), "rate_hz": rate_hz,
        "p50_ms": round(percentile(ms, 50), 2), "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2),
        "submit_p50_ms": round(percentile(commit_ms, 50), 2),
        "submit_p99_ms": round(percentile(commit_ms, 99), 2),
    }


def throughput(config: MqttConfig, folder: Path, collector: Collector, first: int,
               count: int) -> dict[str, float]:
    events = [synthetic_event(first + i, DEVICE) for i in range(count)]
    with Outbox(folder / "burst.sqlite3") as outbox, \
            Publisher(config, outbox, validate_events=False) as publisher:
        publisher.wait_connected(10)
        t0 = time.perf_counter()
        for event in events:
            publisher.submit(event)
        committed_s = time.perf_counter() - t0
        publisher.wait_drained(120)
    got = received_at(collector, {e.event_id for e in events}, 120)
    delivered_s = max(got.values()) - t0
    return {
        "events": count, "received": len(got),
        "events_per_s": round(len(got) / delivered_s, 1),
        "submit_only_events_per_s": round(count / committed_s, 1),
        "payload_bytes": len(events[0].to_json()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--broker", help="mqtt://HOST:PORT (default: start a Mosquitto)")
    parser.add_argument("--events", type=int, default=200, help="events per latency run")
    parser.add_argument("--rate-hz", type=float, default=20.0)
    parser.add_argument("--burst", type=int, default=2000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hingewatch-bench-") as tmp:
        folder = Path(tmp)
        broker = None
        if args.broker:
            config = MqttConfig.from_url(args.broker, DEVICE)
        else:
            broker = start_broker(folder)
            config = MqttConfig(host="127.0.0.1", port=broker.port, device_id=DEVICE)
        config = MqttConfig(**{**config.__dict__, "ha_discovery": False,
                               "client_id": f"hingewatch-bench-{os.getpid()}"})
        collector = Collector(config.port, [event_topic(DEVICE)], clean=True,
                              client_id=f"bench-collector-{os.getpid()}",
                              ssl_context=config.ssl_context()).start()
        try:
            n = args.events
            result: dict[str, Any] = {
                "latency_submit_to_subscriber": latency(config, folder, collector, 0, n,
                                                        args.rate_hz, validate=True),
                "latency_without_schema_check": latency(config, folder, collector, n, n,
                                                        args.rate_hz, validate=False),
                "throughput": throughput(config, folder, collector, 2 * n, args.burst),
            }
        finally:
            collector.stop()
            if broker is not None:
                broker.stop()
    version = subprocess.run([MOSQUITTO, "-h"], capture_output=True, text=True).stdout
    result["machine"] = {
        "python": platform.python_version(), "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "broker": args.broker or (version.splitlines() or ["mosquitto"])[0],
        "outbox": "SQLite WAL, synchronous=FULL, on " + tempfile.gettempdir(),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
