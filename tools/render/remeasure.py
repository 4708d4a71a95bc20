"""Recompute the `measured` labels of finished pictures without rendering them again.

Usage: MH_DATA=ASSETS/data python remeasure.py OUTDIR    (bpy's Python)

Poses each picture's scene again (about a second each) and rewrites its sidecar's
`measured` when a quantity is missing (e.g. `true_bulge_norm`, added after the batch began).
Safe while the batch runs: each sidecar is replaced atomically.
"""

from __future__ import annotations

import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from generate import posed, world_verts  # noqa: E402
from mhassets import Assets  # noqa: E402
from sampler import sample  # noqa: E402
from stage import true_bulge, trunk_frame  # noqa: E402


def main(out: str) -> int:
    assets = Assets(os.environ.get('MH_DATA', ''))
    changed = 0
    for path in sorted(glob.glob(f'{out}/r*.json')):
        with open(path) as fh:
            rec = json.load(fh)
        if 'true_bulge_norm' in rec['measured']:
            continue
        s = rec['scene']
        sc = sample(int(s['name'][1:3]), s['index'])
        if json.loads(json.dumps(sc.to_json())) != s:
            print(f'{path}: its scene is not what the sampler draws now; left alone')
            continue
        ch, measured, _, loc, _ = posed(assets, sc, 64, 1)
        measured.update(true_bulge(world_verts(ch, skin=True), trunk_frame(ch, loc)))
        rec['measured'] = measured
        with open(f'{path}.tmp', 'w') as fh:
            json.dump(rec, fh, indent=1)
        os.replace(f'{path}.tmp', path)
        changed += 1
    # labels.json follows at the generator's next picture (or: generate.py OUTDIR --count 0)
    print(f'{changed} sidecars remeasured')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
