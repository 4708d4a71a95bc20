"""A real PostgreSQL for tests: Debian's server binaries, a fresh cluster in a temp folder,
listening on a free 127.0.0.1 port (no Unix socket elsewhere), as `mqtt_broker` starts
Mosquitto.

    server = start_postgres(tmp_path)          # or the `postgres` session fixture
    url = server.new_database_url()            # an empty schema of its own, per test
    server.stop(); server.start()              # same port, same data

Skipped with the reason when the binaries are missing (`make system-deps` installs them).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tests.mqtt_broker import free_port

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
DATABASE = "hingewatch"
ROLE = "hingewatch"  # the cluster's superuser, whoever runs the server


def _run_as() -> dict[str, Any]:
    """PostgreSQL will not run as root: as root (a container's CI), run it as the
    `postgres` user Debian's package makes, else as nobody."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": entry.pw_uid, "group": entry.pw_gid}
    raise PermissionError("PostgreSQL will not run as root and there is no other user")


def find_bin_dir() -> Path | None:
    """Where initdb and postgres are: on PATH (a source build), else Debian's
    /usr/lib/postgresql/NN/bin (the `postgresql` package keeps them off PATH)."""
    found = shutil.which("initdb")
    if found and Path(found).with_name("postgres").exists():
        return Path(found).parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(Path(d).parent.name) if Path(d).parent.name.isdigit() else 0)
    for d in reversed(dirs):
        if (Path(d) / "initdb").exists() and (Path(d) / "postgres").exists():
            return Path(d)
    return None


class Postgres:
    """One PostgreSQL server; `stop()` is a fast shutdown, `start()` brings the same data up."""

    def __init__(self, bin_dir: Path, folder: Path, port: int) -> None:
        self.bin_dir = bin_dir
        self.folder = folder
        self.data = folder / "data"
        self.port = port
        self.user = ROLE
        self.log_path = folder / "postgres.log"
        self.run_as = _run_as()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def init(self) -> None:
        subprocess.run(
            [str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", self.user,
             "--auth=trust", "--no-locale", "--encoding=UTF8", "--no-sync"],
            check=True, capture_output=True, timeout=120, **self.run_as)

    def start(self) -> Postgres:
        if self.running:
            return self
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            [str(self.bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}",
             "-c", "fsync=off", "-c", "max_connections=400", "-c", "shared_buffers=64MB"],
            stdout=log, stderr=log, **self.run_as)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"postgres exited at start:\n{self.log_text()[-2000:]}")
            if self._accepts():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"postgres did not accept connections within {START_TIMEOUT_S} s")

    def _accepts(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres",
                                 connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def stop(self, mode: signal.Signals = signal.SIGINT) -> None:
        """SIGINT: PostgreSQL's fast shutdown (clients are cut, the data stays)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(mode)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)

    def new_database_url(self) -> str:
        """The URL of an empty schema of its own (cheaper than a database per test)."""
        import psycopg

        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        return f"{self.url}?options=-csearch_path%3D{schema}"

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def start_postgres(bin_dir: Path | None = None) -> Postgres:
    """A new cluster in a folder of its own under /tmp (pytest's are root-only when root
    runs the tests, and the server runs as another user then); `remove()` deletes it."""
    bin_dir = bin_dir or find_bin_dir()
    if bin_dir is None:
        raise FileNotFoundError("no PostgreSQL server binaries (initdb): "
                                "apt-get install postgresql")
    folder = Path(tempfile.mkdtemp(prefix="hw-postgres-"))
    server = Postgres(bin_dir, folder, free_port())
    if server.run_as:
        os.chown(folder, server.run_as["user"], server.run_as["group"])
    try:
        server.init()
        server.start()
        import psycopg

        with psycopg.connect(f"postgresql://{server.user}@127.0.0.1:{server.port}/postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
    except BaseException:
        server.remove()
        raise
    return server


def have_postgres() -> bool:
    return find_bin_dir() is not None


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
