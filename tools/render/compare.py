"""The same scenes recorded twice (before and after a change to the render recipe): which
verdicts moved, and the covered, right and hinge-called-round counts of each.

Usage: .venv/bin/python tools/render/compare.py tests/data/rendered/set3 ../rerender/set3

Items pair up by name; only names in both recordings count. To re-render a few scenes of a
set, pass their indices to `generate.py --only` with the set's seed, then `record.py` them.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from edge.analysis.evaluation import Outcome, hinges_called_round
from edge.analysis.recorded import load_recorded
from edge.analysis.recorded_eval import score_items


def _said(o: Outcome) -> str:
    return f"{o.predicted} {o.confidence:.2f}" if o.covered else str(o.predicted)


def _count(outcomes: list[Outcome]) -> Counter[str]:
    return Counter({
        "covered": sum(o.covered for o in outcomes),
        "right": sum(o.covered and o.right for o in outcomes),
        "hinge called round": sum(o.truth == "hinge" and o.predicted == "round"
                                  for o in outcomes),
        "of them at >= 0.8": len(hinges_called_round(outcomes)),
    })


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path, help="a recording (.json/.npz stem)")
    ap.add_argument("after", type=Path, help="the same scenes recorded again")
    args = ap.parse_args(argv)
    after = {o.item: o for o in score_items(load_recorded(args.after)).outcomes}
    before = {o.item: o for o in score_items(load_recorded(args.before)).outcomes
              if o.item in after}
    if not before:
        print(f"no item of {args.after} is in {args.before}", file=sys.stderr)
        return 2
    for name in sorted(before):
        b, a = before[name], after[name]
        if _said(b) != _said(a):
            print(f"{name:36s} {b.truth:6s} {_said(b):12s} -> {_said(a)}")
    cb, ca = _count(list(before.values())), _count([after[n] for n in before])
    print(f"{len(before)} items in both")
    for key in ("covered", "right", "hinge called round", "of them at >= 0.8"):
        print(f"  {key:20s} {cb[key]:4d} -> {ca[key]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
