"""`hingewatch config check FILE` and `hingewatch config example`."""

from __future__ import annotations

import argparse
from pathlib import Path

from edge.config import EXAMPLE_PATH, load


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="check a config file or print a commented example")
    csub = p.add_subparsers(dest="config_command", required=True, metavar="{check,example}")
    c = csub.add_parser("check", help="check a config file: exit 0 when it is good")
    c.add_argument("file", type=Path)
    c.set_defaults(func=run_check)
    e = csub.add_parser("example", help="print a fully commented example config")
    e.set_defaults(func=run_example)


def run_check(args: argparse.Namespace) -> int:
    config = load(args.file)  # every table, [dashboard] too: one loader
    print(f"{args.file}: ok (device {config.device.id}, source {config.camera.source}, "
          f"broker {config.mqtt.url}, {len(config.zones)} zones, "
          f"dashboard on port {config.dashboard.http_port})")
    return 0


def run_example(args: argparse.Namespace) -> int:
    print(EXAMPLE_PATH.read_text(encoding="utf-8"), end="")
    return 0
