"""What the systemd/ tests share: where the shipped files are, and reading them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT

SYSTEMD = ROOT / "systemd"
INSTALL = SYSTEMD / "install.sh"
EDGE = SYSTEMD / "hingewatch-edge.service"
DASHBOARD = SYSTEMD / "hingewatch-dashboard.service"
UNITS = (EDGE, DASHBOARD)


def need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (Debian package {package})")
    return path


def unit_settings(path: Path) -> dict[str, list[str]]:
    """`Key` -> every value it is given, over all sections (systemd allows repeats)."""
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def install_constant(name: str) -> str:
    match = re.search(rf"^readonly {name}=(\S+)$", INSTALL.read_text(), re.MULTILINE)
    assert match, f"install.sh has no readonly {name}="
    value = match.group(1)
    for ref in re.findall(r"\$(\w+)", value):
        value = value.replace(f"${ref}", install_constant(ref))
    return value
