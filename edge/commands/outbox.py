"""`hingewatch outbox show|retry`: what waits for the broker, and the events set aside
because it would not take them (see edge.delivery.outbox)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from edge.config import ConfigError, load, outbox_path
from edge.delivery.outbox import Outbox


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("outbox", help="show the outbox and its set-aside events, or retry them")
    p.add_argument("action", choices=("show", "retry"),
                   help="show: what waits and what was set aside; retry: queue the set-aside "
                        "events again (with the agent stopped; it sends them when it starts)")
    p.add_argument("--config", type=Path,
                   help="config file (default /etc/hingewatch/hingewatch.toml)")
    p.add_argument("--device-id", help="override [device] id")
    p.add_argument("--outbox", type=Path, help="override [mqtt] outbox_path")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load(args.config)
    if args.device_id:
        try:
            device = dataclasses.replace(config.device, id=args.device_id)
        except ValueError as exc:
            raise ConfigError(f"command line: --device-id: {exc}") from None
        config = dataclasses.replace(config, device=device)
    path = args.outbox or outbox_path(config)
    if not path.is_file():
        raise ConfigError(f"{path}: no outbox there (nothing was ever queued, or another "
                          "outbox_path / --device-id?)")
    with Outbox(path, device_id=config.device.id) as outbox:
        if args.action == "retry":
            moved = outbox.retry_dead()
            print(f"{path}: {moved} set-aside event(s) queued again; {outbox.depth} wait")
            return 0
        print(f"{path}: device {outbox.device_id}, {outbox.depth} event(s) wait, "
              f"{outbox.dead_count} set aside")
        for event_id, topic, reason in outbox.dead_letters(limit=1000):
            print(f"  {event_id}  {topic!r}  {reason}")
    return 0
