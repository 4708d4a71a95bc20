"""Built models: the int8 files `hingewatch models quantize` makes, and their records.

A built file is made here, not fetched, so no checksum can be pinned for it in advance:
beside each one lies `<file>.build.json`, written after the build's check passed, with the
result's sha256, the recipe it was built with and the check's figures. Every load checks
the file against its record and the record against the manifest's recipe.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edge.errors import ModelError

RECORD_SUFFIX = ".build.json"


@dataclass(frozen=True)
class BuildSpec:
    """One [built.NAME] entry of the manifest: what to build from what, and how."""

    name: str
    file: str
    source: str  # the float model's manifest name
    variant: str  # the `--variant` that builds it
    tool: str  # the pinned quantizer, "package==version"
    input_range: tuple[float, float]
    float_first_convs: int
    float_heads: bool
    float_head_cells: int
    check: dict[str, float]
    reference_sha256: str = ""
    # Every op with at least this many output cells stays float too (0: none); lite and
    # heavy lose their mask in the high-resolution stages otherwise.
    float_min_cells: int = 0

    @classmethod
    def from_toml(cls, name: str, entry: dict[str, Any]) -> BuildSpec:
        lo, hi = entry["input_range"]
        return cls(
            name=name,
            file=entry["file"],
            source=entry["from"],
            variant=entry["variant"],
            tool=entry["tool"],
            input_range=(float(lo), float(hi)),
            float_first_convs=int(entry["float_first_convs"]),
            float_heads=bool(entry["float_heads"]),
            float_head_cells=int(entry.get("float_head_cells", 0)),
            check={k: float(v) for k, v in entry.get("check", {}).items()},
            reference_sha256=entry.get("reference_sha256", ""),
            float_min_cells=int(entry.get("float_min_cells", 0)),
        )

    def key(self, source_sha256: str) -> str:
        """A digest of everything that decides the result: a record with another key was
        built by another recipe or from another float file."""
        # float_min_cells joins the key only when set, so builds from before it stay valid.
        recipe = {k: v for k, v in asdict(self).items()
                  if k != "reference_sha256" and not (k == "float_min_cells" and not v)}
        text = json.dumps({**recipe, "source_sha256": source_sha256}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def rebuild_hint(spec: BuildSpec, again: bool = False) -> str:
    force = " --force" if again else ""
    return (f"{'rebuild' if again else 'build'} it with "
            f"`hingewatch models quantize --variant {spec.variant}{force}`")


def record_path(model: Path) -> Path:
    return model.with_name(model.name + RECORD_SUFFIX)


def read_record(model: Path, spec: BuildSpec) -> dict[str, Any]:
    path = record_path(model)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"{model} has no build record ({path.name}); "
                         f"{rebuild_hint(spec)}") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: unreadable build record ({exc}); {rebuild_hint(spec)}") \
            from None
    if not isinstance(record, dict) or not isinstance(record.get("sha256"), str):
        raise ModelError(f"{path}: not a build record; {rebuild_hint(spec)}")
    return record


def verify_built(model: Path, spec: BuildSpec, source_sha256: str) -> dict[str, Any]:
    """The build record of `model`, or ModelError unless the file is exactly what its record
    says and the record is of the manifest's current recipe."""
    from edge.pose.models import sha256_of

    if not model.is_file():
        raise ModelError(f"model {spec.file} is not built at {model}; {rebuild_hint(spec)}")
    record = read_record(model, spec)
    if record.get("key") != spec.key(source_sha256):
        raise ModelError(f"{model} was built by another recipe or from another float model "
                         f"than models/manifest.toml says; {rebuild_hint(spec, again=True)}")
    actual = sha256_of(model)
    if actual != record["sha256"]:
        raise ModelError(
            f"model {model} fails its checksum (sha256 {actual[:12]}…, its build record says "
            f"{record['sha256'][:12]}…): the file is corrupt or truncated; "
            f"{rebuild_hint(spec, again=True)}"
        )
    return record


def write_record(model: Path, record: dict[str, Any]) -> None:
    """Write the record beside `model` through a temp file and a rename."""
    dest = record_path(model)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(record, out, indent=1, sort_keys=True)
            out.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def arm64() -> bool:
    return platform.machine().lower() in ("aarch64", "arm64")
