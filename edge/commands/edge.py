"""`hingewatch edge`: run the edge agent (the service), or replay a file into a broker."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import threading
from pathlib import Path

from edge.config import Config, ConfigError, load, outbox_path
from edge.delivery.mqtt_config import MqttConfig
from edge.delivery.outbox import Outbox


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("edge", help="run the edge agent: camera to bend events over MQTT")
    p.add_argument("--config", type=Path,
                   help="config file (default /etc/hingewatch/hingewatch.toml)")
    p.add_argument("--source", help="override [camera] source: camera, webcam:N, a file, synthetic")
    p.add_argument("--broker", help="override [mqtt]: mqtt://HOST:PORT or mqtts://HOST:PORT")
    p.add_argument("--device-id", help="override [device] id")
    p.add_argument("--outbox", type=Path, help="override [mqtt] outbox_path")
    p.add_argument("--once", action="store_true",
                   help="stop when the source ends and the outbox is empty (replay a file)")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="with --once: give up waiting for the broker after this many seconds")
    p.add_argument("--realtime", action="store_true",
                   help="play files and the synthetic source at their own speed, as a "
                        "camera would deliver them")
    p.set_defaults(func=run)


def configure(args: argparse.Namespace) -> Config:
    config = load(args.config)
    where = "command line"
    device = config.device
    if args.device_id:
        try:
            device = dataclasses.replace(device, id=args.device_id)
        except ValueError as exc:
            raise ConfigError(f"{where}: --device-id: {exc}") from None
    camera = dataclasses.replace(config.camera, source=args.source) if args.source \
        else config.camera
    mqtt_fields = {f.name: getattr(config.mqtt, f.name)
                   for f in dataclasses.fields(MqttConfig)}
    mqtt_fields["device_id"] = device.id
    if args.outbox:
        mqtt_fields["outbox_path"] = args.outbox
    if args.broker:
        mqtt = MqttConfig.from_url(args.broker, device.id, **{
            k: v for k, v in mqtt_fields.items() if k not in ("host", "port", "tls", "device_id")
        })
    else:
        mqtt = MqttConfig(**mqtt_fields)
    return dataclasses.replace(config, device=device, camera=camera, mqtt=mqtt)


def run(args: argparse.Namespace) -> int:
    # Here, not at the top: `hingewatch pose` must work without the MQTT client installed.
    from edge.agent import Agent
    from edge.delivery.publisher import Publisher

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = configure(args)
    path = outbox_path(config)
    _mention_the_shared_outbox(config, path)
    outbox = Outbox(path, config.mqtt.outbox_max_events, device_id=config.device.id)
    dead_before = outbox.dead_count
    publisher = Publisher(config.mqtt, outbox)
    agent = Agent(config, publisher, once=args.once, realtime=args.realtime)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()  # the loop notices, finishes the bend under way and flushes

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # --once: --timeout bounds the whole replay, broker outages included. A daemon timer,
    # cancelled when the replay ends, so the process exits as soon as the work is done.
    timer = threading.Timer(args.timeout, stop.set)
    timer.daemon = True
    if args.once:
        timer.start()
    try:
        code = agent.run(stop)
        left, dead = outbox.depth, outbox.dead_count - dead_before
    finally:
        timer.cancel()
        outbox.close()
    if args.once and left > 0:
        print(f"hingewatch: error: {left} event(s) not acknowledged by "
              f"{config.mqtt.url} within {args.timeout:.0f} s; they stay in the outbox",
              file=sys.stderr)
        return 2
    if args.once and dead > 0:
        print(f"hingewatch: error: {dead} event(s) the broker would not take were set aside "
              f"in {path} (its dead letters); the others were delivered", file=sys.stderr)
        return 2
    return code


def _mention_the_shared_outbox(config: Config, path: Path) -> None:
    """Before one outbox per device, every device without a config shared this file: its
    events are not lost, only no longer sent by default."""
    shared = Path(config.device.state_dir).expanduser() / "outbox.sqlite3"
    if config.mqtt.outbox_path is None and shared.is_file() and shared != path:
        logging.getLogger(__name__).warning(
            "%s is an outbox shared by older versions; its events are sent only with "
            "--outbox %s (each device's outbox is now %s)", shared, shared, path)
