"""Model inputs and outputs whatever their precision: float32, or int8 with the scale and
zero point the model itself declares.

An int8 model takes its picture as integers: each uint8 pixel maps to one integer through a
256-entry table made from the model's quantisation (for the built BlazePose models that is
pixel − 128), so feeding it costs a table look-up instead of a float multiply.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from edge.errors import ModelError

_INTEGER_TYPES = (np.int8, np.uint8)
T = TypeVar("T")


def _quantisation(detail: dict[str, Any]) -> tuple[float, int]:
    scale, zero_point = detail["quantization"]
    if not scale:
        raise ModelError(f"tensor {detail['name']!r} is {np.dtype(detail['dtype']).name} "
                         "without a quantisation scale; the model file is not usable")
    return float(scale), int(zero_point)


class PixelInput:
    """Writes a uint8 picture into input `detail` of `interpreter` as the model wants it:
    `pixel · scale + offset` in float32, or that value quantised for an int8/uint8 input."""

    def __init__(self, interpreter: Any, detail: dict[str, Any], scale: float,
                 offset: float) -> None:
        self._it = interpreter
        self.index = int(detail["index"])
        self.dtype = np.dtype(detail["dtype"])
        self._scale = np.float32(scale)
        self._offset = np.float32(offset)
        self._table: np.ndarray | None = None
        self._shape = tuple(int(v) for v in detail["shape"][1:])
        self._scratch: np.ndarray | None = None  # where `fill` has the picture drawn
        if self.dtype.type in _INTEGER_TYPES:
            q_scale, zero_point = _quantisation(detail)
            wanted = np.arange(256, dtype=np.float64) * scale + offset
            info = np.iinfo(self.dtype)
            quantised = np.clip(np.round(wanted / q_scale + zero_point), info.min, info.max)
            self._table = quantised.astype(self.dtype)
        elif self.dtype != np.float32:
            raise ModelError(f"input {detail['name']!r}: {self.dtype.name} input is not "
                             "supported (float32, int8 or uint8)")
        # pixel − 128 as int8 is the pixel's top bit flipped: an XOR in place costs a thirtieth
        # of the table look-up (5 µs against 157 µs for a 256×256 crop).
        self._flip_top_bit = self._table is not None and bool(np.array_equal(
            self._table.view(np.uint8), np.arange(256, dtype=np.uint8) ^ 0x80))

    def fill(self, draw: Callable[[np.ndarray], T]) -> T:
        """Have `draw` put the picture into an (h, w, 3) uint8 array, which then becomes
        the model's input; returns what `draw` returns (which must not be that array). For
        a pixel − 128 input the array is the interpreter's own buffer, so a crop drawn
        straight into it is not copied again; otherwise a scratch array, converted as
        `write` converts."""
        if not self._flip_top_bit:
            if self._scratch is None:
                self._scratch = np.empty(self._shape, np.uint8)
            result = draw(self._scratch)
            self.write(self._scratch)
            return result
        buffer = self._it.tensor(self.index)()
        target = buffer[0].view(np.uint8)
        result = draw(target)
        np.bitwise_xor(target, np.uint8(0x80), out=target)
        del buffer, target  # no view of the buffer may outlive the call: the runtime checks
        return result

    @property
    def quantised(self) -> bool:
        return self._table is not None

    def write(self, pixels: np.ndarray) -> None:
        """Fill the input with `pixels` ((h, w, 3) uint8) straight in the interpreter's buffer
        (no set_tensor copy); the view is dropped before invoke, as the runtime requires."""
        buffer = self._it.tensor(self.index)()
        if self._flip_top_bit:
            np.bitwise_xor(pixels, np.uint8(0x80), out=buffer[0].view(np.uint8))
        elif self._table is not None:
            np.take(self._table, pixels, out=buffer[0])
        else:
            # The same float32 arithmetic as MediaPipe's converter: one multiply, one add.
            np.multiply(pixels, self._scale, out=buffer[0], casting="unsafe")
            if self._offset:
                buffer[0] += self._offset
        del buffer


class Outputs:
    """Reads outputs as float32, dequantising the int8 ones with their own scale."""

    def __init__(self, interpreter: Any) -> None:
        self._it = interpreter
        self._quant: dict[int, tuple[np.float32, np.float32]] = {}
        for d in interpreter.get_output_details():
            if np.dtype(d["dtype"]).type in _INTEGER_TYPES:
                scale, zero_point = _quantisation(d)
                self._quant[int(d["index"])] = (np.float32(scale), np.float32(zero_point))

    def get(self, index: int) -> np.ndarray:
        """A float32 copy of output `index`: it outlives the next invoke."""
        if index in self._quant:
            return self._dequantise(self._it.tensor(index)(), index)
        out: np.ndarray = self._it.get_tensor(index)
        return out

    def view(self, index: int) -> np.ndarray:
        """Output `index` as float32 without a copy where it is float already: valid only
        until the next invoke."""
        if index in self._quant:
            return self._dequantise(self._it.tensor(index)(), index)
        out: np.ndarray = self._it.tensor(index)()
        return out

    def _dequantise(self, raw: np.ndarray, index: int) -> np.ndarray:
        scale, zero_point = self._quant[index]
        out = raw.astype(np.float32)
        out -= zero_point
        out *= scale
        return out


def model_precision(interpreter: Any) -> str:
    """"int8" when the model's first input is quantised, else "float"."""
    detail = interpreter.get_input_details()[0]
    return "int8" if np.dtype(detail["dtype"]).type in _INTEGER_TYPES else "float"
