"""`create_app(settings)`: the dashboard's web application (pages, JSON API, live updates)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from importlib import metadata
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from dashboard.errors import StoreError
from dashboard.ingest.mqtt import Ingest
from dashboard.ingest.practice_link import PracticeLink
from dashboard.settings import Settings
from dashboard.store.reader import Reader
from dashboard.store.writer import Writer
from dashboard.web import api, live, pages, params, practice, report, tuning
from dashboard.web.deps import (
    HERE,
    Forbidden,
    LoginRequired,
    Services,
    SessionCookie,
    make_templates,
    render,
)

log = logging.getLogger("hingewatch.dashboard")

DESCRIPTION = """\
The hingewatch dashboard's JSON API: the bends the devices reported, a week in numbers,
what ingest took in and refused, and reviews.

Log in through `/login` (the session cookie then authenticates every call), or run the
dashboard with `allow_localhost` and call it from 127.0.0.1. A write also needs the
`X-CSRF-Token` header: the value of `<meta name="csrf">` on any page of your session.
"""


def _version() -> str:
    try:
        return metadata.version("hingewatch")
    except metadata.PackageNotFoundError:
        return "0"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/live/"))


def create_app(settings: Settings, *, writer: Writer | None = None,
               ingest: Ingest | None = None, practice_link: PracticeLink | None = None
               ) -> FastAPI:
    """The ASGI app. Pass the `writer` (and `ingest`) when the caller runs ingest in this
    process, so that both share the one writer; otherwise the app opens its own. The
    Practice page needs `practice_link` (a broker connection)."""
    writer = writer or Writer(settings.store, settings.timezone)
    reader = Reader(settings.store)
    secret = settings.secret_key or writer.secret_key()
    services = Services(settings, writer, reader, secret, make_templates(settings), ingest)
    watcher = live.LiveWatcher(reader, lambda: live.today_fragments(services))
    if ingest is not None:
        ingest.on_written = watcher.poke  # live pages hear of a commit at once

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(watcher.run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            reader.close()

    app = FastAPI(
        title="hingewatch dashboard", version=_version(), description=DESCRIPTION,
        docs_url=None, redoc_url=None,  # their pages load scripts from a CDN
        openapi_url="/api/openapi.json", lifespan=lifespan,
    )
    app.state.services = services
    app.state.watcher = watcher
    app.state.practice = practice_link
    app.state.practice_streams = [0]
    app.add_middleware(SessionCookie, settings=settings)
    # No redirect built from the Host header (Starlette's slash redirects are absolute):
    # `/static` alone gets a relative one, `/events/` and the like a 404.
    app.router.redirect_slashes = False

    @app.get("/static", include_in_schema=False)
    def static_folder() -> Response:
        return Response(status_code=307, headers={"location": "/static/"})

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(api.router)
    app.include_router(live.router)
    app.include_router(report.router)
    app.include_router(practice.router)
    app.include_router(practice.api_router)
    app.include_router(tuning.router)
    app.include_router(pages.router)
    _handlers(app)
    return app


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "log in first (/login)"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return _error(request, 403, str(exc))

    @app.exception_handler(params.BadRequest)
    async def bad_request(request: Request, exc: params.BadRequest) -> Response:
        return _error(request, 400, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail),
                      dict(exc.headers) if exc.headers else None)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if _wants_json(request):
            return await request_validation_exception_handler(request, exc)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:])
        return _error(request, 400, f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> Response:
        log.error("store: %s", exc)
        return _error(request, 503, "the database is busy or unavailable; try again shortly")


def _error(request: Request, status: int, message: str,
           headers: dict[str, str] | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    try:
        return render(request, "error.html", {"status": status, "message": message},
                      status_code=status)
    except StoreError:
        return Response(message, status_code=status, media_type="text/plain")
