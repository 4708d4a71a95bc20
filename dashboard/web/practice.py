"""The Practice page: choose a drill and a device, start; the device's live skeleton and
back line stream in (server-sent events from `/live/practice`), reps appear with their
cue, and the summary at stop. The commands go out through `PracticeLink`."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from dashboard.ingest.practice_link import PracticeLink, PracticeLinkError
from dashboard.web.deps import CsrfDep, Services, SvcDep, UserDep, render
from dashboard.web.live import KEEPALIVE_S, sse
from dashboard.web.params import parse_device
from dashboard.web.skeleton import CONNECTIONS
from edge.practice_contract import drill_ids

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/practice", include_in_schema=False)

# Frames waiting for a slow browser: past this the oldest go (a late frame is worth nothing).
QUEUE_FRAMES = 32
MAX_PRACTICE_STREAMS = 32


def drill_word(drill: str) -> str:
    return drill.replace("_", " ").capitalize()


def practice_link(request: Request) -> PracticeLink:
    link: PracticeLink | None = getattr(request.app.state, "practice", None)
    if link is None:
        raise HTTPException(503, "this dashboard runs without a broker connection: "
                                 "practice needs one")
    return link


def _device(svc: Services, device: str | None) -> str:
    found = parse_device(svc, device)
    if found is None:
        raise HTTPException(400, "device: choose a device")
    return found


@router.get("/practice")
def practice_page(request: Request, *, device: str | None = None, user: UserDep,
                  svc: SvcDep) -> Response:
    devices = svc.reader.devices()
    chosen = parse_device(svc, device) or (devices[0].device_id if devices else None)
    link: PracticeLink | None = getattr(request.app.state, "practice", None)
    return render(request, "practice.html", {
        "devices": devices, "device": chosen,
        "drills": [(d, drill_word(d)) for d in drill_ids()],
        "open_drill": link.session(chosen) if link is not None and chosen else None,
        "bones": json.dumps(CONNECTIONS),
    })


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device: str = Field(max_length=64)
    drill: str = Field(max_length=40)


class StopBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device: str = Field(max_length=64)


@api_router.post("/start")
def start(body: StartBody, request: Request, user: UserDep, _: CsrfDep,
          svc: SvcDep) -> dict[str, Any]:
    """Open a practice session on a device: it starts streaming its skeleton."""
    device = _device(svc, body.device)
    try:
        practice_link(request).open(device, body.drill)
    except PracticeLinkError as exc:
        raise HTTPException(400 if str(exc).startswith("drill") else 503, str(exc)) from None
    return {"device": device, "drill": body.drill, "open": True}


@api_router.post("/stop")
def stop(body: StopBody, request: Request, user: UserDep, _: CsrfDep,
         svc: SvcDep) -> dict[str, Any]:
    """Close the device's practice session: it sends its summary and stops streaming."""
    device = _device(svc, body.device)
    try:
        practice_link(request).close(device)
    except PracticeLinkError as exc:
        raise HTTPException(503, str(exc)) from None
    return {"device": device, "open": False}


@router.get("/live/practice")
async def live_practice(request: Request, *, device: str | None = None, user: UserDep,
                        svc: SvcDep) -> StreamingResponse:
    device_id = _device(svc, device)
    link = practice_link(request)
    streams: list[int] = request.app.state.practice_streams
    if streams[0] >= MAX_PRACTICE_STREAMS:
        raise HTTPException(429, f"already {MAX_PRACTICE_STREAMS} practice streams open",
                            headers={"retry-after": "15"})
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue(QUEUE_FRAMES)

    def put(item: tuple[str, str]) -> None:  # in the loop
        if queue.full():
            queue.get_nowait()  # the oldest frame goes
        queue.put_nowait(item)

    def listener(kind: str, data: dict[str, Any]) -> None:  # in paho's thread
        text = json.dumps(data, separators=(",", ":"))
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody to tell
            loop.call_soon_threadsafe(put, (kind, text))

    link.listen(device_id, listener)
    streams[0] += 1

    async def stream() -> AsyncIterator[str]:
        try:
            yield "retry: 3000\n\n"
            while True:
                try:
                    async with asyncio.timeout(KEEPALIVE_S):
                        kind, text = await queue.get()
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                yield sse(kind, text)
        finally:
            link.unlisten(device_id, listener)
            streams[0] -= 1

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})
