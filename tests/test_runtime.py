"""The TFLite runtime loader: whichever runtime is installed, chosen on purpose in CI."""

from __future__ import annotations

import os

import pytest

from edge.errors import RuntimeMissingError
from edge.pose.runtime import available_runtime, load_interpreter


def test_the_runtime_ci_asked_for_is_the_one_in_use() -> None:
    expected = os.environ.get("HINGEWATCH_EXPECT_RUNTIME")
    if not expected:
        pytest.skip("HINGEWATCH_EXPECT_RUNTIME not set (make test sets it per environment)")
    assert available_runtime() == expected


def test_a_runtime_that_is_not_installed_says_how_to_install(monkeypatch) -> None:
    import edge.pose.runtime as rt

    monkeypatch.setitem(rt._MODULES, "litert", "no_such_module_xyz.interpreter")
    monkeypatch.setitem(rt._MODULES, "tflite", "no_such_module_abc.interpreter")
    with pytest.raises(RuntimeMissingError, match="pip install"):
        available_runtime()


def test_threads_must_be_positive(tmp_path) -> None:
    with pytest.raises(ValueError, match="num_threads"):
        load_interpreter(tmp_path / "x.tflite", num_threads=0)
