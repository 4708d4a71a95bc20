"""The int8 models for the tests: found built and intact, or built once here (about 75 s on
the 2-core build machine; kept in the models folder and ~/.cache/hingewatch, so later runs
find them), or the test is skipped with the reason."""

from __future__ import annotations

import importlib.util

import pytest

from edge.errors import ModelError
from edge.pose.models import model_names, model_path
from edge.pose.runtime import available_runtime
from tests.conftest import fixtures_dir

_failed: dict[str, str] = {}


def need_int8(variant: str = "full") -> None:
    """Return once the int8 models of `variant` load; skip (or fail a broken build) else."""
    if available_runtime() != "litert":
        pytest.skip("int8 is held on ai-edge-litert: tflite-runtime 2.14 has no XNNPACK int8 "
                    "kernels by default (8x slower than float here) and rounds otherwise")
    if variant in _failed:
        pytest.fail(_failed[variant])
    try:
        for name in model_names(variant, "int8"):
            model_path(name)
        return
    except ModelError as exc:
        missing = str(exc)
    if importlib.util.find_spec("ai_edge_quantizer") is None:
        pytest.skip(f"int8 models unusable ({missing}) and the quantizer is not installed "
                    "to build them: pip install 'hingewatch[quantize]'")
    if not (fixtures_dir() / "images").is_dir():
        pytest.skip(f"int8 models unusable ({missing}) and no fixtures to calibrate them on")
    from edge.pose.quantize.build import build

    try:
        build(variant, fixtures_dir(), log=lambda m: print(f"[int8 build] {m}", flush=True))
    except ModelError as exc:
        _failed[variant] = f"the int8 build failed: {exc}"
        pytest.fail(_failed[variant])
