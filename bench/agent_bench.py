"""The edge agent on a static scene: CPU share of one core, and how often the model ran.

A camera on an empty corner (one picture with sensor noise, 15 fps, played in real time)
through the real agent, motion gate, model and publisher; prints JSON. Target: ≤ 5 % of
one core. Needs Mosquitto (started here on a free 127.0.0.1 port) and the fixtures.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECONDS = 30.0
FPS = 15.0


def main() -> int:
    from edge.agent import Agent
    from edge.config import parse
    from edge.delivery.outbox import Outbox
    from edge.delivery.publisher import Publisher
    from tests.mqtt_broker import start_broker
    from tests.test_agent import _static_clip

    fixtures = Path(os.environ.get("HINGEWATCH_FIXTURES", ROOT.parent / "shared" / "fixtures"))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        clip = tmp / "static.avi"
        _static_clip(fixtures, clip, seconds=SECONDS, fps=FPS)
        broker = start_broker(tmp)
        try:
            config = parse({
                "device": {"id": "bench", "state_dir": str(tmp)},
                "camera": {"source": str(clip)},
                "analysis": {"rate_hz": FPS},
                "mqtt": {"host": "127.0.0.1", "port": broker.port},
            }, "bench.toml")
            outbox = Outbox(tmp / "outbox.sqlite3", 1000)
            agent = Agent(config, Publisher(config.mqtt, outbox), once=True, realtime=True)
            cpu0, wall0 = time.process_time(), time.monotonic()
            agent.run(threading.Event())
            cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
            outbox.close()
        finally:
            broker.stop()
    h = agent.health
    print(json.dumps({
        "bench": "agent on a static scene",
        "seconds": round(wall, 1),
        "frames": h.frames,
        "pose_runs": h.pose_runs,
        "pose_share": round(h.pose_runs / max(h.analysed, 1), 4),
        "cpu_percent_of_one_core": round(100 * cpu / wall, 2),
        "target_cpu_percent": 5.0,
        "note": "includes decoding the clip, which a camera's lores stream avoids",
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
