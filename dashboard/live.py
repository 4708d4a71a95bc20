"""Live updates for the Today page, as server-sent events.

One watcher polls SQLite's `PRAGMA data_version` (it changes whenever another connection
commits: our ingest thread, or an ingest in another process) twice a second and wakes
every open stream; each stream then gets its two fragments, rendered on the server, and
swaps them in (static/live.js). Idle streams get a comment every 15 s so proxies keep the
stream open.

Each stream waits on its own `asyncio.Event`, which the watcher sets: nothing is shared
between streams but the watcher's set of events, so a stream that is cancelled (its
browser went away) cannot disturb another (a shared `Condition` under `wait_for` did:
"Lock is not acquired", and updates stalled for everyone). The data a fragment shows is
read once per change and shared by every stream. `close()` (at shutdown) ends every
stream at once. A session may hold `MAX_STREAMS_PER_SESSION` streams (a few tabs); one
more gets 429 with a message saying so.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from dashboard.pages import today_context
from dashboard.store import Reader
from dashboard.summary import today
from dashboard.web import Services, UserDep, identity, services

POLL_S = 0.5
KEEPALIVE_S = 15.0
# Enough for a handful of tabs; a page opens one stream.
MAX_STREAMS_PER_SESSION = 8
# All sessions together: each stream holds a connection and a render per change.
MAX_STREAMS = 256

router = APIRouter(include_in_schema=False)


class StreamLimit(Exception):
    """One stream more than a session (or the server) may hold."""


class LiveWatcher:
    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._conn: sqlite3.Connection | None = None
        self._streams: set[asyncio.Event] = set()
        self._per_session: Counter[str] = Counter()
        self.generation = 0
        self.closed = False
        self._shared_lock = threading.Lock()
        self._shared: tuple[tuple[int, date], dict[str, Any]] | None = None

    def _version(self) -> int:
        if self._conn is None:
            self._conn = self._reader.connect()
        return self._reader.data_version(self._conn)

    async def run(self) -> None:
        last = await to_thread.run_sync(self._version)
        while not self.closed:
            await asyncio.sleep(POLL_S)
            try:
                version = await to_thread.run_sync(self._version)
            except sqlite3.Error:
                continue
            if version != last:
                last = version
                self.generation += 1
                self._wake_all()

    def _wake_all(self) -> None:
        for woken in self._streams:
            woken.set()

    def close(self) -> None:
        """End every stream now (the server is shutting down) and refuse new ones."""
        self.closed = True
        self._wake_all()

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    def open(self, session: str) -> asyncio.Event:
        """A new stream's wake-up event; raises `StreamLimit` over a limit."""
        if self.closed:
            raise StreamLimit("the dashboard is shutting down")
        if self._per_session[session] >= MAX_STREAMS_PER_SESSION:
            raise StreamLimit(f"this session already has {MAX_STREAMS_PER_SESSION} live "
                              "streams open: close a tab (or reload one) and try again")
        if len(self._streams) >= MAX_STREAMS:
            raise StreamLimit(f"the dashboard already serves {MAX_STREAMS} live streams: "
                              "try again later")
        woken = asyncio.Event()
        self._streams.add(woken)
        self._per_session[session] += 1
        return woken

    def release(self, session: str, woken: asyncio.Event) -> None:
        self._streams.discard(woken)
        self._per_session[session] -= 1
        if self._per_session[session] <= 0:
            del self._per_session[session]

    async def wait(self, woken: asyncio.Event, timeout_s: float) -> bool:
        """True once the data changed (or the watcher closed); False after `timeout_s`."""
        try:
            async with asyncio.timeout(timeout_s):
                await woken.wait()
        except TimeoutError:
            return False
        woken.clear()
        return True

    def shared_context(self, svc: Services) -> dict[str, Any]:
        """The Today data for the current change, read once for every stream (in a thread)."""
        key = (self.generation, today(svc.settings.zone))
        with self._shared_lock:
            if self._shared is None or self._shared[0] != key:
                self._shared = (key, today_context(svc))
            return self._shared[1]


def sse(event: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


class _LiveResponse(StreamingResponse):
    """A stream that gives its place back however it ends (finished, cancelled, failed)."""

    def __init__(self, content: AsyncIterator[str], release: Callable[[], None]) -> None:
        super().__init__(content, media_type="text/event-stream",
                         headers={"cache-control": "no-store", "x-accel-buffering": "no"})
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


@router.get("/live/today")
async def live_today(request: Request, user: UserDep) -> StreamingResponse:
    svc = services(request)
    who = identity(request, svc)
    watcher: LiveWatcher = request.app.state.watcher
    templates = svc.templates
    # Requests let in from localhost have no session of their own: they share one limit.
    session = "localhost" if who.via_localhost else who.session_token
    try:
        woken = watcher.open(session)
    except StreamLimit as exc:
        raise HTTPException(429, str(exc), headers={"retry-after": "15"}) from None

    def fragments() -> str:
        ctx = {**watcher.shared_context(svc), "user": who.user, "csrf": who.csrf}
        devices = templates.get_template("_today_devices.html").render(ctx)
        bends = templates.get_template("_today_bends.html").render(ctx)
        return json.dumps({"devices": devices, "bends": bends})

    async def stream() -> AsyncIterator[str]:
        yield "retry: 3000\n\n"
        while not watcher.closed:
            if await watcher.wait(woken, KEEPALIVE_S):
                if watcher.closed:
                    return
                yield sse("today", await to_thread.run_sync(fragments))
            else:
                yield ": keepalive\n\n"

    return _LiveResponse(stream(), lambda: watcher.release(session, woken))
