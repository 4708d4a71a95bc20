"""`hingewatch demo` end to end: broker, dashboard and agent start; a person logs in and
finds this session's simulated bends through the dashboard's API; Ctrl-C leaves nothing."""

from __future__ import annotations

import http.cookiejar
import json
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from edge.events import POSTURES
from tests.mqtt_broker import have_mosquitto

pytestmark = pytest.mark.skipif(not have_mosquitto(), reason="mosquitto is not installed")


def _login(url: str, user: str, password: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(url + "login", timeout=10).read().decode()
    csrf = re.search(r'name="csrf" content="([^"]+)"', page)
    assert csrf, "no csrf token on the login page"
    form = urllib.parse.urlencode({"username": user, "password": password,
                                   "csrf_token": csrf.group(1)}).encode()
    opener.open(url + "login", data=form, timeout=10)
    return opener


def test_demo_serves_simulated_bends_and_stops_cleanly(tmp_path: Path) -> None:
    work = tmp_path / "demo"
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "demo", "--port", "0", "--duration", "120",
         "--keep", str(work)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 90
        assert proc.stdout is not None
        while time.monotonic() < deadline and not any("Ctrl-C" in x for x in lines):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        text = "".join(lines)
        assert "SIMULATED" in text, text
        found_url = re.search(r"dashboard\s+(http://\S+/)", text)
        found_login = re.search(r"login\s+(\S+) / (\S+)", text)
        assert found_url and found_login, text
        url = found_url.group(1)
        user, password = found_login.groups()
        opener = _login(url, user, password)
        found_history = re.search(r"history\s+(\d+)", text)
        assert found_history is not None, text
        history = int(found_history.group(1))
        assert history > 100

        def events() -> dict:
            with opener.open(url + "api/events?limit=500", timeout=10) as resp:
                return json.loads(resp.read())

        # The simulated person's first chores bend within ~10 s of real time.
        seen = events()
        deadline = time.monotonic() + 60
        while seen["total"] <= history and time.monotonic() < deadline:
            time.sleep(1)
            seen = events()
        assert seen["total"] > history, "no live bend reached the dashboard"
        newest = seen["events"][0]
        assert newest["simulated"] is True and newest["device_id"] == "kitchen"
        # Any posture a bend may have, `unsure` included (a simulated back can be hidden too).
        assert newest["posture"] in POSTURES
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        proc.wait(60)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    left = subprocess.run(["pgrep", "-f", str(work)], capture_output=True, text=True).stdout
    assert left.strip() == "", f"processes left behind: {left}"
