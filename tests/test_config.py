"""The config file: the example is complete and valid; every bad value names file and key."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from edge.config import EXAMPLE_PATH, ConfigError, documented_keys, load, parse


def _example_tables(text: str) -> dict[str, str]:
    """The example's text by table name (`zones` gathers the commented [[zones]])."""
    parts: dict[str, str] = {}
    name = ""
    for line in text.splitlines():
        header = re.match(r"^#? ?\[\[?([\w.]+)\]\]?$", line)
        if header:
            name = header.group(1)
        parts[name] = parts.get(name, "") + line + "\n"
    return parts


def test_the_example_parses_to_the_defaults_and_names_every_key() -> None:
    data = tomllib.loads(EXAMPLE_PATH.read_text())
    config = parse(data, "example.toml")
    default = parse({}, "empty.toml")
    for section in ("device", "camera", "pose", "analysis", "motion", "mqtt", "dashboard"):
        assert getattr(config, section) == getattr(default, section), section
    assert config.zones == default.zones
    tables = _example_tables(EXAMPLE_PATH.read_text())
    for section, keys in documented_keys().items():
        assert section in tables, f"[{section}] not in the example"
        for key in keys:
            assert re.search(rf"^#? ?{key} =", tables[section], re.M), \
                f"[{section}] {key} not in the example"


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
        ("[[zones]]\nname = 'x'\nactivity = \"dishwasher\\n\"\n"
         "polygon = [[0, 0], [1, 0], [1, 1]]\n", "activity: expected 1-32"),
        ("[[zones]]\nname = 'Sink'\npolygon = [[0, 0], [1, 0], [1, 1]]\n",
         "activity: expected 1-32"),
        ("x = ", "not valid TOML"),
        ("[dashboard]\nhttp_prot = 1\n", "[dashboard]: unknown key 'http_prot'"),
        ("[dashboard]\nmqtt_host = 'hub'\n",
         "[dashboard]: unknown key 'mqtt_host'; it is 'host' in the [dashboard.mqtt] table"),
        ("[dashboard.mqtt]\nport = 0\n", "[dashboard.mqtt]: port: expected 1-65535"),
        ("[dashboard.mqtt]\noutbox_path = 'x'\n", "[dashboard.mqtt]: unknown key 'outbox_path'"),
        ("[dashboard]\nstreak_goal = 1.5\n", "[dashboard]: streak_goal: expected 0 < goal"),
        ("[dashboard]\ntimezone = 'Mars/Olympus'\n", "[dashboard]: timezone: expected an IANA"),
        ("[dashboard.mqtt]\npassword_file = '/nonexistent/pw'\n",
         "[dashboard.mqtt]: password_file: /nonexistent/pw does not exist"),
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


@pytest.mark.parametrize(("toml", "key"), [
    ("[camera]\nheight = 7\n", "height"),
    ("[dashboard]\nhttp_prot = 8080\n", "http_prot"),
    ("[dashboard.mqtt]\nkeepalive_s = 1\n", "keepalive_s"),
])
@pytest.mark.parametrize("command", [["config", "check"], ["dashboard", "serve", "--config"]])
def test_config_check_exits_2_with_one_line(tmp_path: Path, toml: str, key: str,
                                            command: list[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    done = subprocess.run([sys.executable, "-m", "edge.cli", *command, str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and key in done.stderr and str(path) in done.stderr


def test_config_example_is_what_check_accepts(tmp_path: Path) -> None:
    example = subprocess.run([sys.executable, "-m", "edge.cli", "config", "example"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    path = tmp_path / "example.toml"
    path.write_text(example)
    done = subprocess.run([sys.executable, "-m", "edge.cli", "config", "check", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "ok" in done.stdout


def test_every_config_key_is_in_its_readme_row() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for section, keys in documented_keys().items():
        table = f"`[[{section}]]`" if section == "zones" else f"`[{section}]`"
        rows = [line for line in readme.splitlines() if line.startswith(f"| {table} |")]
        assert rows, f"{table} has no row in the README's configuration table"
        missing = [key for key in keys if f"`{key}`" not in rows[0]]
        assert not missing, f"{table} keys missing from its README row: {missing}"


def _check(path: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge.cli", "config", "check", str(path)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("device_id", ["kitchen\n", "kitchen\r\n", "\nkitchen"])
def test_a_device_id_with_a_newline_is_refused(tmp_path: Path, device_id: str) -> None:
    # `$` in a pattern also matches before a final newline; the broker then drops the agent.
    path = tmp_path / "hingewatch.toml"
    path.write_text(f"[device]\nid = {device_id!r}\n".replace("'", '"'))
    done = _check(path)
    assert done.returncode == 2, done.stdout
    assert done.stderr.count("\n") == 1 and "device_id" in done.stderr


def test_topics_and_ulids_are_full_matches() -> None:
    from edge.delivery.topics import device_of, event_topic
    from edge.events import schema
    from edge.ulid import new_ulid

    with pytest.raises(ValueError, match="device_id"):
        event_topic("kitchen\n")
    assert device_of("hingewatch/kitchen\n/event") is None
    assert device_of("hingewatch/kitchen/event") == "kitchen"
    ulid = new_ulid()
    pattern = schema()["properties"]["event_id"]["pattern"]  # read as jsonschema does
    assert re.search(pattern, ulid) and not re.search(pattern, ulid + "\n")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "is a folder"),
        (lambda p: p.write_bytes(b"[device]\nid = \"k\xe4che\"\n"), "not UTF-8"),
        (lambda p: p.write_bytes(b"# " + b"x" * (2 * 1024 * 1024) + b"\n"), "larger than"),
    ],
    ids=["folder", "latin-1", "huge"],
)
def test_a_file_that_is_not_a_config_is_one_line(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "hingewatch.toml"
    make(path)
    done = _check(path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr and str(path) in done.stderr


def test_config_check_on_dev_zero_is_one_line() -> None:
    done = _check("/dev/zero")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "/dev/zero" in done.stderr


@pytest.mark.parametrize("key", ["password_file", "ca_file", "cert_file"])
def test_a_named_file_that_does_not_exist_is_refused(tmp_path: Path, key: str) -> None:
    path = tmp_path / "hingewatch.toml"
    missing = tmp_path / "nowhere" / "secret"
    extra = "username = \"kitchen\"\n" if key == "password_file" else ""
    path.write_text(f"[mqtt]\n{extra}{key} = \"{missing}\"\n")
    done = _check(path)
    assert done.returncode == 2, done.stdout
    line = done.stderr
    assert line.count("\n") == 1 and key in line and str(missing) in line and str(path) in line


def test_key_file_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    cert = tmp_path / "client.pem"
    cert.write_text("not checked here")
    path = tmp_path / "hingewatch.toml"
    path.write_text(f"[mqtt]\ncert_file = \"{cert}\"\nkey_file = \"{tmp_path}/gone.key\"\n")
    done = _check(path)
    assert done.returncode == 2 and "key_file" in done.stderr and "gone.key" in done.stderr


def test_without_zones_there_are_none_and_the_demo_brings_its_own(tmp_path: Path) -> None:
    from edge.demo.run import edge_config
    from edge.demo.zones import DEMO_ZONES

    assert parse({}, "empty.toml").zones == ()
    demo = tomllib.loads(edge_config(tmp_path, "synthetic", 1883, "5"))
    assert parse(demo, "demo.toml").zones == DEMO_ZONES
    # The example shows the same layout, commented out.
    text = EXAMPLE_PATH.read_text()
    layout = "\n".join(line[2:] for line in text.splitlines()
                       if re.match(r"# (\[\[zones\]\]|name =|activity =|polygon =)", line))
    assert parse(tomllib.loads(layout), "example.toml").zones == DEMO_ZONES
