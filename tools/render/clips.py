"""Short clips of whole bends: standing, down to a sampled bottom, back up, standing.

The camera and room stay put; the movement is symmetric, so each depth is rendered once
and its frames differ only in their sensor noise. Writes OUT/clips/<name>/NNN.png, the
clip as OUT/clips/<name>.mp4 and its sidecar OUT/clips/<name>.json.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

import cv2
import numpy as np
import postfx
from generate import posed, render_raw
from mhassets import Assets
from sampler import CLIP_FPS, clip_bottom_s, clip_depths, posture_at, sample

WINDOW_S = 0.4  # the label's window around the bottom, each side


def clip_name(seed: int, k: int) -> str:
    return sample(seed, k, 'c').name


def render_clip(assets: Assets, seed: int, k: int, out: str, width: int, samples: int,
                fps: float = CLIP_FPS) -> dict:
    t0 = time.time()
    bottom = sample(seed, k, 'c')
    folder = f'{out}/clips/{bottom.name}'
    os.makedirs(folder, exist_ok=True)
    depths = clip_depths(fps)
    # one camera for the whole clip: it frames both the upright and the deepest posture
    fit = np.concatenate([posed(assets, dataclasses.replace(
        bottom, posture=posture_at(bottom.posture, d)), width, samples)[4] for d in (0.0, 1.0)])
    frames: list[dict] = []
    by_depth: dict[float, dict] = {}
    for i, d in enumerate(depths):
        key = round(d, 6)
        raw = f'{folder}/.depth_{key:.6f}.raw.png'
        if key not in by_depth:
            sc = dataclasses.replace(bottom, posture=posture_at(bottom.posture, d))
            by_depth[key] = render_raw(assets, sc, raw, width, samples, fit=fit)
        rec = by_depth[key]
        postfx.finish(raw, f'{folder}/{i:03d}.png', bottom, seed=bottom.index * 1000 + i)
        frames.append({'t_s': round(i / fps, 3), 'depth': round(d, 4),
                       'measured': rec['measured'], 'gt_xy_norm': rec['gt_xy_norm']})
    for key in by_depth:
        os.remove(f'{folder}/.depth_{key:.6f}.raw.png')
    video = f'{out}/clips/{bottom.name}.mp4'
    first = cv2.imread(f'{folder}/000.png')
    h, w = first.shape[:2]
    writer = cv2.VideoWriter(f'{video}.tmp.mp4', cv2.VideoWriter_fourcc(*'mp4v'), fps, (w, h))
    for i in range(len(depths)):
        writer.write(cv2.imread(f'{folder}/{i:03d}.png'))
    writer.release()
    os.replace(f'{video}.tmp.mp4', video)
    deepest = by_depth[1.0]
    t = clip_bottom_s(fps)
    rec = {'file': f'clips/{bottom.name}.mp4', 'label': bottom.posture.label,
           'clip': True, 'fps': fps, 'start_s': round(t - WINDOW_S, 3),
           'end_s': round(t + WINDOW_S, 3), 'scene': bottom.to_json(),
           'measured': deepest['measured'], 'prop': deepest['prop'], 'camera': deepest['camera'],
           'resolution_wh': deepest['resolution_wh'], 'samples': samples, 'frames': frames,
           'render_s': round(time.time() - t0, 1)}
    with open(f'{video}.json.tmp', 'w') as fh:
        json.dump(rec, fh, indent=1)
    os.replace(f'{video}.json.tmp', f'{out}/clips/{bottom.name}.json')
    return rec
