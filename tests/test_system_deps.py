"""`make test` on a fresh machine: tests/system_deps.sh installs what the tests need from
Debian when this user may, and otherwise stops at once with the one command to run. The
real packages are never removed: the script is pointed at a folder of stand-in programs."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "tests" / "system_deps.sh"
PROGRAMS = ("mosquitto", "chromium", "systemd-analyze", "shellcheck")
NOBODY = 65534


@pytest.fixture
def world() -> Iterator[Path]:
    """A folder anyone may read (the script may run as nobody) for stand-in programs."""
    folder = Path(tempfile.mkdtemp(prefix="hingewatch-deps-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def _stand_ins(folder: Path, programs: tuple[str, ...]) -> Path:
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    bin_dir.chmod(0o755)
    for name in programs:
        program = bin_dir / name
        program.write_text("#!/bin/sh\nexit 0\n")
        program.chmod(0o755)
    return bin_dir


def _run(bin_dir: Path, font: Path, *, as_nobody: bool,
         pglib: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`pglib`: a stand-in for /usr/lib/postgresql (None: one without a server)."""
    env = {**os.environ, "SYSTEM_DEPS_PATH": str(bin_dir), "SYSTEM_DEPS_FONT": str(font),
           "SYSTEM_DEPS_PGLIB": str(pglib or bin_dir / "no-postgresql")}
    command = ["bash", str(SCRIPT)]
    if as_nobody:
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                   *command]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_nothing_missing_is_silent_and_installs_nothing(world: Path) -> None:
    font = world / "DejaVuSans.ttf"
    font.write_bytes(b"a font")
    pglib = world / "postgresql"
    (pglib / "17").mkdir(parents=True)
    _stand_ins(pglib / "17", ("initdb",))  # where Debian's package puts it
    done = _run(_stand_ins(world, PROGRAMS), font, as_nobody=False, pglib=pglib)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_missing_packages_without_root_or_sudo_stop_with_the_one_command(world: Path) -> None:
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv is not installed: cannot run the script as a plain user")
        as_nobody = True
    else:
        sudo = shutil.which("sudo")
        if sudo and subprocess.run([sudo, "-n", "true"], capture_output=True).returncode == 0:
            pytest.skip("this user has sudo without a password: the script would install")
        as_nobody = False
    bin_dir = _stand_ins(world, ("chromium", "systemd-analyze", "shellcheck"))
    done = _run(bin_dir, world / "no-such-font.ttf", as_nobody=as_nobody)
    assert done.returncode != 0
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr
    assert "mosquitto postgresql fonts-dejavu-core" in lines[0]
    assert lines[1].strip() == (
        "sudo apt-get install -y -qq mosquitto postgresql fonts-dejavu-core")


def test_make_test_checks_the_system_first() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    done = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    commands = done.stdout
    assert "tests/system_deps.sh" in commands
    assert commands.index("tests/system_deps.sh") < commands.index("pytest")


def test_the_readme_opening_says_make_test_installs_what_it_needs() -> None:
    opening = (ROOT / "README.md").read_text().split("\n## ")[0]
    for package in ("Mosquitto", "Chromium", "PostgreSQL"):
        assert package in opening
    assert "make test" in opening and "sudo" in opening
