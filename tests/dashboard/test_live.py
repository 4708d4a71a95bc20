"""Live streams (/live/today) opened and closed by the dozen while events flow: updates keep
coming for everyone, each session holds a bounded number, and SIGTERM ends them all."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboard.settings import Settings
from dashboard.store.writer import Writer
from dashboard.web.live import MAX_STREAMS_PER_SESSION
from dashboard.web.server import Dashboard
from edge.config_tables import changed
from tests.dashboard.conftest import (
    ROOT,
    add_user,
    login,
    make_settings,
    publish,
    store_args,
)
from tests.dashboard.factory import make_event
from tests.mqtt_broker import Broker

SESSIONS = 6
OPEN_CLOSE_ROUNDS = 3
UPDATE_BOUND_S = 5.0  # polls twice a second: an update is due within ~0.6 s
RELEASE_BOUND_S = 10.0  # a closed stream's place is free again once the server sees the close


def run_async(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """asyncio.run in a thread of its own: Playwright's sync API (the browser tests) leaves
    an event loop running in this one."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(scenario())
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "the scenario did not end within 120 s"
    if failure:
        raise failure[0]


class Errors(logging.Handler):
    """Every error record from the server's loggers (uvicorn's do not reach caplog)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


@pytest.fixture
def server_errors() -> Iterator[Errors]:
    handler = Errors()
    loggers = [logging.getLogger(n) for n in ("uvicorn.error", "asyncio", "hingewatch")]
    for lg in loggers:
        lg.addHandler(handler)
    yield handler
    for lg in loggers:
        lg.removeHandler(handler)


def cookies_of(url: str, n: int) -> list[httpx.Cookies]:
    sessions = []
    for _ in range(n):
        client, _ = login(url, "anna")
        sessions.append(client.cookies)
        client.close()
    return sessions


def events(n: int) -> list[tuple[str, str]]:
    now = datetime.now(UTC)
    return [("hingewatch/kitchen/event",
             make_event("hinge", now - timedelta(seconds=30 + i), frames=2).to_json())
            for i in range(n)]


async def open_stream(client: httpx.AsyncClient) -> tuple[httpx.Response, object]:
    """Open /live/today and read its first line; returns the response and its byte iterator."""
    request = client.build_request("GET", "/live/today")
    response = await client.send(request, stream=True)
    chunks = response.aiter_text()
    if response.status_code == 200:
        first = await asyncio.wait_for(chunks.__anext__(), 10)
        assert first.startswith("retry:")
    return response, chunks


async def open_full_shares(clients: list[httpx.AsyncClient], bound_s: float
                           ) -> list[tuple[httpx.Response, object]]:
    """Each client's full share of streams, retried until every one opens: a stream just
    closed gives its place back once the server has seen the close, which takes a moment
    on a busy machine. Fails if that has not happened within `bound_s`."""
    deadline = time.monotonic() + bound_s
    while True:
        opened = await asyncio.gather(*(
            open_stream(c) for c in clients for _ in range(MAX_STREAMS_PER_SESSION)))
        if all(r.status_code == 200 for r, _ in opened):
            return opened
        await asyncio.gather(*(r.aclose() for r, _ in opened))
        assert time.monotonic() < deadline, "closed streams kept their places"
        await asyncio.sleep(0.1)


async def next_update(chunks: object, bound_s: float) -> str:
    """Read until an `event: today` arrives, at most `bound_s` (keepalives are skipped)."""
    text = ""
    async with asyncio.timeout(bound_s):
        while "event: today" not in text:
            # type: ignore on the next line: the streaming body is an async iterator at run time
            text += await chunks.__anext__()  # type: ignore[attr-defined]
    return text


def test_many_streams_closed_while_events_flow_keep_updates_coming(
        dash_settings: Settings, mosquitto: Broker, server_errors: Errors) -> None:
    with Dashboard(changed(dash_settings, {"mqtt_port": mosquitto.port})) as dash:
        add_user(dash.writer, "anna", "viewer")
        jars = cookies_of(dash.url, SESSIONS)

        async def scenario() -> None:
            clients = [httpx.AsyncClient(base_url=dash.url, cookies=jar, timeout=20)
                       for jar in jars]
            try:
                for round_ in range(OPEN_CLOSE_ROUNDS):
                    # From the second round on, the places the last round's streams held.
                    opened = await open_full_shares(clients, RELEASE_BOUND_S)
                    # Events arrive while the streams are open, then they are dropped at once.
                    await asyncio.to_thread(publish, mosquitto.port, events(20 + round_))
                    await asyncio.sleep(0.3)
                    await asyncio.gather(*(r.aclose() for r, _ in opened))
                # Every stream gave its place back: a session opens its full share again...
                again = await open_full_shares(clients[:1], RELEASE_BOUND_S)
                # ... and each of them is updated promptly.
                await asyncio.to_thread(publish, mosquitto.port, events(1))
                updates = await asyncio.gather(*(next_update(chunks, UPDATE_BOUND_S)
                                                 for _, chunks in again))
                assert all("devices" in u for u in updates)
                await asyncio.gather(*(r.aclose() for r, _ in again))
            finally:
                await asyncio.gather(*(c.aclose() for c in clients))

        run_async(scenario)
    assert server_errors.records == []


def test_one_stream_over_the_cap_gets_429(dash_settings: Settings) -> None:
    with Dashboard(dash_settings, ingest=False) as dash:
        add_user(dash.writer, "anna", "viewer")
        (jar,) = cookies_of(dash.url, 1)

        async def scenario() -> None:
            async with httpx.AsyncClient(base_url=dash.url, cookies=jar, timeout=20) as client:
                opened = [await open_stream(client) for _ in range(MAX_STREAMS_PER_SESSION)]
                assert all(r.status_code == 200 for r, _ in opened)
                over, _ = await open_stream(client)
                assert over.status_code == 429 and over.headers["retry-after"]
                detail = (await over.aread()).decode()
                assert f"already has {MAX_STREAMS_PER_SESSION} live streams" in detail
                await over.aclose()
                # Another session is not held back by this one.
                other = httpx.AsyncClient(base_url=dash.url, cookies=cookies_of(dash.url, 1)[0])
                response, _ = await open_stream(other)
                assert response.status_code == 200
                await response.aclose()
                await other.aclose()
                # Closing one gives its place back.
                await opened[0][0].aclose()
                for _ in range(100):
                    again, _ = await open_stream(client)
                    if again.status_code == 200:
                        break
                    await again.aclose()
                    await asyncio.sleep(0.05)
                assert again.status_code == 200
                await asyncio.gather(again.aclose(), *(r.aclose() for r, _ in opened[1:]))

        run_async(scenario)


def test_sigterm_ends_a_dashboard_with_open_streams(tmp_path: Path, mosquitto: Broker) -> None:
    settings = make_settings(tmp_path)
    writer = Writer(settings.store, settings.timezone)
    add_user(writer, "anna", "viewer")
    writer.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "serve", "--port", "0", *store_args(settings),
         "--mqtt-port", str(mosquitto.port), "--client-id",
         settings.mqtt.client_id, "--timezone", settings.timezone],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    try:
        url = None
        for _ in range(20):
            if m := re.search(r"open (http://\S+/)", proc.stdout.readline()):
                url = m[1]
                break
        assert url
        jars = cookies_of(url, 4)

        async def scenario() -> None:
            clients = [httpx.AsyncClient(base_url=url, cookies=jar, timeout=20) for jar in jars]
            opened = await asyncio.gather(*(
                open_stream(c) for c in clients for _ in range(MAX_STREAMS_PER_SESSION)))
            assert all(r.status_code == 200 for r, _ in opened)
            # Half are dropped while events flow; the rest are open at SIGTERM.
            await asyncio.to_thread(publish, mosquitto.port, events(30))
            await asyncio.gather(*(r.aclose() for r, _ in opened[::2]))
            proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(proc.wait, 15)
            for c in clients:
                await c.aclose()

        run_async(scenario)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
