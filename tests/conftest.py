"""Shared test helpers: where the fixtures are, and one pose engine per session."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.mqtt_broker import mosquitto  # noqa: F401  (the real-broker fixture, for every test)
from tests.publisher_setup import collector  # noqa: F401  (the device's topics, subscribed)

ROOT = Path(__file__).resolve().parents[1]


def fixtures_dir() -> Path:
    return Path(os.environ.get("HINGEWATCH_FIXTURES", ROOT.parent / "shared" / "fixtures"))


@pytest.fixture(scope="session")
def fixtures() -> Path:
    path = fixtures_dir()
    if not path.is_dir():
        pytest.skip(f"fixtures folder {path} is absent (set HINGEWATCH_FIXTURES)")
    return path


def load_rgb(path: Path) -> np.ndarray:
    from edge.capture.sources import read_image

    return read_image(path)


def assert_starter_renders_hold(done: subprocess.CompletedProcess[str], what: str = "") -> None:
    """`hingewatch eval` on the starter renders: each right or unsure, and the held figures
    (tests/metrics.json) not fallen."""
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    for truth, said in figures["confusion"].items():
        assert set(said) <= {truth, "unsure"}, (what, truth, said, done.stderr)
    stored = json.loads((ROOT / "tests" / "metrics.json").read_text())["starter_renders"]
    for key in ("coverage", "confident_balanced_accuracy"):
        assert figures[key] >= stored[key], f"{what}{key} fell from {stored[key]} to {figures[key]}"
