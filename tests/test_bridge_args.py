"""Home + centre, the texts: systemd/bridge.sh and install.sh --bridge / --centre-acl.

The scripts run for real; install.sh in --dry-run with every command that could change the
machine shadowed by a stub that records being called. The bridge on real brokers is in
tests/test_bridge.py, which uses the helpers here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from edge.delivery.topics import DEVICE_ID_PATTERN

ROOT = Path(__file__).resolve().parents[1]
SYSTEMD = ROOT / "systemd"
BRIDGE = SYSTEMD / "bridge.sh"
INSTALL = SYSTEMD / "install.sh"
PASSWORD = 'Pw#1"quote\\back$dollar!x'  # what a mosquitto.conf line could trip on
# Commands that change a machine: a dry run may run none of them.
MUTATING = ("apt-get", "useradd", "usermod", "install", "chown", "chmod", "mv", "cp", "rm",
            "mkdir", "systemctl", "mosquitto_passwd", "python3", "env", "tee", "ln")


def bridge_sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(BRIDGE), *args], capture_output=True, text=True,
                          timeout=60, cwd="/")


def write_credentials(folder: Path, username: str, password: str = PASSWORD, *,
                      mode: int = 0o600, text: str | None = None) -> Path:
    path = folder / f"{username}.credentials"
    path.write_text(text if text is not None else
                    f"# the home's account at the centre\nusername = {username}\n"
                    f"password = {password}\n")
    path.chmod(mode)
    return path


def bridge_conf(url: str, credentials: Path, devices: tuple[str, ...],
                ca: Path | None = None) -> str:
    done = bridge_sh("conf", url, "--bridge-credentials", str(credentials),
                     *[a for d in devices for a in ("--bridge-device", d)],
                     *(["--bridge-ca", str(ca)] if ca else []))
    assert done.returncode == 0 and not done.stderr, done.stderr
    return done.stdout


def centre_acl(home: str, *devices: str) -> str:
    done = bridge_sh("centre-acl", home, *devices)
    assert done.returncode == 0 and not done.stderr, done.stderr
    return done.stdout


def one_line_error(done: subprocess.CompletedProcess[str], says: str) -> None:
    assert done.returncode == 2 and done.stdout == "", done.stdout
    assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr


# --- the device id rule is the project's --------------------------------------------------


def test_the_shell_rule_is_the_topics_rule() -> None:
    common = (SYSTEMD / "common.sh").read_text()
    match = re.search(r"^readonly NAME_RE='\^(.*)\$'$", common, re.MULTILINE)
    assert match and match.group(1) == DEVICE_ID_PATTERN.pattern


@pytest.mark.parametrize("device", [
    "kitchen", "a", "x" * 64, "Nursery_2-b", "x" * 65, "", "two words", "a/b", "+", "#",
    "caf\u00e9", "k\u0131tchen", "kitchen\n", "-", "a.b",
])
def test_a_device_id_is_taken_exactly_when_topics_takes_it(device: str) -> None:
    done = bridge_sh("centre-acl", "--", "home-smith", device)
    assert (done.returncode == 0) == bool(DEVICE_ID_PATTERN.fullmatch(device)), done.stderr
    if done.returncode:
        one_line_error(done, "device id")


# --- bridge.sh conf -------------------------------------------------------------------------


def test_conf_bridges_each_devices_three_topics_with_a_queueing_session(tmp_path: Path) -> None:
    cred = write_credentials(tmp_path, "home-smith")
    text = bridge_conf("mqtts://centre.example.org", cred, ("kitchen", "nursery"))
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines[0] == "connection hingewatch-centre"
    settings = [line.split(" ", 1) for line in lines]
    assert [k for k, _ in settings].count("connection") == 1
    conf = {k: v for k, v in settings if k != "topic"}
    assert conf["address"] == "centre.example.org:8883"
    assert conf["remote_username"] == "home-smith" and conf["remote_password"] == PASSWORD
    # The same ids every time: the sessions at both ends are found again after an outage.
    assert conf["remote_clientid"] == "hingewatch-bridge-home-smith"
    assert conf["local_clientid"] == "hingewatch-bridge-home-smith.local"
    assert conf["cleansession"] == "false" and conf["local_cleansession"] == "false"
    assert conf["bridge_capath"] == "/etc/ssl/certs" and conf["bridge_insecure"] == "false"
    assert "bridge_cafile" not in conf
    assert [v for k, v in settings if k == "topic"] == [
        f"hingewatch/{d}/{kind} out 1" for d in ("kitchen", "nursery")
        for kind in ("event", "status", "state")]
    assert text == bridge_conf("mqtts://centre.example.org", cred, ("kitchen", "nursery"))


def test_conf_with_a_ca_file_and_a_port(tmp_path: Path) -> None:
    from tests.mqtt_broker import make_tls_files

    tls = make_tls_files(tmp_path / "tls")
    cred = write_credentials(tmp_path, "home-smith")
    text = bridge_conf("mqtts://127.0.0.1:18883", cred, ("kitchen",), ca=tls.ca_file)
    assert "address 127.0.0.1:18883\n" in text
    assert f"bridge_cafile {tls.ca_file}\n" in text and "bridge_capath" not in text
    hidden = bridge_sh("conf", "mqtts://c.org", "--bridge-credentials", str(cred),
                       "--bridge-device", "kitchen", "--hide-password")
    assert "remote_password ********\n" in hidden.stdout and PASSWORD not in hidden.stdout


@pytest.mark.parametrize(("url", "says"), [
    ("mqtt://centre.example.org", "mqtts:// only"),
    ("mqtts://centre..org", "expected mqtt://HOST"),
    ("mqtts://-centre.org", "expected mqtt://HOST"),
    ("mqtts://centre.org:0", "port"),
    ("mqtts://centre.org:08883", "port"),
    ("mqtts://centre.org:65536", "port"),
    ("mqtts://centre.org:8883/path", "expected mqtt://HOST"),
    ("mqtts://user@centre.org", "expected mqtt://HOST"),
    ("mqtts://[::1]:8883", "host name"),
    ("https://centre.org", "expected mqtt://HOST"),
    ("mqtts://centre.org\nconnection evil", "expected mqtt://HOST"),
])
def test_a_bad_centre_url_is_one_line(tmp_path: Path, url: str, says: str) -> None:
    cred = write_credentials(tmp_path, "home-smith")
    one_line_error(bridge_sh("conf", url, "--bridge-credentials", str(cred),
                             "--bridge-device", "kitchen"), says)


@pytest.mark.parametrize(("mode", "text", "says"), [
    (0o644, None, "chmod 600"),
    (0o640, None, "chmod 600"),
    (0o604, None, "chmod 600"),
    (0o600, "username = home-smith\n", "no 'password = SECRET' line"),
    (0o600, "password = 0123456789abcdefgh\n", "no 'username = NAME' line"),
    (0o600, "username = home-smith\npassword = short\n", "16-256 printable"),
    (0o600, "username = home-smith\npassword = has a space in it ok\n", "16-256 printable"),
    (0o600, "username = home smith\npassword = 0123456789abcdefgh\n", "username"),
    (0o600, "username = dashboard\npassword = 0123456789abcdefgh\n", "another client"),
    (0o600, "user = home-smith\npassword = 0123456789abcdefgh\n", "unknown key 'user'"),
    (0o600, "username home-smith\n", "line 1: expected"),
])
def test_credentials_must_be_root_only_and_well_formed(
        tmp_path: Path, mode: int, text: str | None, says: str) -> None:
    cred = write_credentials(tmp_path, "home-smith", mode=mode, text=text)
    done = bridge_sh("conf", "mqtts://c.org", "--bridge-credentials", str(cred),
                     "--bridge-device", "kitchen")
    one_line_error(done, says)
    assert str(cred) in done.stderr  # the error names the file
    assert PASSWORD not in done.stderr and "0123456789abcdefgh" not in done.stderr


def test_credentials_missing_or_a_link_and_a_bad_ca(tmp_path: Path) -> None:
    cred = write_credentials(tmp_path, "home-smith")
    base = ("conf", "mqtts://c.org", "--bridge-device", "kitchen")
    one_line_error(bridge_sh(*base, "--bridge-credentials", str(tmp_path / "none")),
                   "no such file")
    link = tmp_path / "link"
    link.symlink_to(cred)
    one_line_error(bridge_sh(*base, "--bridge-credentials", str(link)), "not a regular file")
    one_line_error(bridge_sh(*base, "--bridge-credentials", str(cred), "--bridge-ca",
                             str(cred)), "no PEM certificate")
    one_line_error(bridge_sh(*base, "--bridge-credentials", str(cred), "--bridge-ca",
                             str(tmp_path / "none.crt")), "no such readable file")
    one_line_error(bridge_sh("conf", "mqtts://c.org", "--bridge-credentials", str(cred)),
                   "at least one device id")
    one_line_error(bridge_sh(*base, "--bridge-credentials", str(cred), "--bridge-device",
                             "kitchen"), "named twice")
    one_line_error(bridge_sh(*base, "--bridge-credentials", str(cred), "--frobnicate"),
                   "unknown option")
    one_line_error(bridge_sh("frobnicate"), "expected 'conf' or 'centre-acl'")


def test_a_credentials_file_of_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to another user")
    cred = write_credentials(tmp_path, "home-smith")
    os.chown(cred, 65534, 65534)
    done = bridge_sh("conf", "mqtts://c.org", "--bridge-credentials", str(cred),
                     "--bridge-device", "kitchen")
    one_line_error(done, "owner uid 65534")


# --- centre-acl -----------------------------------------------------------------------------


def test_centre_acl_grants_a_home_its_own_devices_topics_only() -> None:
    text = centre_acl("home-smith", "kitchen", "nursery")
    rules = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert rules == ["user home-smith"] + [
        f"topic write hingewatch/{d}/{kind}" for d in ("kitchen", "nursery")
        for kind in ("event", "status", "state")]
    one_line_error(bridge_sh("centre-acl", "home-smith"), "at least one device id")
    one_line_error(bridge_sh("centre-acl", "dashboard", "kitchen"), "another client")
    one_line_error(bridge_sh("centre-acl", "home smith", "kitchen"), "user name")


def test_centre_acl_against_the_file_refuses_another_homes_device(tmp_path: Path) -> None:
    acl = tmp_path / "centre.acl"
    acl.write_text((SYSTEMD / "mosquitto-centre.acl").read_text()
                   + centre_acl("home-smith", "kitchen", "nursery"))
    done = bridge_sh("centre-acl", "home-jones", "garden", "kitchen", "--against", str(acl))
    one_line_error(done, "'kitchen' is already granted to 'home-smith'")
    # The same home again (a device added), and a new home's own devices, are fine.
    assert bridge_sh("centre-acl", "home-smith", "kitchen", "hall", "--against",
                     str(acl)).returncode == 0
    assert bridge_sh("centre-acl", "home-jones", "garden", "--against",
                     str(acl)).returncode == 0


# --- install.sh -----------------------------------------------------------------------------


def run_install(*args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """install.sh with each MUTATING command shadowed by a stub that logs and fails."""
    stubs = Path(tempfile.mkdtemp(prefix="hingewatch-bridge-stubs-"))
    try:
        log = stubs / "called.log"
        log.touch()
        for name in MUTATING:
            stub = stubs / name
            stub.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\nexit 97\n')
            stub.chmod(0o755)
        env = {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}"}
        done = subprocess.run(["bash", str(INSTALL), *args], capture_output=True, text=True,
                              env=env, cwd="/", timeout=120)
        return done, log.read_text().splitlines()
    finally:
        shutil.rmtree(stubs, ignore_errors=True)


def test_install_dry_run_prints_the_bridge_it_would_write(tmp_path: Path) -> None:
    from tests.mqtt_broker import make_tls_files

    tls = make_tls_files(tmp_path / "tls")
    cred = write_credentials(tmp_path, "home-smith")
    done, called = run_install(
        "--dry-run", "--device-id", "kitchen", "--with-mosquitto",
        "--bridge", "mqtts://centre.example.org", "--bridge-credentials", str(cred),
        "--bridge-device", "nursery", "--bridge-ca", str(tls.ca_file))
    assert done.returncode == 0, done.stderr
    assert called == [], f"a dry run ran {called}"
    assert not Path("/etc/mosquitto/conf.d/hingewatch-bridge.conf.new").exists()
    assert PASSWORD not in done.stdout + done.stderr
    lines = done.stdout.splitlines()
    at = lines.index("+ write /etc/mosquitto/conf.d/hingewatch-bridge.conf.new "
                     f"(the password from {cred}):")
    shown = "\n".join(line.removeprefix("    ") for line in lines[at + 1:]
                      if line.startswith("    "))
    # Exactly what would be written, but for the password, with the CA where it is copied.
    expected = bridge_conf("mqtts://centre.example.org", cred, ("kitchen", "nursery"),
                           ca=tls.ca_file)
    expected = expected.replace(f"remote_password {PASSWORD}", "remote_password ********")
    expected = expected.replace(str(tls.ca_file),
                                "/etc/mosquitto/ca_certificates/hingewatch-centre.crt")
    assert shown + "\n" == expected
    order = [f"+ install -m 0644 -o root -g root {tls.ca_file} "
             "/etc/mosquitto/ca_certificates/hingewatch-centre.crt",
             "+ write /etc/mosquitto/conf.d/hingewatch-bridge.conf.new",
             "+ chown root:mosquitto /etc/mosquitto/conf.d/hingewatch-bridge.conf.new",
             "+ chmod 0640 /etc/mosquitto/conf.d/hingewatch-bridge.conf.new",
             "+ mv /etc/mosquitto/conf.d/hingewatch-bridge.conf.new "
             "/etc/mosquitto/conf.d/hingewatch-bridge.conf",
             "+ systemctl restart mosquitto.service"]
    found = [next(i for i, line in enumerate(lines) if line.startswith(want))
             for want in order]
    assert found == sorted(found), done.stdout


@pytest.mark.parametrize(("args", "says"), [
    (["--bridge", "mqtts://c.org"], "add --with-mosquitto"),
    (["--with-mosquitto", "--bridge", "mqtt://c.org"], "mqtts:// only"),
    (["--with-mosquitto", "--bridge", "mqtts://c.org:99999"], "port"),
    (["--with-mosquitto", "--bridge", "mqtts://c.org", "--bridge-device", "a/b"],
     "--bridge-device"),
    (["--with-mosquitto", "--bridge", "mqtts://c.org", "--bridge-device", "kitchen"],
     "named twice"),
    (["--bridge-ca", "/etc/hostname"], "go with --bridge URL"),
    (["--bridge-device", "nursery"], "go with --bridge URL"),
    (["--bridge-credentials", "/etc/hostname"], "go with --bridge URL"),
    (["--bridge"], "needs a URL"),
    (["--with-mosquitto", "--bridge", "mqtts://c.org", "--bridge-credentials",
      "/nonexistent/bridge.credentials"], "no such file"),
    (["--centre-acl", "home-smith"], "at least one device id"),
])
def test_install_bridge_options_end_with_one_line(
        tmp_path: Path, args: list[str], says: str) -> None:
    cred = write_credentials(tmp_path, "home-smith")
    if "--bridge-credentials" not in args and "--with-mosquitto" in args:
        args = [*args, "--bridge-credentials", str(cred)]
    done, called = run_install("--dry-run", "--device-id", "kitchen", *args)
    one_line_error(done, says)
    assert called == []


def test_install_centre_acl_prints_and_changes_nothing() -> None:
    done, called = run_install("--centre-acl", "home-smith", "kitchen", "nursery")
    assert done.returncode == 0 and called == [], done.stderr
    assert done.stdout == centre_acl("home-smith", "kitchen", "nursery")


def test_help_names_the_bridge_options() -> None:
    done = subprocess.run(["bash", str(INSTALL), "--help"], capture_output=True, text=True)
    for option in ("--bridge URL", "--bridge-credentials", "--bridge-ca", "--bridge-device",
                   "--centre-acl"):
        assert option in done.stdout
    assert bridge_sh("--help").returncode == 0


def test_shellcheck_is_clean_on_every_script() -> None:
    tool = shutil.which("shellcheck")
    if tool is None:
        pytest.skip("shellcheck is not installed (Debian package shellcheck)")
    scripts = sorted(str(p) for p in SYSTEMD.glob("*.sh"))
    done = subprocess.run([tool, *scripts], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
