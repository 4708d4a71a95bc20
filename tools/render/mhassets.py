"""MakeHuman's CC0 assets read with numpy: base mesh, morph targets, skeleton, weights, clothes.

No bpy here: parsing is done once per process and cached; `Assets.shaped(body)` gives the
base mesh morphed to a body shape (MakeHuman's macro sliders, blended the way MakeHuman
blends them: each slider's value splits between its two nearest targets).
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

import numpy as np


def read_obj(path: str) -> tuple[np.ndarray, np.ndarray | None, list, list]:
    v, vt, faces, groups = [], [], [], []
    cur = None
    with open(path) as fh:
        for line in fh:
            if line.startswith('v '):
                v.append([float(x) for x in line.split()[1:4]])
            elif line.startswith('vt '):
                vt.append([float(x) for x in line.split()[1:3]])
            elif line.startswith('g '):
                cur = line.split(None, 1)[1].strip()
            elif line.startswith('f '):
                parts = line.split()[1:]
                vi = [int(p.split('/')[0]) - 1 for p in parts]
                ti = [int(p.split('/')[1]) - 1 if p.count('/') >= 1 and p.split('/')[1] else -1
                      for p in parts]
                faces.append((vi, ti))
                groups.append(cur)
    return np.array(v), (np.array(vt) if vt else None), faces, groups


def load_target(path: str) -> tuple[np.ndarray, np.ndarray]:
    with open(path) as fh:  # the average body's targets are empty files
        rows = [ln for ln in fh if ln.strip() and not ln.startswith('#')]
    a = np.loadtxt(rows, ndmin=2) if rows else np.zeros((0, 4))
    if a.size == 0:
        return np.zeros(0, int), np.zeros((0, 3))
    return a[:, 0].astype(int), a[:, 1:4]


def parse_mhclo(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict, set, dict]:
    """Reference vertices, weights and offsets of a proxy, its scales, deleted body verts, meta."""
    refs, ws, offs = [], [], []
    scales: dict[str, tuple[int, int, float]] = {}
    delete: set[int] = set()
    mode = None
    meta: dict[str, str] = {}
    with open(path) as fh:
        for line in fh:
            s = line.split('#')[0].strip()
            if not s:
                continue
            tok = s.split()
            if tok[0] in ('x_scale', 'y_scale', 'z_scale'):
                scales[tok[0][0]] = (int(tok[1]), int(tok[2]), float(tok[3]))
                continue
            if tok[0] == 'verts':
                mode = 'verts'
                continue
            if tok[0] == 'delete_verts':
                mode = 'delete'
                continue
            if tok[0] in ('obj_file', 'material', 'name'):
                meta[tok[0]] = tok[1]
                continue
            if mode == 'verts' and tok[0].lstrip('-').isdigit():
                if len(tok) == 1:
                    refs.append([int(tok[0])] * 3)
                    ws.append([1, 0, 0])
                    offs.append([0, 0, 0])
                else:
                    refs.append([int(x) for x in tok[0:3]])
                    ws.append([float(x) for x in tok[3:6]])
                    offs.append([float(x) for x in tok[6:9]])
                continue
            if mode == 'delete':
                i = 0
                while i < len(tok):
                    if i + 2 < len(tok) and tok[i + 1] == '-':
                        delete.update(range(int(tok[i]), int(tok[i + 2]) + 1))
                        i += 3
                    else:
                        delete.add(int(tok[i]))
                        i += 1
                continue
            # other keywords (material, weights file, …) may sit between `verts 0` and the
            # vertex lines: they do not end the section
    return np.array(refs), np.array(ws), np.array(offs), scales, delete, meta


def parse_mhmat(path: str) -> dict[str, str]:
    d = {}
    with open(path) as fh:
        for line in fh:
            s = line.strip()
            if s and not s.startswith('#'):
                tok = s.split(None, 1)
                if len(tok) == 2:
                    d[tok[0]] = tok[1]
    return d


def mh2bl(c: np.ndarray) -> np.ndarray:
    """MakeHuman (decimetres, y up, facing +z) to Blender (metres, z up, facing −y)."""
    c = np.asarray(c)
    return np.stack([c[..., 0], -c[..., 2], c[..., 1]], -1) * 0.1


def three_way(value: float) -> dict[str, float]:
    """A 0..1 slider over min/average/max targets (0.5 = average only)."""
    lo = max(0.0, (0.5 - value) * 2.0)
    hi = max(0.0, (value - 0.5) * 2.0)
    return {'min': lo, 'average': 1.0 - lo - hi, 'max': hi}


class Assets:
    """The parsed asset set under `root` (ASSETS/data)."""

    def __init__(self, root: str) -> None:
        if not os.path.isfile(f'{root}/3dobjs/base.obj'):
            raise FileNotFoundError(f'{root}/3dobjs/base.obj: no MakeHuman assets here')
        self.root = root
        self.base_v, self.base_vt, self.base_f, self.base_g = read_obj(f'{root}/3dobjs/base.obj')
        with open(f'{root}/rigs/default.mhskel') as fh:
            self.skel: dict[str, Any] = json.load(fh)
        with open(f'{root}/rigs/default_weights.mhw') as fh:
            wts = json.load(fh)['weights']
        self.bone_names = list(self.skel['bones'].keys())
        bidx = {n: i for i, n in enumerate(self.bone_names)}
        self.weights = np.zeros((len(self.base_v), len(self.bone_names)), np.float32)
        for b, lst in wts.items():
            if b in bidx:
                a = np.array(lst, dtype=float).reshape(-1, 2)
                self.weights[a[:, 0].astype(int), bidx[b]] = a[:, 1]

    @cache  # noqa: B019 - one Assets per process
    def target(self, rel: str) -> tuple[np.ndarray, np.ndarray]:
        return load_target(f'{self.root}/targets/{rel}')

    @cache  # noqa: B019
    def clothes(self, path: str) -> tuple:
        return parse_mhclo(path)

    @cache  # noqa: B019
    def obj(self, path: str) -> tuple:
        return read_obj(path)

    def shaped(self, gender: float, weight: float, height: float, muscle: float) -> np.ndarray:
        """Base-mesh vertices (MakeHuman units) for the macro sliders; young, mixed ethnicity."""
        coords = self.base_v.copy()
        genders = {'female': 1.0 - gender, 'male': gender}
        hgt = three_way(height)
        for g, wg in genders.items():
            if wg <= 0:
                continue
            for m, wm in three_way(muscle).items():
                for w, ww in three_way(weight).items():
                    f = wg * wm * ww
                    if f <= 1e-4:
                        continue
                    idx, d = self.target(
                        f'macrodetails/universal-{g}-young-{m}muscle-{w}weight.target')
                    coords[idx] += f * d
                    for h in ('min', 'max'):
                        if hgt[h] * f > 1e-4:
                            idx, d = self.target(f'macrodetails/height/{g}-young-{m}muscle-'
                                                 f'{w}weight-{h}height.target')
                            coords[idx] += hgt[h] * f * d
            for eth in ('caucasian', 'african', 'asian'):
                idx, d = self.target(f'macrodetails/{eth}-{g}-young.target')
                coords[idx] += wg / 3.0 * d
        return coords
