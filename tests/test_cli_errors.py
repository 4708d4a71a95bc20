"""The CLI's last line of defence: errors of the machine (no terminal, a read-only
database) end in one `hingewatch: error:` line and exit code 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("dashboard.cli")


def hingewatch(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    # A new session has no controlling terminal: getpass cannot open /dev/tty.
    return subprocess.run([sys.executable, "-m", "edge.cli", *args], input=stdin,
                          stdin=None if stdin is not None else subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60, start_new_session=True)


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def test_adduser_without_a_terminal_is_one_error_line(tmp_path: Path) -> None:
    done = hingewatch("dashboard", "adduser", "bob", "--db", str(tmp_path / "d.sqlite3"))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    last = _last_line(done)
    assert last.startswith("hingewatch: error:") and "--password-stdin" in last


@pytest.fixture
def read_only_db(tmp_path: Path) -> Iterator[Path]:
    db = tmp_path / "d.sqlite3"
    done = hingewatch("dashboard", "adduser", "alice", "--db", str(db), "--password-stdin",
                      stdin="a long enough password\n")
    assert done.returncode == 0, done.stderr
    # root ignores file modes: make it immutable instead (undone below).
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode != 0:
            pytest.skip("cannot make a file read-only for root here (no chattr +i)")
    else:
        db.chmod(0o444)
    try:
        yield db
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(db)], check=True)
        else:
            db.chmod(0o644)


def test_adduser_on_a_read_only_database_is_one_error_line(read_only_db: Path) -> None:
    done = hingewatch("dashboard", "adduser", "bob", "--db", str(read_only_db),
                      "--password-stdin", stdin="another long password\n")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    last = _last_line(done)
    assert last.startswith("hingewatch: error:") and "readonly" in last
    assert done.stderr.count("\n") == 1, done.stderr
