"""ULIDs: sortable unique ids (48-bit milliseconds + 80 random bits, Crockford base32)."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid(t_ms: int | None = None) -> str:
    """A new ULID; ids made later sort after earlier ones (to the millisecond)."""
    ms = int(time.time() * 1000) if t_ms is None else t_ms
    if not 0 <= ms < 1 << 48:
        raise ValueError(f"t_ms: expected 0 <= t_ms < 2**48, got {ms}")
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))
