"""The one place that knows the TFLite runtime: ai-edge-litert, or tflite-runtime.

LiteRT is preferred: it is the maintained successor, works with numpy 2 and ran the
landmark model about twice as fast here. XNNPACK is the default CPU delegate in both.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from edge.errors import ModelError, RuntimeMissingError

RuntimeName = Literal["auto", "litert", "tflite"]

_MODULES: dict[str, str] = {
    "litert": "ai_edge_litert.interpreter",
    "tflite": "tflite_runtime.interpreter",
}


def _interpreter_class(runtime: RuntimeName) -> tuple[str, Any]:
    if runtime == "auto" and os.environ.get("HINGEWATCH_RUNTIME") in _MODULES:
        runtime = os.environ["HINGEWATCH_RUNTIME"]  # type: ignore[assignment]  # checked against _MODULES on the line above
    order = ["litert", "tflite"] if runtime == "auto" else [runtime]
    for name in order:
        try:
            module = importlib.import_module(_MODULES[name])
        except ImportError:
            continue
        return name, module.Interpreter
    wanted = " or ".join(_MODULES[n].split(".")[0] for n in order)
    raise RuntimeMissingError(
        f"no TFLite runtime: install {wanted} (pip install 'hingewatch[edge]')"
    )


def available_runtime(runtime: RuntimeName = "auto") -> str:
    """Which runtime `load_interpreter` would use."""
    return _interpreter_class(runtime)[0]


@contextlib.contextmanager
def _native_stderr_muted() -> Iterator[None]:
    """Silence the runtime's C++ banner ("INFO: Created TensorFlow Lite XNNPACK delegate"),
    which would otherwise land between our one-line messages; Python errors still raise."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield  # no real file descriptor (e.g. captured by a test): nothing to mute
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def load_interpreter(path: Path, num_threads: int = 2, runtime: RuntimeName = "auto",
                     content: bytes | None = None) -> Any:
    """An allocated interpreter for the model at `path`, or for `content` made from it."""
    if num_threads < 1:
        raise ValueError(f"num_threads: expected >= 1, got {num_threads}")
    _, cls = _interpreter_class(runtime)
    source = {"model_path": str(path)} if content is None else {"model_content": content}
    try:
        with _native_stderr_muted():
            interpreter = cls(**source, num_threads=num_threads)
            interpreter.allocate_tensors()
    except ValueError as exc:
        raise ModelError(
            f"{path}: not a loadable TFLite model ({exc}); re-fetch it with "
            "`hingewatch models fetch`"
        ) from exc
    return interpreter
