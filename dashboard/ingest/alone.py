"""`hingewatch dashboard ingest`: collect from the broker into the store, serve nothing.

A centre runs one web process (`serve --no-ingest`) and as many of these as the event
rate needs, on one machine or several, all on one PostgreSQL store; with
`[dashboard.mqtt] share_group` set they share the events (an MQTT shared subscription).
Each acknowledges only what it committed and the store refuses a second copy of an
event, so a process killed mid-batch loses nothing and stores nothing twice: the broker
re-sends its unacknowledged events when it comes back under the same client id.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from dashboard.errors import DashboardError
from dashboard.ingest.mqtt import Ingest
from dashboard.settings import Settings
from dashboard.store.dialect import shown
from dashboard.store.writer import Writer

log = logging.getLogger("hingewatch.dashboard.ingest")


def run(settings: Settings, announce: Callable[[str], None] = print,
        stop: threading.Event | None = None) -> int:
    """Collect until SIGINT or SIGTERM (or `stop` is set); returns the exit code."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = stop or threading.Event()
    writer = Writer(settings.store, settings.timezone)
    try:
        writer.check_writable()  # fail now, in one line, not at every batch
    except DashboardError:
        writer.close()
        raise
    ingest = Ingest(settings, writer)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        ingest.start()
        group = settings.mqtt.share_group
        announce(f"hingewatch ingest: collecting events from {settings.mqtt.url} "
                 f"into {shown(settings.store)}"
                 + (f", sharing them in group {group}" if group else ""))
        stop.wait()
    finally:
        ingest.stop()  # writes and acknowledges what was taken; the rest stays queued
        writer.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
