"""Logins: guessing is braked per account and per address, every failure is logged (never
the password), and hashing runs off the event loop so pages keep answering."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
from collections.abc import Iterator

import httpx
import pytest

from dashboard.settings import Settings
from dashboard.web import logins
from dashboard.web.server import Dashboard
from edge.events import now_ms
from tests.dashboard.conftest import PASSWORD, add_user, login, wait_until

WRONG = "not the password 7f3a"


@pytest.fixture
def site(dash_settings: Settings) -> Iterator[Dashboard]:
    with Dashboard(dash_settings, ingest=False) as dash:
        add_user(dash.writer, "anna", "viewer")
        yield dash


def attempt(client: httpx.Client, name: str, password: str) -> httpx.Response:
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    return client.post("/login", data={"username": name, "password": password,
                                       "csrf_token": csrf[1], "next": "/"})


def test_failures_per_account_are_refused_with_429_after_the_limit(
        site: Dashboard, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="hingewatch.dashboard.login"), \
            httpx.Client(base_url=site.url) as client:
        codes = [attempt(client, "anna", WRONG).status_code
                 for _ in range(logins.FREE_PER_ACCOUNT)]
        assert codes == [401] * logins.FREE_PER_ACCOUNT
        refused = attempt(client, "anna", PASSWORD)  # even the right one, until the wait ends
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert "Too many failed logins" in refused.text
        # After the wait the right password works (and clears the count).
        wait_until(lambda: attempt(client, "anna", PASSWORD).status_code == 303, 15,
                   "a login after the backoff")
    failed = [r.getMessage() for r in caplog.records if "login failed" in r.getMessage()]
    assert len(failed) == logins.FREE_PER_ACCOUNT
    assert all("'anna'" in line and "\n" not in line for line in failed)
    assert WRONG not in caplog.text and PASSWORD not in caplog.text


def test_failures_per_address_are_refused_with_429_after_the_limit(site: Dashboard) -> None:
    with httpx.Client(base_url=site.url) as client:
        # Made-up names, so no account reaches its own limit.
        codes = [attempt(client, f"guess{i}", WRONG).status_code
                 for i in range(logins.FREE_PER_ADDRESS)]
        assert codes == [401] * logins.FREE_PER_ADDRESS
        assert attempt(client, "guess-next", WRONG).status_code == 429


def slow_hash(password: str, p: int) -> str:
    """An scrypt hash that takes `p` times the usual work to check."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=p, dklen=32,
                            maxmem=64 * 1024 * 1024)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    return f"scrypt${2**14}$8${p}${b64(salt)}${b64(digest)}"


def test_health_answers_while_logins_hash(site: Dashboard) -> None:
    site.writer.add_user("slow", slow_hash(PASSWORD, p=24), "viewer", now_ms())
    client, _ = login(site.url, "anna")
    guard = site.app.state.services.logins
    done: list[int] = []

    def guess() -> None:
        with httpx.Client(base_url=site.url, timeout=60) as c:
            done.append(attempt(c, "slow", WRONG).status_code)

    guessers = [threading.Thread(target=guess) for _ in range(4)]
    for t in guessers:
        t.start()
    try:
        wait_until(lambda: guard.hashing >= 1, 20, "a login being hashed")
        health = client.get("/api/health")
        # The hash was still running when /api/health answered: it did not wait for it.
        still_hashing = guard.hashing
        assert health.status_code == 200 and still_hashing >= 1
    finally:
        for t in guessers:
            t.join(60)
        client.close()
    assert done == [401] * 4
