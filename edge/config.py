"""One TOML file configures a device and its dashboard; it is checked before anything starts.

Tables: [device], [camera], [pose], [analysis], [motion], [[zones]], [mqtt] (see
edge.delivery.mqtt_config), [cue] (edge.delivery.cue), [dashboard] and [dashboard.mqtt]
(edge.config_dashboard). One
loader reads them all (edge.config_tables): an unknown key, a wrong type or an out-of-range
value ends in one line naming the file, the table, the key and what is allowed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from edge.analysis.zones import DEFAULT_ZONES, Zone
from edge.config_dashboard import DashboardConfig
from edge.config_tables import (
    DEFAULT_PATH,
    Between,
    ConfigError,
    Table,
    build,
    keys,
    missing_files,
    read_text,
    subtables,
)
from edge.delivery.mqtt_config import MqttConfig
from edge.delivery.topics import check_device_id
from edge.events import ACT_ON_CONFIDENCE

__all__ = ["Config", "ConfigError", "documented_keys", "load", "outbox_path", "parse"]

EXAMPLE_PATH = Path(__file__).with_name("config_example.toml")
Rate = Annotated[float, Between(1, 60)]


@dataclass(frozen=True)
class DeviceConfig(Table):
    # Names this device in topics and on the dashboard: letters, digits, _ and -.
    id: str = "hingewatch"
    # The outbox and the learned standing baseline live here.
    state_dir: Path = Path("~/.local/state/hingewatch")

    def check(self) -> None:
        check_device_id(self.id)


@dataclass(frozen=True)
class CameraConfig(Table):
    # "camera" (Pi camera), "webcam:N", a video or picture file, or "synthetic" (the demo).
    source: str = "camera"
    width: Annotated[int, Between(160, 4096, even=True)] = 1280
    height: Annotated[int, Between(120, 3072, even=True)] = 720
    fps: Rate = 15.0
    # How long to wait before trying a lost camera again; doubles up to retry_max_s.
    retry_min_s: float = 1.0
    retry_max_s: float = 60.0

    def check(self) -> None:
        self.need(bool(self.source.strip()), "source", "camera, webcam:N, a file or synthetic",
                  self.source)
        self.need(0.1 <= self.retry_min_s <= self.retry_max_s <= 3600, "retry_min_s",
                  "0.1 <= retry_min_s <= retry_max_s <= 3600",
                  (self.retry_min_s, self.retry_max_s))


@dataclass(frozen=True)
class PoseConfig(Table):
    engine: Literal["blazepose", "movenet"] = "blazepose"
    variant: Literal["lite", "full", "heavy"] = "full"
    # Interpreter threads: one per core the model may use (a Pi 4/5 has 4).
    threads: Annotated[int, Between(1, 16)] = 2
    runtime: Literal["auto", "litert", "tflite"] = "auto"
    # "int8": the models `hingewatch models quantize` builds (faster on a Pi's CPU); "auto":
    # int8 on arm64 when they are built, float otherwise.
    precision: Literal["auto", "float", "int8"] = "auto"


@dataclass(frozen=True)
class AnalysisConfig(Table):
    # Frames per second the pose model analyses; frames in between are skipped. Raising it
    # follows fast bends better and costs CPU in proportion.
    rate_hz: Rate = 10.0
    # A saved standing baseline (`hingewatch calibrate --out`); empty: learn it live.
    baseline_file: str = ""


@dataclass(frozen=True)
class MotionConfig(Table):
    # Off: the pose model runs on every analysed frame.
    enabled: bool = True
    # Grey levels (0-255) a pixel must change by to count as moving; raising it ignores
    # flicker and noise, and misses slow, low-contrast movement.
    pixel_threshold: Annotated[int, Between(1, 254)] = 25
    # Share of the small picture that must move to wake the model; raising it ignores
    # curtains and pets, and wakes later for someone far away.
    min_changed_share: Annotated[float, Between(0, 1, exclusive=True)] = 0.004
    # With nobody seen and nothing moving this long, the model sleeps.
    sleep_after_s: Annotated[float, Between(0.2, 600)] = 3.0
    # Width of the greyscale picture compared (the Pi camera's lores stream when it has one).
    width: Annotated[int, Between(32, 640)] = 160


@dataclass(frozen=True)
class CueConfig(Table):
    # A gentle cue in everyday life (edge.delivery.cue): off unless turned on.
    enabled: bool = False
    # After this many rounded bends within window_min minutes, one cue.
    rounded_bends: Annotated[int, Between(1, 100)] = 3
    window_min: Annotated[float, Between(0.5, 24 * 60)] = 10.0
    # Only rounded backs said at least this sure count (the verdict's calibrated confidence:
    # how often verdicts like it were right). Lowering it nags on rounds read from weak
    # evidence (the hips alone, a hump a backpack makes too), said at most 0.75: on the
    # rendered sets 174 of 178 rounds said at 0.8 or more were rounds, 39 of 52 below.
    min_confidence: Annotated[float, Between(0, 1)] = ACT_ON_CONFIDENCE
    # At least this many minutes between two cues.
    min_gap_min: Annotated[float, Between(0, 24 * 60)] = 60.0
    # Never more than this many cues a day.
    max_per_day: Annotated[int, Between(1, 100)] = 3
    # No cue from quiet_start to quiet_end, local time ("HH:MM"; across midnight when
    # start is later than end; equal: no quiet hours).
    quiet_start: str = "21:00"
    quiet_end: str = "08:00"
    # What a speaker or phone says.
    words: str = "Try a hip hinge: hips back, as if closing a drawer with them."

    def check(self) -> None:
        for key in ("quiet_start", "quiet_end"):
            value = getattr(self, key)
            self.need(_is_hhmm(value), key, "a time of day HH:MM (00:00-23:59)", value)
        self.need(0 < len(self.words.strip()) <= 200, "words", "1-200 characters", self.words)


def _is_hhmm(text: str) -> bool:
    hh, _, mm = text.partition(":")
    return (len(hh) == 2 and len(mm) == 2 and hh.isdigit() and mm.isdigit()
            and hh.isascii() and mm.isascii() and int(hh) < 24 and int(mm) < 60)


@dataclass(frozen=True)
class Config:
    """The whole file: one field per table, each a checked dataclass."""

    path: Path | None = None
    device: DeviceConfig = field(default_factory=DeviceConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    pose: PoseConfig = field(default_factory=PoseConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    zones: tuple[Zone, ...] = DEFAULT_ZONES
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    cue: CueConfig = field(default_factory=CueConfig)
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)


# The tables, each a dataclass built by the one loader; [[zones]] is a list, read apart.
SECTIONS: dict[str, type] = subtables(Config)
# Keys that are not in the file: [mqtt] device_id is [device] id.
_HIDDEN: dict[str, tuple[str, ...]] = {"mqtt": ("device_id",)}


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
    unknown = set(data) - set(SECTIONS) - {"zones"}
    if unknown:
        allowed = ", ".join(sorted([*SECTIONS, "zones"]))
        raise ConfigError(f"{file}: unknown table {sorted(unknown)[0]!r}; allowed: {allowed}")
    device = build(DeviceConfig, data.get("device", {}), file, "device")
    fixed: dict[str, dict[str, Any]] = {"mqtt": {"device_id": device.id}}
    tables = {name: build(cls, data.get(name, {}), file, name, _HIDDEN.get(name, ()),
                          **fixed.get(name, {}))
              for name, cls in SECTIONS.items() if name != "device"}
    zones = _zones(data["zones"], file) if "zones" in data else DEFAULT_ZONES
    return Config(Path(file), device, zones=zones, **tables)


def load(path: Path | None) -> Config:
    """The config at `path` (default: /etc/hingewatch/hingewatch.toml if it exists)."""
    if path is None:
        if not DEFAULT_PATH.is_file():
            return Config()
        path = DEFAULT_PATH
    try:
        data = tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    config = parse(data, str(path))
    for name in SECTIONS:
        missing = missing_files(getattr(config, name), name)
        if missing:
            raise ConfigError(f"{path}: {missing[0]}: {missing[1]} does not exist or is not "
                              "a file")
    return config


def outbox_path(config: Config) -> Path:
    """The outbox file: `[mqtt] outbox_path`, else one per device in the state folder."""
    if config.mqtt.outbox_path is not None:
        return Path(config.mqtt.outbox_path).expanduser()
    return (Path(config.device.state_dir).expanduser()
            / f"outbox-{config.device.id}.sqlite3")


def documented_keys() -> dict[str, tuple[str, ...]]:
    """Every key each table accepts, by table name (`dashboard.mqtt` for a sub-table), for
    the example, the README and the test that each is read somewhere."""
    found: dict[str, tuple[str, ...]] = {}

    def walk(name: str, cls: type) -> None:
        found[name] = keys(cls, _HIDDEN.get(name, ()))
        for sub, sub_cls in subtables(cls).items():
            walk(f"{name}.{sub}", sub_cls)

    for name, cls in SECTIONS.items():
        walk(name, cls)
    found["zones"] = ("name", "activity", "polygon")
    return found
