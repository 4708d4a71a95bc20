"""systemd's notify protocol, spoken directly: READY, WATCHDOG, STATUS, STOPPING.

A datagram to the socket named by $NOTIFY_SOCKET; without it (not under systemd) every
call does nothing. No python-systemd dependency.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time


class Notifier:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # An abstract socket is written "@name" and addressed with a leading NUL.
        self._address = "\0" + address[1:] if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC", "")
        # Ping at half the watchdog interval, as sd_watchdog_enabled(3) advises.
        self.watchdog_interval_s = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else None
        self._last_ping = 0.0

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def send(self, *lines: str) -> None:
        if not self._address:
            return
        # systemd gone (shutdown): nothing to tell, nothing to fail.
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, \
                contextlib.suppress(OSError):
            sock.sendto("\n".join(lines).encode(), self._address)

    def ready(self, status: str = "") -> None:
        self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> None:
        self.send(f"STATUS={text}")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def watchdog(self, now_s: float | None = None) -> None:
        """Ping when half the watchdog interval has passed since the last ping."""
        if self.watchdog_interval_s is None:
            return
        now = time.monotonic() if now_s is None else now_s
        if now - self._last_ping >= self.watchdog_interval_s:
            self._last_ping = now
            self.send("WATCHDOG=1")
