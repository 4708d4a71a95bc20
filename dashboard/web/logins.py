"""Login attempts: password hashing off the event loop, and a brake on guessing.

scrypt takes ~50 ms of CPU and 16 MiB: on the event loop it stalled every page, and run
without a bound, many at once would take the memory. So hashes run in worker threads, at
most `HASHES_AT_ONCE` together.

Failed logins are counted per account and per address. The first `FREE_PER_ACCOUNT` (or
`FREE_PER_ADDRESS`) failures cost nothing; after that each attempt must wait twice as long
as the last (1 s, 2 s, 4 s ... up to `MAX_WAIT_S`); until then the attempt is refused (429)
before any hashing. A successful login clears its account's count; a key with no failure
for `FORGET_S` is forgotten. At most `MAX_KEYS` keys are kept (the oldest go first), so a
spray of made-up names cannot grow memory without bound.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from anyio import to_thread

from dashboard.web import auth

HASHES_AT_ONCE = 2
FREE_PER_ACCOUNT = 5
FREE_PER_ADDRESS = 20  # a household shares one address behind its router
MAX_WAIT_S = 300.0
FORGET_S = 15 * 60.0
MAX_KEYS = 10_000


@dataclass
class _Failures:
    count: int
    last_s: float


class LoginGuard:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, _Failures] = OrderedDict()
        self._hash_slots: asyncio.Semaphore | None = None
        self.hashing = 0  # hashes running now

    def _wait_s(self, key: str, free: int, now: float) -> float:
        f = self._failures.get(key)
        if f is None or f.count < free:
            return 0.0
        if now - f.last_s > FORGET_S:
            del self._failures[key]
            return 0.0
        backoff = min(2.0 ** (f.count - free), MAX_WAIT_S)
        return max(0.0, f.last_s + backoff - now)

    def retry_after_s(self, name: str, address: str) -> float:
        """0 when this attempt may be checked; otherwise how long until it may."""
        now = self._clock()
        with self._lock:
            return max(self._wait_s(f"user:{name}", FREE_PER_ACCOUNT, now),
                       self._wait_s(f"addr:{address}", FREE_PER_ADDRESS, now))

    def failed(self, name: str, address: str) -> int:
        """Count one failure; returns the account's count."""
        now = self._clock()
        with self._lock:
            counts = []
            for key in (f"user:{name}", f"addr:{address}"):
                f = self._failures.pop(key, None)
                if f is None or now - f.last_s > FORGET_S:
                    f = _Failures(0, now)
                f.count += 1
                f.last_s = now
                self._failures[key] = f  # to the end: the most recent
                counts.append(f.count)
            while len(self._failures) > MAX_KEYS:
                self._failures.popitem(last=False)
            return counts[0]

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{name}", None)

    async def verify(self, password: str, encoded: str | None) -> bool:
        """`auth.verify_or_burn` in a worker thread, at most `HASHES_AT_ONCE` at a time."""
        if self._hash_slots is None:
            self._hash_slots = asyncio.Semaphore(HASHES_AT_ONCE)
        async with self._hash_slots:
            self.hashing += 1
            try:
                return await to_thread.run_sync(auth.verify_or_burn, password, encoded)
            finally:
                self.hashing -= 1
