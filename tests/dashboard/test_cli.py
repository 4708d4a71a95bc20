"""`hingewatch dashboard [serve]` and `hingewatch dashboard adduser`, run as commands."""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from dashboard.cli import add_parser
from dashboard.config import load_settings
from dashboard.errors import SettingsError
from dashboard.store.reader import Reader
from tests.dashboard.conftest import ROOT, login, systemd_credential

pytestmark = pytest.mark.sqlite_only


def run(*args: str, stdin: str = "", env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dashboard", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_adduser(tmp_path: Path) -> None:
    db = str(tmp_path / "d.sqlite3")
    ok = run("adduser", "anna", "--role", "reviewer", "--password-stdin", "--db", db,
             stdin="correct horse battery\n")
    assert ok.returncode == 0 and "added reviewer anna" in ok.stdout
    again = run("adduser", "anna", "--password-stdin", "--db", db, stdin="another password\n")
    assert again.returncode == 2
    assert again.stderr.strip().count("\n") == 0 and "--replace" in again.stderr
    replaced = run("adduser", "anna", "--password-stdin", "--replace", "--db", db,
                   stdin="another password\n")
    assert replaced.returncode == 0
    creds = Reader(Path(db)).user_credentials("anna")
    assert creds is not None and creds[0].role == "viewer"


@pytest.mark.parametrize(("args", "stdin", "says"), [
    (["adduser", "a b", "--password-stdin"], "long enough pw\n", "user name"),
    (["adduser", "okname\n", "--password-stdin"], "long enough pw\n", "user name"),
    (["adduser", "anna", "--password-stdin"], "short\n", "at least 8"),
    (["serve", "--timezone", "Mars/Olympus"], "", "timezone"),
    (["serve", "--streak-goal", "2"], "", "streak_goal"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], stdin: str,
                                          says: str) -> None:
    result = run(*args, "--db", str(tmp_path / "d.sqlite3"), stdin=stdin)
    assert result.returncode == 2
    assert result.stderr.startswith("hingewatch: error: ") and says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_taken_port_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("--port", str(port), "--db", str(tmp_path / "d.sqlite3"))
    assert result.returncode == 2 and f"127.0.0.1:{port}" in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"], ["adduser", "--help"]])
def test_help(args: list[str]) -> None:
    result = run(*args)
    assert result.returncode == 0 and "usage: hingewatch dashboard" in result.stdout


def test_add_parser_fits_the_main_command_line() -> None:
    root = argparse.ArgumentParser(prog="hingewatch")
    add_parser(root.add_subparsers(dest="command", required=True))
    args = root.parse_args(["dashboard", "--port", "9000", "serve", "--host", "0.0.0.0"])
    assert (args.http_port, args.http_host, args.func.__name__) == (9000, "0.0.0.0",
                                                                  "run_dashboard")
    args = root.parse_args(["dashboard", "adduser", "anna", "--role", "reviewer"])
    assert args.func.__name__ == "run_adduser" and args.role == "reviewer"


def test_settings_come_from_the_file_then_environment_then_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "hingewatch.toml"
    config.write_text('[device]\nid = "kitchen"\n[dashboard]\nhttp_port = 8081\n'
                      f'db_path = "{tmp_path / "d.sqlite3"}"\n'
                      '[dashboard.mqtt]\nhost = "hub.local"\nport = 1884\n'
                      'username = "dashboard"\n')
    systemd_credential(tmp_path, monkeypatch, "mqtt.password", "s3cret")
    s = load_settings(config, http_port=9000, mqtt_port=1885)
    assert (s.mqtt.host, s.mqtt.port, s.mqtt.credentials(), s.http_port) == (
        "hub.local", 1885, ("dashboard", "s3cret"), 9000)
    monkeypatch.setenv("HINGEWATCH_MQTT_USERNAME", "other")
    assert load_settings(config).mqtt.credentials()[0] == "other"
    config.write_text("[dashboard]\nhttp_prot = 1\n")
    with pytest.raises(SettingsError, match=r"hingewatch.toml: \[dashboard\]: unknown key"):
        load_settings(config)
    config.write_text('[dashboard]\nhttp_port = "80"\n')
    with pytest.raises(SettingsError, match="http_port: expected a whole number"):
        load_settings(config)


def test_serve_with_a_demo_user_prints_the_url_and_the_password(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "serve", "--demo-user", "--port", "0",
         "--db", str(tmp_path / "d.sqlite3"), "--mqtt-port", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    try:
        password = url = None
        for _ in range(20):
            line = proc.stdout.readline()
            if m := re.search(r"user demo, password (\S+)", line):
                password = m[1]
            if m := re.search(r"open (http://\S+/)", line):
                url = m[1]
                break
        assert password and url
        client, _ = login(url, "demo", password)  # the printed account works
        assert client.get("/").status_code == 200
        client.close()
        assert httpx.get(url, follow_redirects=False).status_code == 303
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        proc.stdout.close()
    assert proc.returncode == 0


def test_adduser_never_re_dates_events(tmp_path: Path) -> None:
    """The machine's zone (TZ) differs from the dashboard's: adding a user moves no bend."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from dashboard.ingest.messages import classify
    from dashboard.store.writer import Writer
    from tests.dashboard.factory import make_event

    db = tmp_path / "d.sqlite3"
    late = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)  # the 25th in Berlin, the 24th in LA
    writer = Writer(db, "Europe/Berlin")
    writer.write_batch([classify("hingewatch/kitchen/event",
                                 make_event("hinge", late, frames=1).to_json().encode(),
                                 ZoneInfo("Europe/Berlin"), "2026-11-24T23:31:00.000Z")],
                       "2026-11-24T23:31:00.000Z")
    writer.close()
    added = run("adduser", "bob", "--password-stdin", "--db", str(db),
                stdin="correct horse battery\n", env={"TZ": "America/Los_Angeles"})
    assert added.returncode == 0, added.stderr
    reader = Reader(db)
    assert [r.day for r in reader.day_rows("2026-11-01", "2026-11-30", None)] == ["2026-11-25"]
    reader.close()
