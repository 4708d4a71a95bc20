"""systemd/install.sh: ShellCheck, and the script itself in --dry-run, with every command
that could change the machine shadowed by a stub that records being called."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.systemd_files import EDGE, INSTALL, SYSTEMD, need

# Commands that change a machine: in a dry run none of them may run.
MUTATING = ("apt-get", "useradd", "usermod", "install", "chown", "chmod", "mv", "cp", "rm",
            "mkdir", "systemctl", "mosquitto_passwd", "python3", "env", "tee", "ln")
# Paths a real install creates or changes.
INSTALLED = ("/opt/hingewatch", "/etc/hingewatch", "/var/lib/hingewatch",
             "/var/lib/hingewatch-dashboard", "/etc/systemd/system/hingewatch-edge.service",
             "/etc/systemd/system/hingewatch-dashboard.service",
             "/etc/mosquitto/conf.d/hingewatch.conf", "/etc/mosquitto/hingewatch.acl",
             "/etc/mosquitto/hingewatch.passwd", "/etc/passwd", "/etc/group")



def test_shellcheck_is_clean() -> None:
    tool = need("shellcheck", "shellcheck")
    done = subprocess.run([tool, str(INSTALL)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def fingerprint(path: str) -> tuple[object, ...]:
    p = Path(path)
    if not p.exists():
        return ("absent",)
    st = p.stat()
    digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
    return (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, digest)


def run_install(*args: str, user: str | None = None,
                ) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """install.sh with each MUTATING command shadowed by a stub that logs and fails.

    The stubs live in a fresh folder under /tmp that `nobody` can reach too (pytest's own
    tmp_path is private to the user running the tests)."""
    stubs = Path(tempfile.mkdtemp(prefix="hingewatch-stubs-"))
    try:
        stubs.chmod(0o755)
        log = stubs / "called.log"
        log.touch()
        log.chmod(0o666)
        for name in MUTATING:
            stub = stubs / name
            stub.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\nexit 97\n')
            stub.chmod(0o755)
        prefix = (["setpriv", f"--reuid={user}", "--regid=nogroup", "--clear-groups"]
                  if user else [])
        env = {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}"}
        done = subprocess.run([*prefix, "bash", str(INSTALL), *args], capture_output=True,
                              text=True, env=env, cwd="/", timeout=120)
        return done, log.read_text().splitlines()
    finally:
        shutil.rmtree(stubs, ignore_errors=True)


def test_dry_run_prints_every_step_in_order_and_changes_nothing() -> None:
    before = {p: fingerprint(p) for p in INSTALLED}
    done, called = run_install("--dry-run", "--device-id", "kitchen", "--broker",
                               "mqtt://hub.local:1883", "--with-dashboard", "--with-mosquitto")
    assert done.returncode == 0, done.stderr
    assert called == [], f"a dry run ran {called}"
    assert {p: fingerprint(p) for p in INSTALLED} == before
    if before["/opt/hingewatch"] == ("absent",):
        assert not Path("/opt/hingewatch").exists()
    lines = done.stdout.splitlines()
    expected = [  # in this order, each the start of a printed command
        "+ apt-get update",
        "+ env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
        "python3-picamera2 python3-venv mosquitto",
        "+ useradd --system --user-group --groups video --home-dir /var/lib/hingewatch",
        "+ useradd --system --user-group --home-dir /var/lib/hingewatch-dashboard",
        "+ /usr/bin/python3 -m venv --system-site-packages /opt/hingewatch/venv",
        "+ /opt/hingewatch/venv/bin/python -m pip install",
        "+ env HINGEWATCH_MODELS_DIR=/var/lib/hingewatch/models "
        "/opt/hingewatch/venv/bin/hingewatch models fetch",
        "+ chown root:hingewatch /etc/hingewatch/mqtt.password.new",
        "+ chmod 0640 /etc/hingewatch/mqtt.password.new",
        "+ /opt/hingewatch/venv/bin/hingewatch config example > "
        "/etc/hingewatch/hingewatch.toml.new",
        "+ toml_set /etc/hingewatch/hingewatch.toml.new device id '\"kitchen\"'",
        "+ /opt/hingewatch/venv/bin/hingewatch config check /etc/hingewatch/hingewatch.toml.new",
        "+ install -m 0644 -o root -g root " + str(SYSTEMD / "mosquitto-hingewatch.conf"),
        "+ sed p /etc/hingewatch/mqtt.password | mosquitto_passwd "
        "/etc/mosquitto/hingewatch.passwd kitchen",
        "+ systemctl enable --now mosquitto.service",
        "+ install -m 0644 -o root -g root " + str(EDGE),
        "+ systemctl daemon-reload",
        "+ systemctl enable --now hingewatch-edge.service",
        "+ systemctl enable --now hingewatch-dashboard.service",
    ]
    at = 0
    for want in expected:
        found = next((i for i in range(at, len(lines)) if lines[i].startswith(want)), None)
        assert found is not None, f"missing after line {at}: {want!r}\n{done.stdout}"
        at = found + 1
    pip = next(line for line in lines if " -m pip install" in line)
    assert f"'{ROOT}[edge,dashboard]'" in pip
    assert "nothing was changed" in lines[-1]


def test_dry_run_needs_no_root_and_the_real_run_does() -> None:
    if os.geteuid() != 0:
        done, called = run_install("--device-id", "kitchen")
    else:
        need("setpriv", "util-linux")
        done, called = run_install("--device-id", "kitchen", user="nobody")
    assert done.returncode == 2 and done.stdout == "" and called == []
    assert done.stderr.count("\n") == 1 and "root" in done.stderr, done.stderr
    if os.geteuid() == 0:
        dry, called = run_install("--dry-run", user="nobody")
        assert dry.returncode == 0 and called == [], dry.stderr


@pytest.mark.parametrize(("args", "says"), [
    (["--device-id", "two words"], "--device-id"),
    (["--device-id", "dashboard"], "another name"),
    (["--device-id", "x" * 65], "--device-id"),
    (["--broker", "http://hub.local"], "--broker"),
    (["--broker", "mqtt://hub.local:70000"], "port"),
    (["--broker"], "needs a URL"),
    (["--frobnicate"], "unknown option"),
])
def test_bad_options_end_with_one_line_and_exit_2(args: list[str], says: str) -> None:
    done, called = run_install("--dry-run", *args)
    assert done.returncode == 2 and called == [] and done.stdout == ""
    assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr


def test_help() -> None:
    done = subprocess.run(["bash", str(INSTALL), "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for option in ("--device-id", "--broker", "--with-mosquitto", "--with-dashboard",
                   "--dry-run"):
        assert option in done.stdout


def test_dry_run_copies_built_int8_models_with_their_records_only() -> None:
    """A model built on a PC (in this checkout's models/) goes to the Pi with its build
    record; one without a record is left behind (the agent could not check it)."""
    paired = ROOT / "models" / "pose_installtest_int8.tflite"
    lone = ROOT / "models" / "pose_installtest2_int8.tflite"
    made = [paired, paired.with_name(paired.name + ".build.json"), lone]
    try:
        for path in made:
            path.write_bytes(b"test")
        done, called = run_install("--dry-run", "--device-id", "kitchen")
    finally:
        for path in made:
            path.unlink(missing_ok=True)
    assert done.returncode == 0, done.stderr
    assert called == []
    copies = [line for line in done.stdout.splitlines() if "_int8.tflite" in line]
    # Models this checkout really built are copied too, each with its own record.
    assert f"+ install -m 0644 {paired} {paired}.build.json /var/lib/hingewatch/models/" \
        in copies, done.stdout
    assert not any(str(lone) in line for line in copies), done.stdout
    for line in copies:
        model = line.split()[4]
        assert line.split()[5] == f"{model}.build.json", line
    assert any(line.endswith("hingewatch models list") for line in done.stdout.splitlines())
