"""An event's landmarks at rest: the skeleton and trace packed for the store.

The store keeps them as little-endian int16 in 1/10,000ths of the frame (the precision the
edge sends: `BendEvent.to_dict` rounds to 4 decimals), ~6 kB for a full 30-frame trace,
instead of the 25 kB message.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCALE = 10_000
N_LANDMARKS = 33
_DTYPE = np.dtype("<i2")  # [-2, 3] x 10,000 fits; the schema's bounds are checked below
_LOWEST, _HIGHEST = int(np.iinfo(_DTYPE).min), int(np.iinfo(_DTYPE).max)


def pack(values: np.ndarray) -> bytes:
    """Skeleton then trace frames (each 33 x 3 values, flattened) to int16 bytes."""
    scaled = np.rint(np.asarray(values, dtype=np.float64) * SCALE)
    if scaled.size and (scaled.min() < _LOWEST or scaled.max() > _HIGHEST):
        raise ValueError("landmark values beyond what int16 at 1e-4 holds")
    return scaled.astype(_DTYPE).tobytes()


@dataclass(frozen=True)
class StoredTrace:
    """A stored event's `skeleton` (33, 3) at the deepest moment and its `trace` (n, 33, 3)
    at `rate_hz`, as the event sent them: x, y over the frame's width and height, then
    visibility."""

    skeleton: np.ndarray
    trace: np.ndarray
    rate_hz: float


def unpack(blob: bytes, rate_hz: float) -> StoredTrace:
    values = np.frombuffer(blob, dtype=_DTYPE).astype(np.float64) / SCALE
    frames = values.reshape(-1, N_LANDMARKS, 3)
    return StoredTrace(frames[0], frames[1:], rate_hz)
