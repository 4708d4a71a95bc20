"""Run the dashboard: ingest and the web server in one process.

`run(settings)` is what `hingewatch dashboard` does: it blocks until Ctrl-C or SIGTERM and
then stops the web server, writes and acknowledges what ingest has taken, and disconnects
(what the broker had not handed over stays queued in our persistent session).
`Dashboard` does the same in a background thread, for tests, benchmarks and the demo.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import uvicorn

from dashboard.errors import DashboardError
from dashboard.ingest.mqtt import Ingest
from dashboard.ingest.practice_link import PracticeLink
from dashboard.settings import Settings
from dashboard.store.dialect import shown
from dashboard.store.writer import Writer
from dashboard.web import auth
from dashboard.web.app import create_app
from edge.events import now_ms

log = logging.getLogger("hingewatch.dashboard")
DEMO_USER = "demo"


def listen(settings: Settings) -> socket.socket:
    """The listening socket, bound now so that a taken port fails with one clear line."""
    family = socket.AF_INET6 if ":" in settings.http_host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets that
    # say they are TCP; without it every second response on a kept-alive connection waited
    # ~40 ms for the browser's delayed ACK (measured by bench/dashboard_bench.py).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((settings.http_host, settings.http_port))
        sock.listen(128)
        return sock
    except OSError as exc:
        sock.close()
        raise DashboardError(
            f"cannot listen on {settings.http_host}:{settings.http_port}: {exc.strerror or exc}"
            " (is another dashboard running? choose another --port)"
        ) from exc


def ensure_demo_user(settings: Settings, writer: Writer | None = None,
                     name: str = DEMO_USER) -> str:
    """Create (or reset) a reviewer account for a demo; returns its new random password."""
    password = secrets.token_urlsafe(9)
    own = writer is None
    w = writer or Writer(settings.store)  # no zone: an account never re-dates events
    try:
        w.add_user(name, auth.hash_password(password), "reviewer", now_ms(), replace=True)
    finally:
        if own:
            w.close()
    return password


class _Server(uvicorn.Server):
    """uvicorn's server, except that SIGINT/SIGTERM end `run()` normally instead of being
    re-raised after the shutdown (which would kill the process before ingest has written
    and acknowledged what it took), and that `on_shutdown` runs first when it shuts down
    (it ends the live streams, which would otherwise hold the shutdown up)."""

    def __init__(self, config: uvicorn.Config, on_shutdown: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._on_shutdown()
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit)
                    for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class Dashboard:
    """Ingest + web server; `start()` returns once both run, `stop()` ends both."""

    def __init__(self, settings: Settings, *, ingest: bool = True,
                 practice: bool | None = None) -> None:
        """`practice`: connect the Practice and Tuning pages' own broker link (default: when
        ingesting; a centre's web server alone, `serve --no-ingest`, asks for it)."""
        self.sock = listen(settings)
        port = self.sock.getsockname()[1]
        # Port 0 asks the OS for a free port; the settings then carry the one we got.
        self.settings = replace(settings, http_port=port)
        try:
            self.writer = Writer(settings.store, settings.timezone)
        except DashboardError:
            self.sock.close()
            raise
        try:
            self.writer.check_writable()  # fail now, in one line, not at every batch
        except DashboardError:
            self.writer.close()
            self.sock.close()
            raise
        self.ingest = Ingest(self.settings, self.writer) if ingest else None
        wants_link = ingest if practice is None else practice
        self.practice = PracticeLink(self.settings.mqtt) if wants_link else None
        self.app = create_app(self.settings, writer=self.writer, ingest=self.ingest,
                              practice_link=self.practice)
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="on",
            # Open server-sent-event streams never finish on their own.
            timeout_graceful_shutdown=2,
        )
        self.server = _Server(config, on_shutdown=self.app.state.watcher.close)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.settings.url

    def start(self, timeout_s: float = 20.0) -> Dashboard:
        if self.ingest is not None:
            self.ingest.start()
        if self.practice is not None:
            self.practice.start()
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                        name="dashboard-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                self.stop()
                raise DashboardError(f"the web server did not start within {timeout_s:.0f} s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self.close()

    def close(self) -> None:
        """Stop collecting and the practice link, close the socket and the store."""
        if self.ingest is not None:
            self.ingest.stop()
        if self.practice is not None:
            self.practice.stop()
        self.sock.close()
        self.writer.close()

    def __enter__(self) -> Dashboard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run(settings: Settings, *, demo_user: bool = False, ingest: bool = True,
        announce: Callable[[str], None] = print) -> int:
    """Run in the foreground until interrupted; returns the exit code. `ingest=False`:
    the web server alone (a centre's `hingewatch dashboard ingest` processes collect)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    dash = Dashboard(settings, ingest=ingest, practice=True)
    if demo_user:
        password = ensure_demo_user(dash.settings, dash.writer)
        announce(f"demo account: user {DEMO_USER}, password {password}")
    if dash.ingest is not None:
        dash.ingest.start()
    if dash.practice is not None:
        dash.practice.start()
    announce(f"hingewatch dashboard: open {dash.url}"
             + (" (no login from this machine)" if settings.allow_localhost else ""))
    if dash.ingest is not None:
        announce(f"collecting events from {settings.mqtt.url} "
                 f"into {shown(settings.store)}")
    try:
        dash.server.run(sockets=[dash.sock])  # handles SIGINT and SIGTERM itself
    finally:
        dash.close()
    return 0
