"""One TOML file configures a device; it is checked before anything starts.

Tables: [device], [camera], [pose], [analysis], [motion], [[zones]], [mqtt] (see
edge.delivery.mqtt_config) and [dashboard] (checked by the dashboard, which edge does not
import). An unknown key, a wrong type or an out-of-range value ends in one line naming the
file, the table, the key and what is allowed.
"""

from __future__ import annotations

import tomllib
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal

from edge.analysis.zones import DEFAULT_ZONES, Zone
from edge.delivery.mqtt_config import MqttConfig
from edge.delivery.topics import check_device_id
from edge.errors import HingewatchError

DEFAULT_PATH = Path("/etc/hingewatch/hingewatch.toml")
EXAMPLE_PATH = Path(__file__).with_name("config_example.toml")
# A real config is a few KiB; the bound keeps `config check /dev/zero` from eating memory.
MAX_CONFIG_BYTES = 1024 * 1024


class ConfigError(HingewatchError):
    """The config file is wrong; the message names the file and the key."""


def _need(ok: bool, key: str, allowed: str, value: object) -> None:
    if not ok:
        raise ValueError(f"{key}: expected {allowed}, got {value!r}")


@dataclass(frozen=True)
class DeviceConfig:
    # Names this device in topics and on the dashboard: letters, digits, _ and -.
    id: str = "hingewatch"
    # The outbox and the learned standing baseline live here.
    state_dir: Path = Path("~/.local/state/hingewatch")

    def __post_init__(self) -> None:
        check_device_id(self.id)


@dataclass(frozen=True)
class CameraConfig:
    # "camera" (Pi camera), "webcam:N", a video or picture file, or "synthetic" (the demo).
    source: str = "camera"
    width: int = 1280
    height: int = 720
    fps: float = 15.0
    # How long to wait before trying a lost camera again; doubles up to retry_max_s.
    retry_min_s: float = 1.0
    retry_max_s: float = 60.0

    def __post_init__(self) -> None:
        _need(bool(self.source.strip()), "source", "camera, webcam:N, a file or synthetic",
              self.source)
        _need(160 <= self.width <= 4096 and self.width % 2 == 0, "width", "an even 160-4096",
              self.width)
        _need(120 <= self.height <= 3072 and self.height % 2 == 0, "height",
              "an even 120-3072", self.height)
        _need(1 <= self.fps <= 60, "fps", "1-60", self.fps)
        _need(0.1 <= self.retry_min_s <= self.retry_max_s <= 3600, "retry_min_s",
              "0.1 <= retry_min_s <= retry_max_s <= 3600", (self.retry_min_s, self.retry_max_s))


@dataclass(frozen=True)
class PoseConfig:
    engine: Literal["blazepose", "movenet"] = "blazepose"
    variant: Literal["lite", "full", "heavy"] = "full"
    # Interpreter threads: one per core the model may use (a Pi 4/5 has 4).
    threads: int = 2
    runtime: Literal["auto", "litert", "tflite"] = "auto"
    # "int8": the models `hingewatch models quantize` builds (faster on a Pi's CPU); "auto":
    # int8 on arm64 when they are built, float otherwise.
    precision: Literal["auto", "float", "int8"] = "auto"

    def __post_init__(self) -> None:
        _need(1 <= self.threads <= 16, "threads", "1-16", self.threads)


@dataclass(frozen=True)
class AnalysisConfig:
    # Frames per second the pose model analyses; frames in between are skipped. Raising it
    # follows fast bends better and costs CPU in proportion.
    rate_hz: float = 10.0
    # A saved standing baseline (`hingewatch calibrate --out`); empty: learn it live.
    baseline_file: str = ""

    def __post_init__(self) -> None:
        _need(1 <= self.rate_hz <= 60, "rate_hz", "1-60", self.rate_hz)


@dataclass(frozen=True)
class MotionConfig:
    # Off: the pose model runs on every analysed frame.
    enabled: bool = True
    # Grey levels (0-255) a pixel must change by to count as moving; raising it ignores
    # flicker and noise, and misses slow, low-contrast movement.
    pixel_threshold: int = 25
    # Share of the small picture that must move to wake the model; raising it ignores
    # curtains and pets, and wakes later for someone far away.
    min_changed_share: float = 0.004
    # With nobody seen and nothing moving this long, the model sleeps.
    sleep_after_s: float = 3.0
    # Width of the greyscale picture compared (the Pi camera's lores stream when it has one).
    width: int = 160

    def __post_init__(self) -> None:
        _need(1 <= self.pixel_threshold <= 254, "pixel_threshold", "1-254", self.pixel_threshold)
        _need(0 < self.min_changed_share < 1, "min_changed_share", "0-1 (exclusive)",
              self.min_changed_share)
        _need(0.2 <= self.sleep_after_s <= 600, "sleep_after_s", "0.2-600", self.sleep_after_s)
        _need(32 <= self.width <= 640, "width", "32-640", self.width)


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    device: DeviceConfig = field(default_factory=DeviceConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    pose: PoseConfig = field(default_factory=PoseConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    zones: tuple[Zone, ...] = DEFAULT_ZONES
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    # Checked by the dashboard (`hingewatch config check` does both).
    dashboard: dict[str, Any] = field(default_factory=dict)


SECTIONS: dict[str, type] = {
    "device": DeviceConfig,
    "camera": CameraConfig,
    "pose": PoseConfig,
    "analysis": AnalysisConfig,
    "motion": MotionConfig,
    "mqtt": MqttConfig,
}


def _type_ok(hint: Any, value: Any) -> tuple[bool, Any, str]:
    """(ok, converted value, what is allowed) for a TOML value against a type hint."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        allowed = typing.get_args(hint)
        return value in allowed, value, "one of " + ", ".join(map(str, allowed))
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            if arg is type(None):
                continue
            ok, conv, _ = _type_ok(arg, value)
            if ok:
                return True, conv, ""
        return False, value, " or ".join(
            getattr(a, "__name__", str(a)) for a in typing.get_args(hint) if a is not type(None))
    if hint is bool:
        return isinstance(value, bool), value, "true or false"
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool), value, "a whole number"
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return ok, float(value) if ok else value, "a number"
    if hint is str:
        return isinstance(value, str), value, "a string"
    if hint is Path:
        return isinstance(value, str) and bool(value), Path(value) if isinstance(value, str) \
            else value, "a path"
    return True, value, ""


def build(cls: type, table: Any, where: str, drop: tuple[str, ...] = ()) -> Any:
    """A checked dataclass from one TOML table; errors name `where` and the key."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {type(table).__name__}")
    assert is_dataclass(cls)
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)} - set(drop)
    values = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(
                f"{where}: unknown key {key!r}; allowed: {', '.join(sorted(known))}")
        ok, conv, allowed = _type_ok(hints[key], value)
        if not ok:
            raise ConfigError(f"{where}: {key}: expected {allowed}, got {value!r}")
        values[key] = conv
    try:
        return cls(**values)
    except (ValueError, HingewatchError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _zones(raw: Any, file: str) -> tuple[Zone, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{file}: [[zones]]: expected one or more [[zones]] tables")
    zones = []
    for i, table in enumerate(raw):
        where = f"{file}: [[zones]] #{i + 1}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: expected a table")
        unknown = set(table) - {"name", "activity", "polygon"}
        if unknown:
            raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}; "
                              "allowed: activity, name, polygon")
        name = table.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: name: expected a non-empty string")
        polygon = table.get("polygon")
        if (not isinstance(polygon, list)
                or not all(isinstance(p, list) and len(p) == 2
                           and all(isinstance(c, int | float) for c in p) for p in polygon)):
            raise ConfigError(f"{where}: polygon: expected [[x, y], ...] in 0..1")
        try:
            zones.append(Zone(name, str(table.get("activity", name)),
                              tuple((float(x), float(y)) for x, y in polygon)))
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return tuple(zones)


def parse(data: dict[str, Any], file: str = "<config>") -> Config:
    unknown = set(data) - set(SECTIONS) - {"zones", "dashboard"}
    if unknown:
        allowed = ", ".join(sorted([*SECTIONS, "zones", "dashboard"]))
        raise ConfigError(f"{file}: unknown table {sorted(unknown)[0]!r}; allowed: {allowed}")
    device = build(DeviceConfig, data.get("device", {}), f"{file}: [device]")
    sections = {name: build(cls, data.get(name, {}), f"{file}: [{name}]")
                for name, cls in SECTIONS.items() if name not in ("device", "mqtt")}
    mqtt = build(MqttConfig, {**data.get("mqtt", {}), "device_id": device.id}
                 if isinstance(data.get("mqtt", {}), dict) else data["mqtt"],
                 f"{file}: [mqtt]")
    dashboard = data.get("dashboard", {})
    if not isinstance(dashboard, dict):
        raise ConfigError(f"{file}: [dashboard]: expected a table")
    zones = _zones(data["zones"], file) if "zones" in data else DEFAULT_ZONES
    return Config(Path(file), device, mqtt=mqtt, zones=zones, dashboard=dashboard, **sections)


def load(path: Path | None) -> Config:
    """The config at `path` (default: /etc/hingewatch/hingewatch.toml if it exists)."""
    if path is None:
        if not DEFAULT_PATH.is_file():
            return Config()
        path = DEFAULT_PATH
    try:
        data = tomllib.loads(_read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    config = parse(data, str(path))
    _check_files_exist(config, str(path))
    return config


def _read_text(path: Path) -> str:
    """The file's text, read with a bound: a directory, /dev/zero or a huge file ends in
    one line, not a traceback or a machine out of memory."""
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a config file")
    if path.exists() and not path.is_file():
        raise ConfigError(f"{path}: not a regular file")
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB; "
                          "is it really a config file?")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); "
                          "save it as UTF-8") from None


def _check_files_exist(config: Config, file: str) -> None:
    """A file the config names must be there now, not fail later in the service's log."""
    for key in ("password_file", "ca_file", "cert_file", "key_file"):
        value = getattr(config.mqtt, key)
        if value is not None and not Path(value).expanduser().is_file():
            raise ConfigError(f"{file}: [mqtt]: {key}: {value} does not exist or is not a "
                              "file")


def outbox_path(config: Config) -> Path:
    """The outbox file: `[mqtt] outbox_path`, else one per device in the state folder."""
    if config.mqtt.outbox_path is not None:
        return Path(config.mqtt.outbox_path).expanduser()
    return (Path(config.device.state_dir).expanduser()
            / f"outbox-{config.device.id}.sqlite3")


def documented_keys() -> dict[str, tuple[str, ...]]:
    """Every key each table accepts (for the example and the README test)."""
    keys = {name: tuple(f.name for f in fields(cls) if f.name != "device_id")
            for name, cls in SECTIONS.items()}
    keys["zones"] = ("name", "activity", "polygon")
    return keys

