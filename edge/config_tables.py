"""The one loader for every table of the config file: a frozen dataclass per table, its
type hints say what each key takes, `Annotated[..., Between(lo, hi)]` says the range.

`build(cls, table, file, name)` turns one TOML table into a checked `cls`; a field whose type
is itself a table is read from the sub-table of that name (`[dashboard.mqtt]`). Every error
is one line that names the file, the table and the key. The same bounds are checked when a
table is made in code (`Table.__post_init__`), so a command-line option or a test value
meets the same rules as the file.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Literal

from edge.errors import HingewatchError

# The config file of an installed device (`--config FILE` elsewhere).
DEFAULT_PATH = Path("/etc/hingewatch/hingewatch.toml")
# A real config is a few KiB; the bound keeps `config check /dev/zero` from eating memory.
MAX_CONFIG_BYTES = 1024 * 1024


class ConfigError(HingewatchError):
    """The config file is wrong; the message names the file and the key."""


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass(frozen=True)
class Between:
    """A number from `lo` to `hi` (both allowed unless `exclusive`), even if asked."""

    lo: float
    hi: float
    even: bool = False
    exclusive: bool = False

    def problem(self, value: Any) -> str | None:
        """What is allowed, when `value` is not; None when it is."""
        inside = (self.lo < value < self.hi) if self.exclusive else (self.lo <= value <= self.hi)
        if inside and (not self.even or value % 2 == 0):
            return None
        span = f"{_number(self.lo)}-{_number(self.hi)}"
        return f"an even {span}" if self.even else \
            f"{span} (exclusive)" if self.exclusive else span


_BOUNDS: dict[type, tuple[tuple[str, Between], ...]] = {}


def _bounds(cls: type) -> tuple[tuple[str, Between], ...]:
    """(field, bound) of each `Annotated[..., Between(...)]` field; read once per class."""
    if cls not in _BOUNDS:
        hints = typing.get_type_hints(cls, include_extras=True)
        _BOUNDS[cls] = tuple((name, meta) for name, hint in hints.items()
                             if typing.get_origin(hint) is typing.Annotated
                             for meta in hint.__metadata__ if isinstance(meta, Between))
    return _BOUNDS[cls]


class Table:
    """Base of every table's dataclass: the `Between` bounds first, then `check()` for the
    rules that tie keys together. `error` is what a wrong value raises."""

    error: ClassVar[type[Exception]] = ValueError

    def __post_init__(self) -> None:
        for name, bound in _bounds(type(self)):
            value = getattr(self, name)
            allowed = bound.problem(value)
            if allowed is not None:
                raise self.error(f"{name}: expected {allowed}, got {value!r}")
        self.check()

    def check(self) -> None:
        """Rules between keys; raise `self.error` naming the key."""

    def need(self, ok: bool, key: str, allowed: str, value: object) -> None:
        if not ok:
            raise self.error(f"{key}: expected {allowed}, got {value!r}")


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


def subtables(cls: type) -> dict[str, type]:
    """The fields of `cls` that are tables themselves (`[dashboard.mqtt]`), by name."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)
            if isinstance(hints[f.name], type) and is_dataclass(hints[f.name])}


def keys(cls: type, hidden: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The keys a table takes (its sub-tables and `hidden` fields not among them)."""
    nested = subtables(cls)
    return tuple(f.name for f in fields(cls) if f.name not in nested and f.name not in hidden)


def _in_subtable(cls: type, key: str) -> tuple[str, str] | None:
    """(sub-table, its key) when `key` reads "<sub-table>_<key>" (`mqtt_host`)."""
    for sub, sub_cls in subtables(cls).items():
        rest = key.removeprefix(f"{sub}_")
        if rest != key and rest in {f.name for f in fields(sub_cls)}:
            return sub, rest
    return None


def _unknown(cls: type, key: str, known: set[str], where: str, name: str) -> ConfigError:
    meant = _in_subtable(cls, key)
    if meant:
        return ConfigError(f"{where}: unknown key {key!r}; it is {meant[1]!r} in the "
                           f"[{name}.{meant[0]}] table now")
    return ConfigError(f"{where}: unknown key {key!r}; allowed: {', '.join(sorted(known))}")


def changed(table: Any, options: dict[str, Any]) -> Any:
    """`table` with `options` (command-line values) applied and checked again; an option
    "<sub-table>_<key>" sets that sub-table's key (`--mqtt-host` is [dashboard.mqtt] host)."""
    direct: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in options.items():
        meant = _in_subtable(type(table), key)
        if meant:
            nested.setdefault(meant[0], {})[meant[1]] = value
        else:
            direct[key] = value
    for sub, values in nested.items():
        direct[sub] = replace(getattr(table, sub), **values)
    return replace(table, **direct)


def build(cls: type, table: Any, file: str, name: str, hidden: tuple[str, ...] = (),
          **fixed: Any) -> Any:
    """A checked `cls` from the TOML table `[name]` of `file`. `hidden` fields are not keys
    of the file; `fixed` values come from elsewhere (another table)."""
    where = f"{file}: [{name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {type(table).__name__}")
    assert is_dataclass(cls)
    hints = typing.get_type_hints(cls)
    nested = subtables(cls)
    known = set(keys(cls, hidden)) | set(nested)
    values: dict[str, Any] = dict(fixed)
    for key, value in table.items():
        if key not in known:
            raise _unknown(cls, key, known, where, name)
        if key in nested:
            values[key] = build(nested[key], value, file, f"{name}.{key}")
            continue
        ok, conv, allowed = _type_ok(hints[key], value)
        if not ok:
            raise ConfigError(f"{where}: {key}: expected {allowed}, got {value!r}")
        values[key] = conv
    try:
        return cls(**values)
    except (ValueError, HingewatchError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def missing_files(table: Any, name: str) -> tuple[str, Path] | None:
    """The first `*_file` path of a table (or its sub-tables) that is not a file now:
    (`[table]: key`, path), so it fails at the check, not later in a service's log."""
    for f in fields(table):
        value = getattr(table, f.name)
        if is_dataclass(value):
            found = missing_files(value, f"{name}.{f.name}")
            if found:
                return found
        elif f.name.endswith("_file") and isinstance(value, Path) \
                and not value.expanduser().is_file():
            return f"[{name}]: {f.name}", value
    return None


def read_text(path: Path) -> str:
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
