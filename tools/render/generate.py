"""Render a batch of people in known bends, each with every scene parameter as its label.

Usage (bpy's Python; MH_DATA = the extracted assets' data folder):
    MH_DATA=/work/render-assets/data python generate.py OUTDIR [--count 600] [--seed 1]
        [--width 480] [--samples 12] [--only 0,5,9]

Resumable: a frame whose picture and sidecar JSON are on disk is skipped. After every frame
OUTDIR/labels.json (every finished item's parameters) and OUTDIR/labels.csv (the eval format,
`clip,start_s,end_s,label`, picture rows with empty times) are rewritten from the sidecars.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import glob
import json
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bpy  # noqa: E402
import numpy as np  # noqa: E402
import postfx  # noqa: E402
from character import Character, pose_character  # noqa: E402
from mhassets import Assets  # noqa: E402
from sampler import CLIP_FPS, Scene, sample  # noqa: E402
from stage import (  # noqa: E402
    build_chair,
    build_prop,
    build_room,
    hand_targets,
    place_camera,
    project,
    true_bulge,
    trunk_frame,
)

CLIP_EVERY = 50  # pictures between two clips, while clips remain
JOINTS = {'hip_l': 'upperleg01.L', 'hip_r': 'upperleg01.R', 'knee_l': 'lowerleg01.L',
          'knee_r': 'lowerleg01.R', 'ankle_l': 'foot.L', 'ankle_r': 'foot.R',
          'shoulder_l': 'upperarm01.L', 'shoulder_r': 'upperarm01.R', 'wrist_l': 'wrist.L',
          'wrist_r': 'wrist.R', 'neck': 'neck01', 'head': 'head',
          'spine05': 'spine05', 'spine03': 'spine03', 'spine01': 'spine01'}


@contextlib.contextmanager
def quiet():
    """Blender's per-tile chatter off the log (it writes to fd 1 directly)."""
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(null)
        os.close(saved)


def reset(width: int, samples: int) -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = 'CYCLES'
    scene.cycles.device = 'CPU'
    scene.cycles.samples = samples
    scene.cycles.use_denoising = True
    scene.cycles.max_bounces = 4
    scene.render.threads_mode = 'FIXED'
    scene.render.threads = 2
    scene.render.resolution_x, scene.render.resolution_y = width, width * 3 // 4
    scene.render.image_settings.file_format = 'PNG'
    transforms = scene.view_settings.bl_rna.properties['view_transform'].enum_items
    names = [i.identifier for i in transforms]
    scene.view_settings.view_transform = 'AgX' if 'AgX' in names else 'Filmic'


def world_verts(ch: Character, skin: bool = False) -> np.ndarray:
    """The posed surface (body, outfit, shoes) in world space; or only the whole skin."""
    dg = bpy.context.evaluated_depsgraph_get()
    out = []
    for ob in ch.parts[:1] if skin else ch.parts[:3]:
        ev = ob.evaluated_get(dg)
        me = ev.to_mesh()
        co = np.empty(len(me.vertices) * 3)
        me.vertices.foreach_get('co', co)
        co = co.reshape(-1, 3)
        if ob is ch.body:
            co = co[ch.skin if skin else ch.used]
        out.append((np.array(ob.matrix_world) @ np.c_[co, np.ones(len(co))].T).T[:, :3])
        ev.to_mesh_clear()
    return np.concatenate(out)


def posed(assets: Assets, sc: Scene, width: int, samples: int) -> tuple:
    """A fresh scene with the character posed and standing on the floor at the origin."""
    reset(width, samples)
    ch = Character(assets, sc.body)
    measured = pose_character(ch, sc.posture, hand_targets(sc))
    ch.hang_hair()
    hands = {s: ch.head(f'wrist.{s}') for s in 'LR'}
    bpy.context.view_layer.update()
    verts = world_verts(ch)
    ankle = (ch.head('foot.L') + ch.head('foot.R')) / 2
    loc = np.array([-ankle[0], -ankle[1], -verts[:, 2].min()])
    ch.rig.location = tuple(loc)
    bpy.context.view_layer.update()
    return ch, measured, hands, loc, verts + loc


def render_raw(assets: Assets, sc: Scene, raw: str, width: int, samples: int,
               fit: np.ndarray | None = None, seat: dict | None = None) -> dict:
    """Render `sc` into `raw`; the camera frames `fit` (default: this posture's body); with
    `seat` (stage.seat_under), a chair stands there."""
    t0 = time.time()
    ch, measured, hands, loc, verts = posed(assets, sc, width, samples)
    measured.update(true_bulge(world_verts(ch, skin=True), trunk_frame(ch, loc)))
    build_room(sc)
    if seat is not None:
        build_chair(seat, bool(sc.extra.get('backrest')))
    prop = build_prop(sc, ch, loc, verts, hands)
    camera = place_camera(sc, verts if fit is None else fit)
    gt = project({k: ch.head(b) + loc for k, b in JOINTS.items()})
    build_s = time.time() - t0
    bpy.context.scene.render.filepath = raw
    t1 = time.time()
    with quiet():
        bpy.ops.render.render(write_still=True)
    return {'label': sc.posture.label, 'scene': sc.to_json(), 'measured': measured,
            'prop': prop, 'camera': camera, 'gt_xy_norm': gt,
            'resolution_wh': [width, width * 3 // 4], 'samples': samples,
            'build_s': round(build_s, 2), 'render_s': round(time.time() - t1, 2)}


def render_one(assets: Assets, sc: Scene, out: str, width: int, samples: int) -> dict:
    raw = f'{out}/.{sc.name}.raw.png'
    rec = render_raw(assets, sc, raw, width, samples)
    postfx.finish(raw, f'{out}/{sc.name}.png', sc)
    os.remove(raw)
    return {'file': f'{sc.name}.png', **rec}


def write_labels(out: str) -> int:
    """labels.json and labels.csv from the sidecars on disk: pictures, then clips."""
    items = []
    # sidecars only (r01_….json, c01_….json): other JSON beside them is left alone
    for pattern in (f'{out}/r[0-9][0-9]_*.json', f'{out}/clips/c[0-9][0-9]_*.json',
                    f'{out}/clips/s[0-9][0-9]_*.json'):
        batch = []
        for p in glob.glob(pattern):
            with open(p) as fh:
                batch.append(json.load(fh))
        items += sorted(batch, key=lambda r: r['scene']['index'])
    tmp = f'{out}/.labels.json.tmp'
    with open(tmp, 'w') as fh:
        json.dump(items, fh, indent=1)
    os.replace(tmp, f'{out}/labels.json')
    with open(f'{out}/.labels.csv.tmp', 'w', newline='') as fh:
        w = csv.writer(fh)
        w.writerow(['clip', 'start_s', 'end_s', 'label'])
        for r in items:
            # a sit clip may hold two bends (the sit-down, a reach from the chair): a row each
            for span in r.get('spans') or [r]:
                w.writerow([r['file'], span.get('start_s', ''), span.get('end_s', ''),
                            span['label']])
    os.replace(f'{out}/.labels.csv.tmp', f'{out}/labels.csv')
    return len(items)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out')
    ap.add_argument('--count', type=int, default=600)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--width', type=int, default=480)
    ap.add_argument('--samples', type=int, default=12)
    ap.add_argument('--only', help='comma-separated item indices (for trying things out)')
    ap.add_argument('--clips', type=int, default=0,
                    help=f'this many clips of whole bends, one after every {CLIP_EVERY} pictures')
    ap.add_argument('--only-clips', help='comma-separated clip indices instead of --clips N')
    ap.add_argument('--sit-clips', type=int, default=0,
                    help='this many clips of sitting into a chair and getting up, after the rest')
    ap.add_argument('--only-sit-clips', help='comma-separated sit clip indices')
    ap.add_argument('--clip-fps', type=float, default=CLIP_FPS,
                    help=f'frames a second of a clip (default {CLIP_FPS:g}, as a device analyses)')
    ap.add_argument('--bottom-hold-s', type=float, default=0.0,
                    help='a bend clip holds its bottom still this long (s; default 0)')
    args = ap.parse_args(argv)
    data = os.environ.get('MH_DATA', '')
    if not os.path.isfile(f'{data}/3dobjs/base.obj'):
        print(f'MH_DATA={data!r}: no MakeHuman assets there; run tools/render/README.md step 1',
              file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    assets = Assets(data)
    todo = ([int(i) for i in args.only.split(',')] if args.only else range(args.count))
    total = len(todo)
    pending = [i for i in todo
               if not os.path.exists(f'{args.out}/{sample(args.seed, i).name}.json')]
    done = total - len(pending)
    clips, sit_clips = pending_clips(args), pending_clips(args, 's')
    print(f'{done}/{total} pictures on disk, {len(pending)} to render; '
          f'{len(clips) + len(sit_clips)} clips to render', flush=True)
    pictures = Progress(len(pending))
    clip_log = Progress(len(clips) + len(sit_clips))
    for n, i in enumerate(pending):
        if clips and n and n % CLIP_EVERY == 0:  # clips interleaved: some finish early
            render_clip_logged(assets, args, clips.pop(0), 'c', clip_log)
        sc = sample(args.seed, i)
        t = time.time()
        try:
            rec = render_one(assets, sc, args.out, args.width, args.samples)
        except Exception as e:  # one bad scene must not stop the batch
            traceback.print_exc()
            print(f'FAILED {sc.name}: {type(e).__name__}: {e}', flush=True)
            continue
        with open(f'{args.out}/.{sc.name}.json.tmp', 'w') as fh:
            json.dump(rec, fh, indent=1)
        os.replace(f'{args.out}/.{sc.name}.json.tmp', f'{args.out}/{sc.name}.json')
        write_labels(args.out)
        done += 1
        seconds = time.time() - t
        print(f'[{done}/{total}] {sc.name} {seconds:.1f} s (build {rec["build_s"]:.1f}, '
              f'render {rec["render_s"]:.1f}); {pictures.step(seconds)}', flush=True)
    print(f'finished: {done}/{total}', flush=True)
    for k in clips:
        render_clip_logged(assets, args, k, 'c', clip_log)
    for k in sit_clips:
        render_clip_logged(assets, args, k, 's', clip_log)
    return 0


class Progress:
    """How far a batch is: the time per item over the last 20 and when the rest is done."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.times: list[float] = []

    def step(self, seconds: float) -> str:
        """Count one item done in `seconds`; the progress as a line's tail."""
        self.times.append(seconds)
        recent = self.times[-20:]
        avg = sum(recent) / len(recent)
        eta = (self.total - len(self.times)) * avg
        return (f'{avg:.1f} s each; ETA {eta / 60:.0f} min '
                f'({time.strftime("%H:%M", time.gmtime(time.time() + eta))} UTC)')


def pending_clips(args: argparse.Namespace, kind: str = 'c') -> list[int]:
    from clips import clip_name

    only, count = ((args.only_clips, args.clips) if kind == 'c'
                   else (args.only_sit_clips, args.sit_clips))
    wanted = [int(k) for k in only.split(',')] if only else range(count)
    return [k for k in wanted
            if not os.path.exists(f'{args.out}/clips/{clip_name(args.seed, k, kind)}.json')]


def render_clip_logged(assets: Assets, args: argparse.Namespace, k: int, kind: str,
                       log: Progress) -> None:
    from clips import clip_name, render_clip, render_sit_clip

    name = clip_name(args.seed, k, kind)
    t = time.time()
    try:
        if kind == 'c':
            render_clip(assets, args.seed, k, args.out, args.width, args.samples,
                        args.clip_fps, args.bottom_hold_s)
        else:
            render_sit_clip(assets, args.seed, k, args.out, args.width, args.samples,
                            args.clip_fps)
    except Exception as e:  # one bad clip must not stop the batch
        traceback.print_exc()
        print(f'FAILED clip {name}: {type(e).__name__}: {e}', flush=True)
        return
    write_labels(args.out)
    seconds = time.time() - t
    tail = log.step(seconds)
    print(f'[clip {len(log.times)}/{log.total}] {name} {seconds:.0f} s; {tail}', flush=True)


if __name__ == '__main__':
    argv = sys.argv[sys.argv.index('--') + 1:] if '--' in sys.argv else sys.argv[1:]
    sys.exit(main(argv))
