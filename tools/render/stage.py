"""Room, lights, props and camera around a posed character (bpy)."""

from __future__ import annotations

import math

import bpy
import numpy as np
from character import material
from mathutils import Matrix, Vector

ROOM_HALF = 5.0  # walls at ±5 m: the camera (≤ 4.5 m out) stays inside


def _plane(name, size, loc, rot, mat):
    bpy.ops.mesh.primitive_plane_add(size=size, location=loc, rotation=rot)
    ob = bpy.context.active_object
    ob.name = name
    ob.data.materials.append(mat)
    return ob


def _proc(name, c1, c2, scale, kind='noise', rough=0.8):
    m = bpy.data.materials.new(name)
    m.use_nodes = True
    nt = m.node_tree
    bsdf = nt.nodes.get('Principled BSDF')
    if kind == 'brick':
        tx = nt.nodes.new('ShaderNodeTexBrick')
        tx.inputs['Scale'].default_value = scale
        tx.inputs['Color1'].default_value = c1
        tx.inputs['Color2'].default_value = c2
        tx.inputs['Mortar'].default_value = (0.75, 0.74, 0.72, 1)
        nt.links.new(tx.outputs['Color'], bsdf.inputs['Base Color'])
    else:
        tx = nt.nodes.new('ShaderNodeTexNoise')
        tx.inputs['Scale'].default_value = scale
        ramp = nt.nodes.new('ShaderNodeValToRGB')
        ramp.color_ramp.elements[0].color = c1
        ramp.color_ramp.elements[1].color = c2
        nt.links.new(tx.outputs['Fac'], ramp.inputs['Fac'])
        nt.links.new(ramp.outputs['Color'], bsdf.inputs['Base Color'])
    bsdf.inputs['Roughness'].default_value = rough
    return m


def _box(name, loc, scale, color, rough=0.7):
    bpy.ops.mesh.primitive_cube_add(size=1, location=loc)
    ob = bpy.context.active_object
    ob.name = name
    ob.scale = scale
    ob.data.materials.append(material(name, color=color, rough=rough))
    return ob


def build_room(sc) -> None:
    """Four walls, a floor, some clutter and lights, after the scene's room preset."""
    w = (*sc.wall_rgb, 1)
    f = (*sc.floor_rgb, 1)
    dim = tuple(c * 0.8 for c in sc.floor_rgb) + (1,)
    _plane('floor', 2 * ROOM_HALF, (0, 0, 0), (0, 0, 0), _proc('floor', dim, f, 8, rough=0.5))
    if sc.room == 'brick':
        wall_a = _proc('wa', (0.55, 0.25, 0.18, 1), (0.45, 0.2, 0.15, 1), 3, 'brick')
    elif sc.room == 'garage':
        wall_a = _proc('wa', (0.5, 0.5, 0.52, 1), (0.62, 0.62, 0.6, 1), 20, rough=0.9)
    else:
        wall_a = _proc('wa', w, tuple(c * 0.92 for c in w[:3]) + (1,), 2)
    wall_b = _proc('wb', w, tuple(c * 0.95 for c in w[:3]) + (1,), 3)
    r = ROOM_HALF
    _plane('wall_xn', 2 * r, (-r, 0, r), (0, math.radians(90), 0), wall_a)
    _plane('wall_xp', 2 * r, (r, 0, r), (0, math.radians(90), 0), wall_b)
    _plane('wall_yp', 2 * r, (0, r, r), (math.radians(90), 0, 0), wall_b)
    _plane('wall_yn', 2 * r, (0, -r, r), (math.radians(90), 0, 0), wall_a)
    # clutter along the walls: a shelf, a cupboard, a bin
    _box('shelf', (-r + 0.3, 2.2, 0.9), (0.4, 0.8, 1.8), (0.2, 0.25, 0.35, 1))
    _box('cupboard', (2.0, r - 0.3, 0.5), (1.2, 0.5, 1.0), (0.55, 0.5, 0.4, 1))
    _box('bin', (r - 0.4, -1.5, 0.35), (0.4, 0.4, 0.7), (0.15, 0.3, 0.15, 1))
    world = bpy.data.worlds.new('w')
    bpy.context.scene.world = world
    world.use_nodes = True
    bg = world.node_tree.nodes['Background']
    bg.inputs['Color'].default_value = (0.25, 0.25, 0.27, 1)
    bg.inputs['Strength'].default_value = 0.4
    bpy.context.scene.view_settings.exposure = sc.exposure
    az = math.radians(sc.light_azimuth_deg)
    bpy.ops.object.light_add(type='AREA', location=(3.0 * math.cos(az), -3.0 * math.sin(az), 3.2))
    light = bpy.context.active_object
    light.data.energy = sc.light_energy
    light.data.size = 2.5
    d = Vector((0, 0, 0.8)) - light.location
    light.rotation_euler = d.to_track_quat('-Z', 'Y').to_euler()
    bpy.ops.object.light_add(type='SUN', location=(0, 0, 5))
    sun = bpy.context.active_object
    sun.data.energy = sc.sun_strength
    sun.data.angle = math.radians(10)
    sun.rotation_euler = (math.radians(40), math.radians(-20), az)


def trunk_frame(ch, rig_loc) -> dict[str, np.ndarray]:
    """World points and axes of the posed trunk: hip, shoulder, up (hip→shoulder), fwd (chest)."""
    off = np.array(rig_loc)
    hip = (ch.head('upperleg01.L') + ch.head('upperleg01.R')) / 2 + off
    sh = (ch.head('upperarm01.L') + ch.head('upperarm01.R')) / 2 + off
    up = (sh - hip) / np.linalg.norm(sh - hip)
    lat = np.array([1.0, 0.0, 0.0])
    fwd = np.cross(lat, up)  # −y when upright
    return {'hip': hip, 'shoulder': sh, 'up': up, 'fwd': fwd / np.linalg.norm(fwd), 'lat': lat}


def surface(verts: np.ndarray, origin: np.ndarray, direction: np.ndarray, radius: float,
            reach: float = 0.3) -> np.ndarray:
    """The body's farthest point along `direction` among vertices near the line through `origin`.

    Only `reach` metres out: an arm raised beside the line is not the body's surface.
    """
    rel = verts - origin
    along = rel @ direction
    perp = np.linalg.norm(rel - along[:, None] * direction[None, :], axis=1)
    near = (perp < radius) & (along > 0) & (along < reach)
    if not near.any():
        return origin
    return origin + direction * float(along[near].max())


def true_bulge(verts: np.ndarray, fr: dict, halfwidth: float = 0.05) -> dict[str, float]:
    """The dorsal outline's bulge over the hip→shoulder chord, on the posed 3D surface.

    Measured like edge/analysis/backline.py measures it on the mask (stations 0.2–0.85 of
    the chord, bulge = the outline's largest excess over the line through its ends, over the
    chord length), but in the body's midline plane: the truth the picture's reading aims at.
    """
    hip, chord = fr['hip'], fr['shoulder'] - fr['hip']
    length = float(np.linalg.norm(chord))
    u, dorsal = chord / length, -fr['fwd']
    mid = verts[np.abs(verts[:, 0] - hip[0]) < halfwidth]
    along = (mid - hip) @ u
    depth = (mid - hip) @ dorsal
    ts = np.linspace(0.2, 0.85, 14)
    d = np.array([depth[np.abs(along - t * length) < 0.02].max(initial=-np.inf) for t in ts])
    if not np.isfinite(d).all():  # a station without surface: no reading
        return {'true_bulge_norm': float('nan')}
    line = d[0] + (d[-1] - d[0]) * (ts - ts[0]) / (ts[-1] - ts[0])
    return {'true_bulge_norm': round(float(np.max(d - line)) / length, 4)}


def _orient(ob, frame, center) -> None:
    """Prop axes: x lateral, y towards the back, z along the trunk."""
    m = Matrix((frame['lat'], -frame['fwd'], frame['up'])).transposed().to_4x4()
    m.translation = Vector(center)
    s = ob.scale.copy()
    ob.matrix_world = m
    ob.scale = s


def held_size(sc) -> tuple[float, float, float]:
    """Width, depth, height of a box or basket (drawn from the scene index, reproducibly)."""
    rng = np.random.default_rng(sc.index)
    return tuple(float(x) for x in rng.uniform([0.28, 0.22, 0.2], [0.45, 0.38, 0.4]))


def build_prop(sc, ch, rig_loc, verts: np.ndarray, hands: dict) -> dict:
    """Put the scene's prop in place; returns its description for the labels."""
    fr = trunk_frame(ch, rig_loc)
    off = np.array(rig_loc)
    if sc.prop in ('box', 'basket'):
        w, d, h = held_size(sc)
        center = (np.asarray(hands['L']) + np.asarray(hands['R'])) / 2 + off
        center[2] -= h * 0.3
        center[2] = max(center[2], h / 2 + 0.005)
        if sc.prop == 'box':
            ob = _box('box', tuple(center), (w, d, h), (0.55, 0.40, 0.22, 1), rough=0.9)
        else:
            bpy.ops.mesh.primitive_cylinder_add(radius=w / 2, depth=h, location=tuple(center),
                                                end_fill_type='TRIFAN')
            ob = bpy.context.active_object
            wicker = _proc('wicker', (0.35, 0.22, 0.1, 1), (0.6, 0.45, 0.25, 1), 40)
            ob.data.materials.append(wicker)
        return {'kind': sc.prop, 'size_m': [round(w, 3), round(d, 3), round(h, 3)],
                'center_m': [round(float(c), 3) for c in center]}
    if sc.prop == 'backpack':
        station = fr['hip'] + 0.6 * (fr['shoulder'] - fr['hip'])
        back = surface(verts, station, -fr['fwd'], 0.08)
        center = back - fr['fwd'] * 0.09
        ob = _box('backpack', tuple(center), (0.30, 0.16, 0.42), (0.08, 0.15, 0.35, 1))
        bev = ob.modifiers.new('bev', 'BEVEL')
        bev.width = 0.05
        bev.segments = 3
        _orient(ob, fr, center)
        return {'kind': 'backpack', 'center_m': [round(float(c), 3) for c in center]}
    if sc.prop == 'load':
        bpy.ops.mesh.primitive_uv_sphere_add(radius=1, segments=24, ring_count=12)
        ob = bpy.context.active_object
        ob.data.materials.append(_proc('sack', (0.5, 0.45, 0.3, 1), (0.65, 0.6, 0.45, 1), 15))
        ob.data.shade_smooth()
        if sc.load_carry == 'front':
            station = fr['hip'] + 0.75 * (fr['shoulder'] - fr['hip'])
            chest = surface(verts, station, fr['fwd'], 0.08)
            center = chest + fr['fwd'] * 0.14
            ob.scale = (0.2, 0.15, 0.36)
        else:
            # on the left shoulder joint, over its top (≈ 8 cm above the joint)
            center = ch.head('upperarm01.L') + off + fr['up'] * 0.17 - fr['lat'] * 0.03
            ob.scale = (0.13, 0.3, 0.11)
        _orient(ob, fr, center)
        return {'kind': 'load', 'carry': sc.load_carry,
                'center_m': [round(float(c), 3) for c in center]}
    return {'kind': 'none'}


def hand_targets(sc):
    """The hands' targets for the prop, in armature space, once the trunk is posed."""
    def targets(ch) -> dict:
        fr = trunk_frame(ch, (0, 0, 0))
        sh = fr['shoulder']
        if sc.prop in ('box', 'basket'):
            w, _, _ = held_size(sc)
            if sc.posture.label == 'stand':  # carried at the waist
                c = sh + fr['fwd'] * 0.3 - fr['up'] * 0.4
            else:  # hanging arms take it off the floor
                arm = np.linalg.norm(ch.head('wrist.L') - ch.head('upperarm01.L'))
                c = sh + np.array([0, -0.08, -0.9 * arm])
            half = np.array([w / 2 + 0.02, 0, 0])
            return {'L': c + half, 'R': c - half}
        if sc.prop == 'load' and sc.load_carry == 'front':
            c = sh + fr['fwd'] * 0.3 - fr['up'] * 0.3
            return {'L': c + np.array([0.12, 0, 0]), 'R': c - np.array([0.12, 0, 0])}
        if sc.prop == 'load':  # steadied on the left shoulder by the left hand
            return {'L': sh + fr['lat'] * 0.2 + fr['up'] * 0.15 + fr['fwd'] * 0.1}
        return {}
    return targets


def place_camera(sc, verts: np.ndarray) -> dict:
    """Camera at the scene's yaw, height and distance, pulled back until the body fits."""
    from bpy_extras.object_utils import world_to_camera_view

    scene = bpy.context.scene
    cam_data = bpy.data.cameras.new('cam')
    cam_data.lens = sc.camera.lens_mm
    cam = bpy.data.objects.new('cam', cam_data)
    scene.collection.objects.link(cam)
    scene.camera = cam
    lo, hi = verts.min(0), verts.max(0)
    center = (lo + hi) / 2
    jx, jz = sc.camera.aim_jitter
    a = math.radians(sc.camera.yaw_deg)
    horiz = np.array([sc.camera.side * math.cos(a), -math.sin(a), 0.0])
    target = center + np.array([0, 0, jz]) + np.cross([0, 0, 1], horiz) * jx
    dist = sc.camera.distance_m
    sub = verts[:: max(1, len(verts) // 3000)]
    for _ in range(12):
        pos = target + horiz * dist
        pos[2] = sc.camera.height_m
        cam.location = Vector(pos)
        cam.rotation_euler = (Vector(target) - cam.location).to_track_quat('-Z', 'Y').to_euler()
        bpy.context.view_layer.update()
        uv = np.array([world_to_camera_view(scene, cam, Vector(p))[:2] for p in sub])
        if uv.min() > 0.03 and uv.max() < 0.97:
            break
        dist *= 1.12
    return {'distance_m': round(dist, 3), 'location_m': [round(float(c), 3) for c in pos],
            'target_m': [round(float(c), 3) for c in target]}


def project(points: dict[str, np.ndarray]) -> dict[str, list[float]]:
    """Ground-truth image positions (normalised x, y from the top-left) of named 3D points."""
    from bpy_extras.object_utils import world_to_camera_view

    scene = bpy.context.scene
    out = {}
    for k, p in points.items():
        uv = world_to_camera_view(scene, scene.camera, Vector(p))
        out[k] = [round(uv[0], 4), round(1 - uv[1], 4)]
    return out


def seat_under(ch, rig_loc, verts: np.ndarray) -> dict:
    """A stool (or chair) whose seat meets the seated body under its hips: the seat's top at
    the lowest point of the buttocks (the body within 20 cm of the hips front to back and
    12 cm to either side: the hands hanging beside the seat are farther out)."""
    hip = (ch.head('upperleg01.L') + ch.head('upperleg01.R')) / 2 + np.asarray(rig_loc)
    near = verts[(np.abs(verts[:, 1] - hip[1]) < 0.2) & (np.abs(verts[:, 0] - hip[0]) < 0.12)
                 & (verts[:, 2] < hip[2])]
    top = float(near[:, 2].min()) if len(near) else float(hip[2]) - 0.1
    # The seat reaches 25 cm forward of the hips under the thighs and 20 cm behind them.
    return {'top_m': round(top, 3), 'front_y_m': round(float(hip[1]) - 0.25, 3),
            'back_y_m': round(float(hip[1]) + 0.2, 3), 'x_m': round(float(hip[0]), 3)}


def build_chair(seat: dict, backrest: bool) -> None:
    """Seat, four legs and, for a chair, a backrest, in wood."""
    wood = (0.36, 0.22, 0.12, 1)
    top, y0, y1, x = seat['top_m'], seat['front_y_m'], seat['back_y_m'], seat['x_m']
    half_w, thick = 0.23, 0.04
    _box('seat', (x, (y0 + y1) / 2, top - thick / 2), (2 * half_w, y1 - y0, thick), wood)
    leg = top - thick
    for dx in (-half_w + 0.03, half_w - 0.03):
        for y in (y0 + 0.03, y1 - 0.03):
            _box('leg', (x + dx, y, leg / 2), (0.04, 0.04, leg), wood)
    if backrest:
        _box('backrest', (x, y1 - 0.02, top + 0.25), (2 * half_w, 0.03, 0.4), wood)
