"""The config file: the example is complete and valid; every bad value names file and key."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from edge.config import EXAMPLE_PATH, ConfigError, documented_keys, load, parse


def test_the_example_parses_to_the_defaults_and_names_every_key() -> None:
    data = tomllib.loads(EXAMPLE_PATH.read_text())
    config = parse(data, "example.toml")
    default = parse({}, "empty.toml")
    for section in ("device", "camera", "pose", "analysis", "motion", "mqtt"):
        assert getattr(config, section) == getattr(default, section), section
    assert config.zones == default.zones
    text = EXAMPLE_PATH.read_text()
    for section, keys in documented_keys().items():
        for key in keys:
            assert re.search(rf"^#? ?{key} =", text, re.M), f"[{section}] {key} not in example"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[camera]\nfsp = 3\n", "[camera]: unknown key 'fsp'"),
        ("[camera]\nfps = 0\n", "[camera]: fps: expected 1-60"),
        ("[pose]\nvariant = 'huge'\n", "[pose]: variant: expected one of lite, full, heavy"),
        ("[pose]\nthreads = 'two'\n", "[pose]: threads: expected a whole number"),
        ("[motion]\nenabled = 1\n", "[motion]: enabled: expected true or false"),
        ("[mqtt]\nport = 70000\n", "[mqtt]: port: expected 1-65535"),
        ("[device]\nid = 'my kitchen'\n", "[device]: device_id: expected"),
        ("[camera]\nsource = 'camera'\n[kamera]\n", "unknown table 'kamera'"),
        ("[[zones]]\nname = 'x'\npolygon = [[0, 0], [2, 0], [1, 1]]\n", "outside 0..1"),
        ("[[zones]]\nname = 'x'\npolygon = [[0, 0]]\n", "3 or more"),
        ("x = ", "not valid TOML"),
    ],
)
def test_bad_values_name_the_file_the_table_and_the_key(
    tmp_path: Path, toml: str, message: str
) -> None:
    path = tmp_path / "hingewatch.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_config_check_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[camera]\nheight = 7\n")
    done = subprocess.run([sys.executable, "-m", "edge.cli", "config", "check", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "height" in done.stderr and str(path) in done.stderr


def test_config_example_is_what_check_accepts(tmp_path: Path) -> None:
    example = subprocess.run([sys.executable, "-m", "edge.cli", "config", "example"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    path = tmp_path / "example.toml"
    path.write_text(example)
    done = subprocess.run([sys.executable, "-m", "edge.cli", "config", "check", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "ok" in done.stdout


def test_every_config_key_is_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for section, keys in documented_keys().items():
        table = f"`[[{section}]]`" if section == "zones" else f"`[{section}]`"
        assert table in readme, f"{table} missing from the README"
        for key in keys:
            assert f"`{key}`" in readme, f"[{section}] {key} missing from the README"
