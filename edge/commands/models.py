"""`hingewatch models fetch|quantize|list`: put the pose models where the engine finds them."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from edge.errors import ModelError
from edge.pose.built import verify_built
from edge.pose.models import (
    PRECISION_CHOICES,
    PROJECT_ROOT,
    VARIANTS,
    fetch,
    load_builds,
    load_manifest,
    resolve_precision,
    search_dirs,
)
from edge.pose.split import can_split

# How many pictures of a --renders folder join the calibration (evenly over the folder).
RENDERS_COUNT = 100


def default_fixtures() -> Path:
    env = os.environ.get("HINGEWATCH_FIXTURES")
    return Path(env) if env else PROJECT_ROOT.parent / "shared" / "fixtures"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="fetch, build and list the pose models")
    msub = p.add_subparsers(dest="models_command", required=True,
                            metavar="{fetch,quantize,list}")
    f = msub.add_parser("fetch", help="fetch the BlazePose models, checked by sha256")
    f.add_argument("--variant", choices=sorted(VARIANTS), default="full",
                   help="landmark model size (default: full)")
    f.set_defaults(func=run_fetch)
    q = msub.add_parser(
        "quantize",
        help="build the int8 detector and landmark model from the float ones "
             "(needs pip install 'hingewatch[quantize]' and the fixtures)")
    q.add_argument("--variant", choices=sorted(VARIANTS), default="full",
                   help="landmark model size (default: full)")
    q.add_argument("--fixtures", type=Path, default=None,
                   help="the fixtures folder, the calibration pictures "
                        "(default: $HINGEWATCH_FIXTURES or ../shared/fixtures)")
    q.add_argument("--renders", type=Path, default=None,
                   help="also calibrate on rendered people from this folder (tools/render)")
    q.add_argument("--renders-count", type=int, default=RENDERS_COUNT,
                   help=f"how many of those, evenly spaced (default {RENDERS_COUNT})")
    q.add_argument("--force", action="store_true", help="rebuild even when built and intact")
    q.add_argument("--threads", type=int, default=2, help="interpreter threads (default 2)")
    q.set_defaults(func=run_quantize)
    ls = msub.add_parser("list", help="list the models, their state and the precision run here")
    ls.add_argument("--variant", choices=sorted(VARIANTS), default="full",
                    help="the variant whose precision to show (default: full)")
    ls.add_argument("--precision", choices=PRECISION_CHOICES, default="auto",
                    help="the [pose] precision to resolve (default: auto)")
    ls.set_defaults(func=run_list)


def run_fetch(args: argparse.Namespace) -> int:
    fetch(VARIANTS[args.variant], log=lambda m: print(m, file=sys.stderr))
    return 0


def run_quantize(args: argparse.Namespace) -> int:
    from edge.pose.quantize.build import build

    if args.renders is not None and not args.renders.is_dir():
        raise ModelError(f"--renders {args.renders}: no such folder")
    if not 1 <= args.threads <= 16:
        raise ModelError(f"--threads: expected 1-16, got {args.threads}")
    build(args.variant, args.fixtures or default_fixtures(), args.renders,
          args.renders_count, args.force, args.threads, log=lambda m: print(m, flush=True))
    return 0


def _built_state(name: str) -> str:
    builds, specs = load_builds(), load_manifest()
    spec = builds[name]
    for folder in search_dirs():
        path = folder / spec.file
        if path.is_file():
            try:
                record = verify_built(path, spec, specs[spec.source].sha256)
            except ModelError:
                return "broken (rebuild: models quantize --force)"
            return f"built {record['sha256'][:12]}…"
    return f"not built (models quantize --variant {spec.variant})"


def run_list(args: argparse.Namespace) -> int:
    for spec in load_manifest().values():
        print(f"{spec.name:26} {spec.file:42} {spec.licence:12} {spec.sha256[:12]}…")
    for name, build in load_builds().items():
        print(f"{name:26} {build.file:42} {'int8':12} {_built_state(name)}")
    precision, why = resolve_precision(args.precision, args.variant)
    print(f"precision here ({args.precision}, {args.variant}): {precision}"
          + (f" ({why})" if why else ""))
    print("mask head here: " + ("on demand (the landmark model cut in two: a frame whose "
                                "mask is not read skips it)" if can_split() else
                                "every frame (no flatbuffer schema to cut the model: "
                                "install ai-edge-litert)"))
    return 0


