"""Progress for long work, on stderr so stdout stays clean for JSON."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """`step()` per unit of work; redraws in place on a terminal, else a line every ~10 %."""

    def __init__(self, label: str, total: int | None, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total if total and total > 0 else None
        self.stream = stream or sys.stderr
        self.done = 0
        self._tty = self.stream.isatty()
        self._start = time.monotonic()
        self._last_reported = -1

    def step(self, n: int = 1) -> None:
        self.done += n
        if self._tty:
            self.stream.write("\r" + self._line())
            self.stream.flush()
            return
        if self.total:
            decile = self.done * 10 // self.total
            if decile != self._last_reported:
                self._last_reported = decile
                self.stream.write(self._line() + "\n")
        elif self.done % 100 == 0:
            self.stream.write(self._line() + "\n")

    def _line(self) -> str:
        rate = self.done / max(time.monotonic() - self._start, 1e-6)
        if self.total:
            percent = 100 * self.done // self.total
            return f"{self.label}: {self.done}/{self.total} ({percent} %, {rate:.1f}/s)"
        return f"{self.label}: {self.done} ({rate:.1f}/s)"

    def close(self) -> None:
        if self._tty:
            self.stream.write("\r" + self._line() + "\n")
            self.stream.flush()
