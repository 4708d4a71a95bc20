"""A publishing process for the crash tests, and the synthetic events the tests share.

    python tests/_publisher_proc.py --port P --outbox F --progress F --count N

submits events `i = done .. N-1` of a fixed list (`done` = complete lines already in the
progress file), writing each event_id to the progress file *after* `submit` returned
(committed). Then it waits for the outbox to drain, closes cleanly and exits 0 (1 if it
did not drain). The test SIGKILLs it at random moments and starts it again.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from edge.events import BendEvent, BendMetrics, Posture, utc_ms  # noqa: E402

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BASE_MS = 1_790_000_000_000  # 2026-09-21: a fixed day, so event ids never change


def fixed_ulid(t_ms: int, n: int) -> str:
    """A ULID whose 80 "random" bits are `n`: the same event always has the same id."""
    value = (t_ms << 80) | (n & ((1 << 80) - 1))
    return "".join(_CROCKFORD[(value >> (5 * (25 - k))) & 31] for k in range(26))


def synthetic_event(i: int, device_id: str = "kitchen", trace_frames: int = 30,
                    posture: Posture | None = None) -> BendEvent:
    """Event number `i` of a deterministic household: varied postures (or `posture`), full
    skeletons."""
    from datetime import UTC, datetime, timedelta

    posture = posture or ("hinge", "round", "squat")[i % 3]
    reasons = {"hinge": (), "round": ("lumbar_rounding",), "squat": (),
               "unsure": ("front_view",)}[posture]
    start = datetime.fromtimestamp(BASE_MS / 1000, UTC) + timedelta(seconds=7 * i)
    duration_s = 1.5 + (i % 7) * 0.25
    phase = i * 0.37

    def skeleton(shift: float) -> tuple[tuple[float, float, float], ...]:
        return tuple(
            (round(0.3 + 0.4 * ((k * 7 % 33) / 33) + 0.01 * math.sin(phase + shift), 4),
             round(0.1 + 0.8 * (k / 32) + 0.01 * math.cos(phase + shift), 4),
             round(0.5 + 0.5 * ((k * 13 % 33) / 33), 4))
            for k in range(33)
        )

    return BendEvent(
        event_id=fixed_ulid(BASE_MS + 7000 * i, i),
        device_id=device_id,
        started_at=utc_ms(start),
        ended_at=utc_ms(start + timedelta(seconds=duration_s)),
        duration_s=duration_s,
        posture=posture,
        confidence=0.6 + (i % 4) * 0.1,
        reasons=reasons,
        activity="dishwasher" if i % 2 else "unknown",
        zone="sink" if i % 2 else None,
        lift=i % 5 == 0,
        view="side" if i % 4 else "oblique",
        metrics=BendMetrics(
            peak_trunk_inclination_deg=40.0 + (i % 50),
            peak_hip_flexion_deg=60.0 + (i % 40),
            peak_knee_flexion_deg=10.0 + (i % 80),
            peak_hip_shift_norm=0.1 + (i % 10) / 50,
            back_bulge_norm=None if i % 6 == 0 else (i % 9) / 100,
            time_beyond_60_deg_s=(i % 3) * 0.4,
        ),
        skeleton=skeleton(0.0),
        trace_rate_hz=10.0,
        trace=tuple(skeleton(0.1 * f) for f in range(trace_frames)),
        model_name="blazepose_ghum",
        model_variant="full",
    )


def done_count(progress: Path) -> int:
    """Complete lines only: a line cut by the kill was not recorded."""
    if not progress.exists():
        return 0
    return progress.read_bytes().count(b"\n")


def main() -> int:
    import logging

    from edge.delivery.mqtt_config import MqttConfig
    from edge.delivery.outbox import Outbox
    from edge.delivery.publisher import Publisher

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--outbox", type=Path, required=True)
    parser.add_argument("--progress", type=Path, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--device-id", default="kitchen")
    parser.add_argument("--interval-s", type=float, default=0.004)
    parser.add_argument("--drain-timeout-s", type=float, default=30.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="proc: %(levelname)s %(message)s")

    config = MqttConfig(host="127.0.0.1", port=args.port, device_id=args.device_id,
                        reconnect_min_s=0.05, reconnect_max_s=0.5, ha_discovery=False)
    outbox = Outbox(args.outbox)
    # Schema checks are test_event_schema's job; here they would only slow the runs.
    publisher = Publisher(config, outbox, validate_events=False).start()
    start = done_count(args.progress)
    print(f"ready {start}", flush=True)
    with args.progress.open("ab") as progress:
        for i in range(start, args.count):
            event = synthetic_event(i, args.device_id)
            publisher.submit(event)
            progress.write(event.event_id.encode() + b"\n")
            progress.flush()
            time.sleep(args.interval_s)
    drained = publisher.wait_drained(args.drain_timeout_s)
    publisher.close()
    outbox.close()
    print("drained" if drained else f"not drained: {outbox.depth} left", flush=True)
    return 0 if drained else 1


if __name__ == "__main__":
    sys.exit(main())
