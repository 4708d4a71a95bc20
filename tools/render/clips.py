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
from sampler import CLIP_FPS, Posture, clip_bottom_s, clip_depths, posture_at, sample, sit_timeline
from stage import seat_under

WINDOW_S = 0.4  # the label's window around the bottom, each side


def clip_name(seed: int, k: int, kind: str = 'c') -> str:
    return sample(seed, k, kind).name


def _write_video(folder: str, count: int, fps: float, video: str) -> None:
    """NNN.png in `folder` as an mp4 (written aside, then moved into place)."""
    first = cv2.imread(f'{folder}/000.png')
    h, w = first.shape[:2]
    writer = cv2.VideoWriter(f'{video}.tmp.mp4', cv2.VideoWriter_fourcc(*'mp4v'), fps, (w, h))
    for i in range(count):
        writer.write(cv2.imread(f'{folder}/{i:03d}.png'))
    writer.release()
    os.replace(f'{video}.tmp.mp4', video)


def _write_sidecar(out: str, name: str, rec: dict) -> None:
    """The clip's labels as OUT/clips/NAME.json (written aside, then moved into place)."""
    with open(f'{out}/clips/{name}.json.tmp', 'w') as fh:
        json.dump(rec, fh, indent=1)
    os.replace(f'{out}/clips/{name}.json.tmp', f'{out}/clips/{name}.json')


def spans(frames: list[dict], fps: float) -> list[tuple[float, float, str]]:
    """(start_s, end_s, label) of each run of frames labelled with a bend."""
    out: list[tuple[float, float, str]] = []
    for f in frames:
        if f['label'] == 'stand':
            continue
        if out and out[-1][2] == f['label'] and f['t_s'] - out[-1][1] < 1.5 / fps:
            out[-1] = (out[-1][0], f['t_s'], f['label'])
        else:
            out.append((f['t_s'], f['t_s'], f['label']))
    return out


def render_sit_clip(assets: Assets, seed: int, k: int, out: str, width: int, samples: int,
                    fps: float = CLIP_FPS) -> dict:
    """Sit down on a chair, stay seated (leaning in, reaching the floor, or still), stand up:
    each frame labelled with what it shows (sampler.sit_timeline)."""
    t0 = time.time()
    scene = sample(seed, k, 's')
    folder = f'{out}/clips/{scene.name}'
    os.makedirs(folder, exist_ok=True)
    timeline = sit_timeline(scene, fps)
    # The chair under the seated hips; one camera framing every posture's extremes.
    seated = Posture(**scene.extra['seated'])
    ch, _, _, loc, verts = posed(assets, dataclasses.replace(scene, posture=seated), width,
                                 samples)
    seat = seat_under(ch, loc, verts)
    extremes = [timeline[0][1], scene.posture, seated]
    if 'action_posture' in scene.extra:
        extremes.append(Posture(**scene.extra['action_posture']))
    fit = np.concatenate([posed(assets, dataclasses.replace(scene, posture=p), width,
                                samples)[4] for p in extremes])
    renders: dict[Posture, tuple[str, dict]] = {}
    frames: list[dict] = []
    for i, (phase, posture) in enumerate(timeline):
        key = dataclasses.replace(posture, label='stand')  # the same body, whatever its label
        if key not in renders:
            raw = f'{folder}/.pose_{len(renders):03d}.raw.png'
            renders[key] = (raw, render_raw(assets, dataclasses.replace(scene, posture=posture),
                                            raw, width, samples, fit=fit, seat=seat))
        raw, rec = renders[key]
        postfx.finish(raw, f'{folder}/{i:03d}.png', scene, seed=scene.index * 1000 + i)
        frames.append({'t_s': round(i / fps, 3), 'phase': phase, 'label': posture.label,
                       'posture': dataclasses.asdict(posture), 'measured': rec['measured'],
                       'gt_xy_norm': rec['gt_xy_norm']})
    for raw, _ in renders.values():
        os.remove(raw)
    _write_video(folder, len(timeline), fps, f'{out}/clips/{scene.name}.mp4')
    # The labels' one-picture summary: the sit-down's deepest lean.
    deepest = max(range(len(frames)), key=lambda i: (frames[i]['phase'] == 'sit_down',
                                                    frames[i]['posture']['trunk_deg']))
    summary = renders[dataclasses.replace(timeline[deepest][1], label='stand')][1]
    runs = spans(frames, fps)
    rec = {'file': f'clips/{scene.name}.mp4', 'label': scene.posture.label, 'clip': True,
           'fps': fps, 'start_s': runs[0][0], 'end_s': runs[0][1],
           'spans': [{'start_s': a, 'end_s': b, 'label': lab} for a, b, lab in runs],
           'scene': scene.to_json(), 'seat': seat, 'measured': summary['measured'],
           'prop': summary['prop'], 'camera': summary['camera'],
           'resolution_wh': summary['resolution_wh'], 'samples': samples, 'frames': frames,
           'render_s': round(time.time() - t0, 1)}
    _write_sidecar(out, scene.name, rec)
    return rec


def render_clip(assets: Assets, seed: int, k: int, out: str, width: int, samples: int,
                fps: float = CLIP_FPS, bottom_hold_s: float = 0.0) -> dict:
    t0 = time.time()
    bottom = sample(seed, k, 'c')
    folder = f'{out}/clips/{bottom.name}'
    os.makedirs(folder, exist_ok=True)
    depths = clip_depths(fps, bottom_hold_s)
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
    _write_video(folder, len(depths), fps, video)
    deepest = by_depth[1.0]
    first, last = clip_bottom_s(fps, bottom_hold_s)
    rec = {'file': f'clips/{bottom.name}.mp4', 'label': bottom.posture.label,
           'clip': True, 'fps': fps, 'start_s': round(first - WINDOW_S, 3),
           'end_s': round(last + WINDOW_S, 3), 'bottom_hold_s': bottom_hold_s,
           'scene': bottom.to_json(),
           'measured': deepest['measured'], 'prop': deepest['prop'], 'camera': deepest['camera'],
           'resolution_wh': deepest['resolution_wh'], 'samples': samples, 'frames': frames,
           'render_s': round(time.time() - t0, 1)}
    _write_sidecar(out, bottom.name, rec)
    return rec
