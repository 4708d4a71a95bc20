"""The demo's fallback broker where Mosquitto is not installed: amqtt on 127.0.0.1.

Run as `python -m edge.demo.amqtt_broker PORT`; it serves until it is terminated.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys


async def serve(port: int) -> None:
    from amqtt.broker import Broker

    broker = Broker({
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin":
                    {"allow_anonymous": True}},
    })
    await broker.start()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    await stopped.wait()
    await broker.shutdown()


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        print("usage: python -m edge.demo.amqtt_broker PORT", file=sys.stderr)
        return 2
    asyncio.run(serve(int(sys.argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
