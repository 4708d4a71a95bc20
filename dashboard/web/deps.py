"""What every request handler shares: the services, who is asking, and the checks on them.

A request is let in when its session cookie names a live session, or (with
`allow_localhost`) when it comes from the loopback address; a write is let through only
with the CSRF token derived from the requester's own cookie.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.ingest.mqtt import Ingest
from dashboard.settings import Settings
from dashboard.store import scope as store_scope
from dashboard.store.reader import Reader
from dashboard.store.records import User
from dashboard.store.writer import Writer
from dashboard.web import auth, words
from dashboard.web.logins import LoginGuard
from edge.events import ACT_ON_CONFIDENCE, now_ms, parse_utc_ms

HERE = Path(__file__).parent
LOOPBACK = frozenset(("127.0.0.1", "::1", "::ffff:127.0.0.1"))
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,128}")  # fullmatch: "$" lets a final "\n" in
LOCAL_USER = User("local", "reviewer")


class LoginRequired(Exception):
    """No session: pages redirect to the login form, the API answers 401."""


class Forbidden(Exception):
    """Logged in, but not allowed (a viewer writing) or no valid CSRF token: 403."""


@dataclass(frozen=True)
class Services:
    settings: Settings
    writer: Writer
    reader: Reader
    secret: str
    templates: Jinja2Templates
    ingest: Ingest | None
    logins: LoginGuard = field(default_factory=LoginGuard)


@dataclass(frozen=True)
class Identity:
    user: User | None
    session_token: str
    csrf: str
    via_localhost: bool


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


SvcDep = Annotated[Services, Depends(services)]


def identity(request: Request, svc: SvcDep) -> Identity:
    token: str = request.state.session_token
    user = svc.reader.session_user(auth.token_hash(token), now_ms())
    local = False
    client = request.client.host if request.client else ""
    if user is None and svc.settings.allow_localhost and client in LOOPBACK:
        user, local = LOCAL_USER, True
    return Identity(user, token, auth.csrf_token(svc.secret, token), local)


IdentityDep = Annotated[Identity, Depends(identity)]


async def require_user(who: IdentityDep) -> User:
    """The signed-in account; from here on the request reads its households only.
    Async on purpose: it runs in the request's own task, so the scope it sets is the one
    every handler thread and streamed response of this request reads under."""
    if who.user is None:
        raise LoginRequired()
    # Let in from this machine (allow_localhost): the owner of a home, who sees it all.
    store_scope.current.set(None if who.via_localhost else who.user.name)
    return who.user


UserDep = Annotated[User, Depends(require_user)]


async def require_csrf(request: Request, who: IdentityDep, svc: SvcDep) -> None:
    presented = request.headers.get(auth.CSRF_HEADER)
    if presented is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(auth.CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    # A cookie minted for this very request cannot have a token in a form yet.
    token = None if request.state.session_fresh else who.session_token
    if not auth.csrf_ok(svc.secret, token, presented):
        raise Forbidden("The form has expired or did not come from this dashboard (CSRF): "
                        "reload the page and try again.")


CsrfDep = Annotated[None, Depends(require_csrf)]


def require_reviewer(user: UserDep, _: CsrfDep) -> User:
    if not user.can_review:
        raise Forbidden(f"{user.name} is a viewer: only reviewers can change reviews.")
    return user


ReviewerDep = Annotated[User, Depends(require_reviewer)]


class SessionCookie:
    """Gives every browser a session cookie (anonymous until login) and every response the
    security headers and a Server-Timing header. Pure ASGI, so server-sent events stream
    through untouched."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = None
        for name, value in scope["headers"]:
            if name == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    key, _, val = part.strip().partition("=")
                    if key == auth.COOKIE and _TOKEN.fullmatch(val):
                        token = val
        fresh = token is None
        started = time.perf_counter()
        store_scope.current.set(store_scope.NOBODY)  # until require_user knows who asks
        state = scope.setdefault("state", {})
        state["session_token"] = token or auth.new_token()
        state["session_fresh"] = fresh

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # How long the app took to start answering (shown in browsers' dev tools;
                # bench/dashboard_bench.py reads it).
                took_ms = (time.perf_counter() - started) * 1000
                headers.append("server-timing", f"app;dur={took_ms:.2f}")
                for key, value in SECURITY_HEADERS.items():
                    headers.setdefault(key, value)
                sets_own = any(v.startswith(f"{auth.COOKIE}=")
                               for v in headers.getlist("set-cookie"))
                if fresh and not sets_own:
                    headers.append("set-cookie", session_cookie(state["session_token"],
                                                                self.settings))
            await send(message)

        await self.app(scope, receive, send_with_headers)


SECURITY_HEADERS = {
    # Everything is served from here: no CDN, no inline script or style.
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def session_cookie(token: str, settings: Settings, max_age: int | None = None) -> str:
    age = settings.session_max_age_s if max_age is None else max_age
    secure = "; Secure" if settings.secure_cookies else ""
    return f"{auth.COOKIE}={token}; Path=/; Max-Age={age}; HttpOnly; SameSite=Lax{secure}"


# --- templates ----------------------------------------------------------------------------


def make_templates(settings: Settings) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    zone = settings.zone

    def local(text: str | None, fmt: str = "%a %d %b %H:%M") -> str:
        if not text:
            return "—"
        return parse_utc_ms(text).astimezone(zone).strftime(fmt)

    env.filters["local"] = local
    env.filters["clock"] = lambda text: local(text, "%H:%M:%S")
    env.filters["posture"] = words.posture_word
    env.filters["reason"] = words.reason_word
    env.filters["check"] = lambda why: words.CHECK_WORDS.get(why, "")
    env.filters["activity"] = words.activity_word
    env.filters["pct"] = lambda v: "—" if v is None else f"{v:.0%}"
    env.filters["duration"] = duration_words
    env.filters["ago"] = lambda text: ago(text)
    env.filters["plural"] = lambda n, word, many=None: word if n == 1 else (many or word + "s")
    env.globals["POSTURE_NOTES"] = words.POSTURE_NOTES
    env.globals["REJECT_WORDS"] = words.REJECT_WORDS
    env.globals["VIEW_WORDS"] = words.VIEW_WORDS
    env.globals["ACT_ON_CONFIDENCE"] = ACT_ON_CONFIDENCE
    env.globals["NOT_SURE_WORD"] = words.NOT_SURE_WORD
    env.globals["NOT_SURE_NOTES"] = {posture: note.format(pct=f"{ACT_ON_CONFIDENCE:.0%}")
                                      for posture, note in words.NOT_SURE_NOTES.items()}
    return templates


def duration_words(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs and minutes < 10 else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def ago(text: str | None, now: datetime | None = None) -> str:
    if not text:
        return "never"
    then = parse_utc_ms(text)
    seconds = ((now or datetime.now(then.tzinfo)) - then).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200,
           who: Identity | None = None) -> Any:
    svc = services(request)
    ident = who or identity(request, svc)
    base = {
        "user": ident.user,
        "csrf": ident.csrf,
        "via_localhost": ident.via_localhost,
        "settings": svc.settings,
        "path": request.url.path,
    }
    return svc.templates.TemplateResponse(request, name, {**base, **context},
                                          status_code=status_code)
