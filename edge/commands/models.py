"""`hingewatch models fetch`: put the pose models where the engine finds them."""

from __future__ import annotations

import argparse
import sys

from edge.pose.models import VARIANTS, fetch, load_manifest


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="fetch and list the pose models")
    msub = p.add_subparsers(dest="models_command", required=True, metavar="{fetch,list}")
    f = msub.add_parser("fetch", help="fetch the BlazePose models, checked by sha256")
    f.add_argument("--variant", choices=sorted(VARIANTS), default="full",
                   help="landmark model size (default: full)")
    f.set_defaults(func=run_fetch)
    ls = msub.add_parser("list", help="list the models the manifest knows")
    ls.set_defaults(func=run_list)


def run_fetch(args: argparse.Namespace) -> int:
    fetch(VARIANTS[args.variant], log=lambda m: print(m, file=sys.stderr))
    return 0


def run_list(args: argparse.Namespace) -> int:
    for spec in load_manifest().values():
        print(f"{spec.name:24} {spec.file:42} {spec.licence:12} {spec.sha256[:12]}…")
    return 0
