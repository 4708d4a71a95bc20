"""Shared test helpers: where the fixtures are, and one pose engine per session."""

from __future__ import annotations

import os
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
