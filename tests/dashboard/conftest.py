"""The dashboard's test helpers: a running dashboard on a real Mosquitto, a publisher, a
logged-in HTTP client, and headless Chromium (Debian's, through Playwright)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest

from dashboard.settings import DashboardMqtt, Settings
from dashboard.store.writer import Writer
from dashboard.web import auth
from dashboard.web.server import Dashboard
from edge.config_tables import changed
from edge.events import now_ms
from tests.mqtt_broker import Broker, start_broker
from tests.postgres_server import Postgres, have_postgres, start_postgres

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ZONE = "Europe/Berlin"
PASSWORD = "correct horse battery"


def wait_until(predicate: Callable[[], bool], timeout_s: float = 15.0,
               what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


# The store the running tests use: every dashboard test runs once on SQLite and once on
# PostgreSQL (`store_kind`); `make_settings` gives each a store of its own of that kind.
STORES = ("sqlite", "postgresql")
_current: dict[str, object] = {"kind": "sqlite", "server": None}


def new_store_url() -> str | None:
    """A fresh PostgreSQL schema when the tests run on PostgreSQL, else None (SQLite)."""
    server = _current["server"]
    if _current["kind"] != "postgresql":
        return None
    assert isinstance(server, Postgres)
    return server.new_database_url()


def make_settings(folder: Path, **changes: object) -> Settings:
    base = Settings(db_path=folder / "dashboard.sqlite3", db_url=new_store_url(), http_port=0,
                    timezone=ZONE,
                    mqtt=DashboardMqtt(client_id=f"hw-dash-{uuid.uuid4().hex[:10]}"))
    # type: ignore on the next line: test values of each field's type, checked by the dataclass
    return replace(base, **changes)  # type: ignore[arg-type]


def assert_config_refused(folder: Path, text: str, match: str) -> None:
    """The dashboard's settings refuse a config file of `text`: the one-line error matches
    `match` (the key and what it expects) and names the file."""
    from dashboard.config import load_settings
    from dashboard.errors import SettingsError

    config = folder / "hingewatch.toml"
    config.write_text(text)
    with pytest.raises(SettingsError, match=match) as caught:
        load_settings(config)
    assert str(config) in str(caught.value)


def store_args(settings: Settings) -> list[str]:
    """The command-line options that name `settings`' store."""
    if settings.db_url is not None:
        return ["--db-url", settings.db_url]
    return ["--db", str(settings.db_path)]


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    if not have_postgres():
        pytest.skip("PostgreSQL's server (initdb) is missing: apt-get install postgresql")
    server = start_postgres()
    yield server
    server.remove()


@pytest.fixture(scope="session", params=STORES, autouse=True)
def store_kind(request: pytest.FixtureRequest) -> Iterator[str]:
    """Session-scoped, so pytest runs every test on SQLite, then every test again on
    PostgreSQL, with one PostgreSQL server for all."""
    kind = str(request.param)
    if kind == "postgresql":
        _current["server"] = request.getfixturevalue("postgres")
    _current["kind"] = kind
    yield kind
    _current["kind"] = "sqlite"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked `sqlite_only` checks the file itself (its migrations by hand, an
    unwritable file); one marked `storeless` touches no store: both run once, on SQLite,
    so their PostgreSQL copies are not collected at all."""
    once = [item for item in items
            if getattr(item, "callspec", None) is not None
            and item.callspec.params.get("store_kind") == "postgresql"
            and any(item.get_closest_marker(m) for m in ("sqlite_only", "storeless"))]
    if once:
        config.hook.pytest_deselected(items=once)
        dropped = set(map(id, once))
        items[:] = [item for item in items if id(item) not in dropped]


def systemd_credential(folder: Path, monkeypatch: pytest.MonkeyPatch, name: str,
                       secret: str) -> Path:
    """`secret` as the systemd credential `name` ($CREDENTIALS_DIRECTORY), with the
    environment's broker login cleared so that the credential is where it comes from."""
    creds = folder / "credentials"
    creds.mkdir(exist_ok=True)
    (creds / name).write_text(secret + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    for variable in ("HINGEWATCH_MQTT_PASSWORD", "HINGEWATCH_MQTT_USERNAME"):
        monkeypatch.delenv(variable, raising=False)
    return creds / name


def add_user(writer: Writer, name: str, role: str, password: str = PASSWORD) -> None:
    writer.add_user(name, auth.hash_password(password), role, now_ms(), replace=True)


def publish(port: int, messages: Iterable[tuple[str, bytes | str]], *, qos: int = 1,
            retain: bool = False) -> int:
    """Publish with a real paho client and wait for every PUBACK; returns how many."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                         client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(200)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=qos, retain=retain)
                 for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(20)
        return len(infos)
    finally:
        client.disconnect()
        client.loop_stop()


def log_in(page: Any, url: str, name: str = "anna", password: str = PASSWORD) -> None:
    """Sign `page` (a Playwright page) in through the login form."""
    page.goto(url + "login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(url)


def login(base_url: str, name: str, password: str = PASSWORD) -> tuple[httpx.Client, str]:
    """An HTTP client holding a logged-in session, and that session's CSRF token."""
    client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=20)
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf, page.text[:500]
    r = client.post("/login", data={"username": name, "password": password,
                                    "csrf_token": csrf[1], "next": "/"})
    assert r.status_code == 303, r.text[:500]
    token = re.search(r'<meta name="csrf" content="([^"]+)"', client.get("/").text)
    assert token
    return client, token[1]


@pytest.fixture
def dash_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def writer(dash_settings: Settings) -> Iterator[Writer]:
    w = Writer(dash_settings.store, dash_settings.timezone)
    yield w
    w.close()


@pytest.fixture
def running(dash_settings: Settings, mosquitto: Broker) -> Iterator[Dashboard]:
    """Ingest from the test's Mosquitto plus the web server, in this process."""
    dash = Dashboard(changed(dash_settings, {"mqtt_port": mosquitto.port})).start()
    assert dash.ingest is not None and dash.ingest.wait_connected(10)
    yield dash
    dash.stop()


@pytest.fixture(scope="module")
def module_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    broker = start_broker(tmp_path_factory.mktemp("broker"))
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
