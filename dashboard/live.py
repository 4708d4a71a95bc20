"""Live updates for the Today page, as server-sent events.

One watcher polls SQLite's `PRAGMA data_version` (it changes whenever another connection
commits: our ingest thread, or an ingest in another process) twice a second and wakes
every open page; each page then gets its two fragments, rendered on the server, and
swaps them in (static/live.js). Idle pages get a comment every 15 s so proxies keep the
stream open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from dashboard.pages import today_context
from dashboard.store import Reader
from dashboard.web import UserDep, identity, services

POLL_S = 0.5
KEEPALIVE_S = 15.0

router = APIRouter(include_in_schema=False)


class LiveWatcher:
    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._conn: sqlite3.Connection | None = None
        self._changed = asyncio.Condition()
        self.generation = 0

    def _version(self) -> int:
        if self._conn is None:
            self._conn = self._reader.connect()
        return self._reader.data_version(self._conn)

    async def run(self) -> None:
        last = await to_thread.run_sync(self._version)
        while True:
            await asyncio.sleep(POLL_S)
            try:
                version = await to_thread.run_sync(self._version)
            except sqlite3.Error:
                continue
            if version != last:
                last = version
                async with self._changed:
                    self.generation += 1
                    self._changed.notify_all()

    async def wait(self, seen: int, timeout_s: float) -> bool:
        """True once the generation moves past `seen`; False after `timeout_s`."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.generation != seen), timeout_s
                )
        return self.generation != seen


def sse(event: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


@router.get("/live/today")
async def live_today(request: Request, user: UserDep) -> StreamingResponse:
    svc = services(request)
    who = identity(request, svc)
    watcher: LiveWatcher = request.app.state.watcher
    templates = svc.templates

    def fragments() -> str:
        ctx = {**today_context(svc), "user": who.user, "csrf": who.csrf}
        devices = templates.get_template("_today_devices.html").render(ctx)
        bends = templates.get_template("_today_bends.html").render(ctx)
        return json.dumps({"devices": devices, "bends": bends})

    async def stream() -> AsyncIterator[str]:
        seen = watcher.generation
        yield "retry: 3000\n\n"
        while not await request.is_disconnected():
            if await watcher.wait(seen, KEEPALIVE_S):
                seen = watcher.generation
                yield sse("today", await to_thread.run_sync(fragments))
            else:
                yield ": keepalive\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
