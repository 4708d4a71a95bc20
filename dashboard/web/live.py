"""Live updates for the Today page, as server-sent events.

One watcher notices every commit: ingest in this process pokes it right after each batch
commits, and it polls SQLite's `PRAGMA data_version` twice a second for commits from
another process (`adduser`, a second ingest). On a change it renders the page's two
fragments once and wakes every open stream, which sends them; the page swaps them in
(static/live.js). Idle streams get a comment every 15 s so proxies keep them open.

Each stream waits on its own `asyncio.Event`, which the watcher sets: nothing is shared
between streams but the watcher's set of events, so a stream that is cancelled (its
browser went away) cannot disturb another (a shared `Condition` under `wait_for` did:
"Lock is not acquired", and updates stalled for everyone). `close()` (at shutdown) ends
every stream at once. A session may hold `MAX_STREAMS_PER_SESSION` streams (a few tabs);
one more gets 429 with a message saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable

from anyio import to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from dashboard.errors import StoreError
from dashboard.store import scope as store_scope
from dashboard.store.dialect import Connection
from dashboard.store.reader import Reader
from dashboard.web.deps import Services, UserDep, identity, services
from dashboard.web.pages import today_context

log = logging.getLogger("hingewatch.dashboard.live")

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
    """`render()` (run in a worker thread) makes the JSON every stream sends on a change."""

    def __init__(self, reader: Reader, render: Callable[[], str]) -> None:
        self._reader = reader
        self._errors: tuple[type[BaseException], ...] = (*reader.dialect.errors, StoreError)

        self._render = render
        self._conn: Connection | None = None
        self._streams: set[asyncio.Event] = set()
        self._per_session: Counter[str] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poked: asyncio.Event | None = None
        self.generation = 0
        # The rendered Today per account (`scope.current`): each sees its own households.
        # Emptied at each change; rendered when a stream of that account asks.
        self._payloads: dict[str | None, str] = {}
        self.closed = False

    def _version(self) -> int:
        if self._conn is None:
            self._conn = self._reader.connect()
        return self._reader.data_version(self._conn)

    def poke(self) -> None:
        """Something was committed (callable from any thread): look now, not at the poll."""
        loop, poked = self._loop, self._poked
        if loop is not None and poked is not None:
            # The loop may close between the check and the call (shutdown): nothing to wake.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(poked.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._poked = poked = asyncio.Event()
        last = await to_thread.run_sync(self._version)
        while not self.closed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_S):
                    await poked.wait()
            poked.clear()
            try:
                version = await to_thread.run_sync(self._version)
            except self._errors as exc:
                log.warning("live updates: cannot read the database: %s", exc)
                continue
            if version != last:
                last = version
                self._payloads = {}
                self.generation += 1
                self._wake_all()

    async def payload(self, who: str | None) -> str | None:
        """Today's live parts as account `who` sees them; None when they cannot be read or
        rendered now (the stream waits for the next change)."""
        found = self._payloads.get(who)
        if found is not None:
            return found
        generation = self.generation
        try:
            payload = await to_thread.run_sync(self._render_as, who)
        except self._errors as exc:
            log.warning("live updates: cannot read the database: %s", exc)
            return None
        except Exception:  # noqa: BLE001 - a bad render must not end live updates for good
            log.exception("live updates: cannot render Today")
            return None
        if generation == self.generation:  # not already out of date
            self._payloads[who] = payload
        return payload

    def _render_as(self, who: str | None) -> str:
        with store_scope.reading_as(who):
            return self._render()

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


def today_fragments(svc: Services) -> str:
    """The Today page's live parts as the JSON live.js reads (as the account reading sees it)."""
    ctx = today_context(svc)
    devices = svc.templates.get_template("_today_devices.html").render(ctx)
    bends = svc.templates.get_template("_today_bends.html").render(ctx)
    return json.dumps({"devices": devices, "bends": bends})


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
    # Requests let in from localhost have no session of their own: they share one limit.
    session = "localhost" if who.via_localhost else who.session_token
    try:
        woken = watcher.open(session)
    except StreamLimit as exc:
        raise HTTPException(429, str(exc), headers={"retry-after": "15"}) from None
    scope_of = store_scope.current.get()  # set by `user` (require_user) for this request

    async def stream() -> AsyncIterator[str]:
        yield "retry: 3000\n\n"
        while not watcher.closed:
            if await watcher.wait(woken, KEEPALIVE_S):
                if watcher.closed:
                    return
                payload = await watcher.payload(scope_of)
                if payload is not None:
                    yield sse("today", payload)
            else:
                yield ": keepalive\n\n"

    return _LiveResponse(stream(), lambda: watcher.release(session, woken))
