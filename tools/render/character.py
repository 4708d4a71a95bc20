"""A MakeHuman character in bpy: meshes, armature, and a sagittal posture set bone by bone.

Every trunk and leg bone gets an absolute rotation about the lateral (x) axis relative to
its rest pose, so the trunk angle and spine flexion of the label are the ones rendered.
Arms are placed by two-bone IK towards hand targets (hanging, holding a prop).
"""

from __future__ import annotations

import math
import os

import bpy
import numpy as np
from mathutils import Matrix, Vector
from mhassets import Assets, mh2bl, parse_mhmat

SPINE = ('spine05', 'spine04', 'spine03', 'spine02', 'spine01')  # lumbar → thoracic
LUMBAR = 3  # the lower three take the lumbar share
# Hair below the skull's base hangs plumb (`Character.hang_hair`); over this many metres
# below it the hair turns from following the head to hanging, so it does not tear.
HAIR_BLEND_M = 0.04


def material(name: str, tex: str | None = None, color=(0.8, 0.8, 0.8, 1), rough: float = 0.7,
             alpha: bool = False, sss: float = 0.0, tint=None) -> bpy.types.Material:
    m = bpy.data.materials.new(name)
    m.use_nodes = True
    nt = m.node_tree
    bsdf = nt.nodes.get('Principled BSDF')
    if tex and os.path.exists(tex):
        tn = nt.nodes.new('ShaderNodeTexImage')
        tn.image = bpy.data.images.load(tex, check_existing=True)
        out = tn.outputs['Color']
        if tint is not None:
            mix = nt.nodes.new('ShaderNodeMix')
            mix.data_type = 'RGBA'
            mix.blend_type = 'MULTIPLY'
            mix.inputs['Factor'].default_value = 1.0
            nt.links.new(out, mix.inputs['A'])
            mix.inputs['B'].default_value = (*tint, 1.0)
            out = mix.outputs['Result']
        nt.links.new(out, bsdf.inputs['Base Color'])
        if alpha:
            nt.links.new(tn.outputs['Alpha'], bsdf.inputs['Alpha'])
    else:
        c = color
        if tint is not None:
            c = tuple(a * b for a, b in zip(color[:3], tint, strict=True)) + (1,)
        bsdf.inputs['Base Color'].default_value = c
    bsdf.inputs['Roughness'].default_value = rough
    if sss:
        bsdf.inputs['Subsurface Weight'].default_value = sss
        bsdf.inputs['Subsurface Radius'].default_value = (0.01, 0.005, 0.002)
    return m


def new_mesh_obj(name, verts_bl, faces, uvs=None, face_uvs=None):
    me = bpy.data.meshes.new(name)
    me.from_pydata(verts_bl.tolist(), [], faces)
    if uvs is not None:
        uvl = me.uv_layers.new()
        loop_uv = np.concatenate([uvs[np.array(fu)] for fu in face_uvs])
        uvl.data.foreach_set('uv', loop_uv.ravel().astype(np.float32))
    me.shade_smooth()
    ob = bpy.data.objects.new(name, me)
    bpy.context.scene.collection.objects.link(ob)
    return ob


class Character:
    """Body, clothes, hair and rig for one `sampler.Body`, standing at the origin facing −y."""

    def __init__(self, assets: Assets, body) -> None:
        self.a = assets
        D = assets.root
        self.coords = assets.shaped(body.gender, body.weight, body.height, body.muscle)
        suit = assets.clothes(f'{D}/clothes/{body.outfit}/{body.outfit}.mhclo')
        shoes = assets.clothes(f'{D}/clothes/{body.shoes}/{body.shoes}.mhclo')
        hidden = suit[4] | shoes[4]
        faces, fuv, skin = [], [], []
        for (vi, ti), g in zip(assets.base_f, assets.base_g, strict=True):
            if g == 'body':
                skin.extend(vi)
            if g == 'body' and not any(v in hidden for v in vi):
                faces.append(vi)
                fuv.append(ti)
        # the base mesh's helper geometry stays as loose vertices (the weights index them):
        # only these vertices are the body's surface
        self.used = np.unique(np.concatenate([np.asarray(f) for f in faces]))
        self.skin = np.unique(skin)  # the whole skin, under the clothes too
        self.body = new_mesh_obj('body', mh2bl(self.coords), faces, assets.base_vt, fuv)
        self.body.data.materials.append(
            material('skin', f'{D}/skins/textures/{body.skin}', color=(0.6, 0.45, 0.38, 1),
                     rough=0.5, sss=0.15))
        self._weights(self.body, assets.weights)
        self.parts = [self.body,
                      self._proxy(f'{D}/clothes/{body.outfit}', body.outfit, tint=body.cloth_tint),
                      self._proxy(f'{D}/clothes/{body.shoes}', body.shoes, rough=0.4)]
        self.hair = self._proxy(f'{D}/hair/{body.hair}', body.hair, alpha=True, rough=0.6)
        self.parts.append(self.hair)
        self.parts.append(self._proxy(f'{D}/eyes/high-poly', 'high-poly', mat=material(
            'eye', f'{D}/eyes/materials/brownlight_eye.png', rough=0.2)))
        self.parts.append(self._proxy(f'{D}/eyebrows/eyebrow001', 'eyebrow001', alpha=True))
        self._rig()

    def _weights(self, ob, Wv) -> None:
        nz = Wv > 1e-3
        names = self.a.bone_names
        for j in np.nonzero(nz.any(0))[0]:
            vg = ob.vertex_groups.new(name=names[j])
            vs = np.nonzero(nz[:, j])[0]
            q = np.round(Wv[vs, j], 3)  # grouped by weight: far fewer API calls
            for val in np.unique(q):
                vg.add(vs[q == val].tolist(), float(val), 'REPLACE')

    def _proxy(self, folder, name, mat=None, rough=0.8, alpha=False, tint=None):
        refs, ws, offs, scales, _, meta = self.a.clothes(f'{folder}/{name}.mhclo')
        coords = self.coords
        sc = np.ones(3)
        for k, ax in (('x', 0), ('y', 1), ('z', 2)):
            if k in scales:
                a, b, den = scales[k]
                sc[ax] = abs(coords[a, ax] - coords[b, ax]) / den
        pos = (coords[refs] * ws[..., None]).sum(1) + offs * sc
        v, vt, f, _ = self.a.obj(f"{folder}/{meta.get('obj_file', name + '.obj')}")
        ob = new_mesh_obj(name, mh2bl(pos), [x[0] for x in f], vt, [x[1] for x in f])
        self._weights(ob, (self.a.weights[refs] * ws[..., None]).sum(1))
        if mat is None:
            mm = parse_mhmat(f"{folder}/{meta.get('material', name + '.mhmat')}")
            tex = mm.get('diffuseTexture')
            texp = (os.path.normpath(os.path.join(folder, os.path.dirname(meta.get('material', '')),
                                                  tex)) if tex else None)
            mat = material(name, texp, rough=rough, alpha=alpha, tint=tint)
        ob.data.materials.append(mat)
        return ob

    def _rig(self) -> None:
        skel = self.a.skel
        J = {n: mh2bl(self.coords[np.array(vs)].mean(0)) for n, vs in skel['joints'].items()}
        self.arm = bpy.data.armatures.new('rig')
        self.rig = bpy.data.objects.new('rig', self.arm)
        bpy.context.scene.collection.objects.link(self.rig)
        bpy.context.view_layer.objects.active = self.rig
        bpy.ops.object.mode_set(mode='EDIT')
        for n, b in skel['bones'].items():
            eb = self.arm.edit_bones.new(n)
            h, t = J[b['head']], J[b['tail']]
            if np.linalg.norm(t - h) < 1e-4:
                t = h + np.array([0, 0, 0.01])
            eb.head, eb.tail = Vector(h), Vector(t)
        for n, b in skel['bones'].items():
            if b['parent']:
                self.arm.edit_bones[n].parent = self.arm.edit_bones[b['parent']]
        bpy.ops.object.mode_set(mode='OBJECT')
        for ob in self.parts:
            ob.parent = self.rig
            mod = ob.modifiers.new('arm', 'ARMATURE')
            mod.object = self.rig
        out, seen = [], set()

        def visit(n):
            if n in seen:
                return
            p = skel['bones'][n]['parent']
            if p:
                visit(p)
            seen.add(n)
            out.append(n)
        for n in skel['bones']:
            visit(n)
        self.order = out

    # ------------------------------------------------------------------ posing
    def rest(self, bone: str) -> Vector:
        return self.arm.bones[bone].head_local.copy()

    def apply(self, spec: dict[str, Matrix]) -> dict[str, Matrix]:
        """spec: bone → absolute rotation (armature space, relative to rest); others inherit."""
        Rabs, P = {}, {}
        bones = self.arm.bones
        for n in self.order:
            b = bones[n]
            p = self.a.skel['bones'][n]['parent']
            R = spec.get(n, Rabs[p] if p else Matrix.Identity(3))
            Rabs[n] = R
            rest = b.matrix_local
            head = ((P[p] @ bones[p].matrix_local.inverted() @ rest.translation) if p
                    else rest.translation)
            M = (R @ rest.to_3x3()).to_4x4()
            M.translation = head
            P[n] = M
            basis = ((rest.inverted() @ bones[p].matrix_local @ P[p].inverted() @ M) if p
                     else rest.inverted() @ M)
            self.rig.pose.bones[n].matrix_basis = basis
        self.P = P
        return P

    def hang_hair(self) -> None:
        """After `apply`: the hair below the skull's base falls plumb from the head.

        A hair proxy is skinned to the body under it, so a long hair or a braid stays laid
        along the back however far the trunk bends, which no hair does: bent forward it
        slides off the back and hangs from the head towards the floor. Laid along a flat back
        it raised the outline over the shoulders as a rounded upper back does (4 of the 5
        rendered hinges called round at ≥ 0.8 in the first five sets wore long hair). Each
        vertex below the base hangs straight down from its root (its rest x and y at the
        base's height, carried by the head) by its rest distance below the base; standing,
        that is where it was. Collisions are not modelled: hair falling in front of a
        forward-bent neck passes into the chest and is hidden there.
        """
        ob = self.hair
        n = len(ob.data.vertices)
        rest = np.empty(n * 3)
        ob.data.vertices.foreach_get('co', rest)
        rest = rest.reshape(-1, 3)
        base_z = self.arm.bones['head'].head_local.z
        below = np.clip(base_z - rest[:, 2], 0.0, None)
        if not below.any():  # short hair: nothing hangs
            return
        bpy.context.view_layer.update()
        ev = ob.evaluated_get(bpy.context.evaluated_depsgraph_get())
        me = ev.to_mesh()
        skinned = np.empty(n * 3)
        me.vertices.foreach_get('co', skinned)
        ev.to_mesh_clear()
        skinned = skinned.reshape(-1, 3)
        # rest → posed for points moving with the head (the rig stands at the origin here,
        # so armature space is the hair object's space)
        carry = np.array(self.P['head'] @ self.arm.bones['head'].matrix_local.inverted())
        roots = np.c_[rest[:, :2], np.full(n, base_z), np.ones(n)] @ carry.T
        hung = roots[:, :3] - below[:, None] * np.array([0.0, 0.0, 1.0])
        w = np.clip(below / HAIR_BLEND_M, 0.0, 1.0)[:, None]
        ob.modifiers.remove(ob.modifiers['arm'])  # the posed shape is now the mesh itself
        ob.data.vertices.foreach_set('co', ((1.0 - w) * skinned + w * hung).ravel())
        ob.data.update()

    def head(self, bone: str) -> np.ndarray:
        """A bone's head after `apply`, in armature space."""
        return np.array(self.P[bone].translation)


def Rx(deg: float) -> Matrix:
    return Matrix.Rotation(math.radians(deg), 3, 'X')


def rot_between(a, b) -> Matrix:
    return Vector(a).normalized().rotation_difference(Vector(b).normalized()).to_matrix()


def spine_angles(root: float, flex: float, lumbar_share: float) -> list[float]:
    """Absolute angles of spine05..spine01 for total flexion `flex` spread by `lumbar_share`."""
    thoracic = 5 - LUMBAR
    inc = ([flex * lumbar_share / LUMBAR] * LUMBAR
           + [flex * (1 - lumbar_share) / thoracic] * thoracic)
    return list(root + np.cumsum(inc))


def trunk_deg(ch: Character) -> float:
    """Forward lean of the mid-hip → mid-shoulder line from vertical (person faces −y)."""
    hip = (ch.head('upperleg01.L') + ch.head('upperleg01.R')) / 2
    sh = (ch.head('upperarm01.L') + ch.head('upperarm01.R')) / 2
    d = sh - hip
    return math.degrees(math.atan2(-d[1], d[2]))


def leg_angles(ch: Character, knee: float, hip_back: float) -> tuple[float, float, float]:
    """Thigh and shank angles (summing to `knee`) that put the hips `hip_back` behind the ankles."""
    hip, kn, an = ch.rest('upperleg01.L'), ch.rest('lowerleg01.L'), ch.rest('foot.L')
    v1, v2 = np.array(kn - hip), np.array(an - kn)
    leg = np.linalg.norm(v1) + np.linalg.norm(v2)
    best = (1e9, 0.0, 0.0, 0.0)
    for s in np.linspace(0.0, knee, 91):
        t = knee - s
        foot = np.array(Rx(-t) @ Vector(v1)) + np.array(Rx(s) @ Vector(v2))
        back = float(-foot[1]) / leg  # hips behind ankles = ankles ahead (−y) of the hips
        err = abs(back - hip_back)
        if err < best[0]:
            best = (err, t, s, back)
    return best[1], best[2], best[3]


def two_bone(shoulder, hand, l1, l2, pole) -> tuple[np.ndarray, np.ndarray]:
    """Elbow and hand for a two-bone arm reaching for `hand`, the elbow bent towards `pole`."""
    d = hand - shoulder
    dist = float(np.linalg.norm(d))
    u = d / (dist + 1e-9)
    dist = min(dist, (l1 + l2) * 0.999)
    hand = shoulder + u * dist
    a = (l1 * l1 - l2 * l2 + dist * dist) / (2 * dist)
    h = math.sqrt(max(0.0, l1 * l1 - a * a))
    p = pole - np.dot(pole, u) * u
    p = p / (np.linalg.norm(p) + 1e-9)
    return shoulder + a * u + h * p, hand


def pose_character(ch: Character, posture, hand_targets=None, iters: int = 4) -> dict:
    """Pose the trunk, head and legs for `posture`; arms hang or reach `hand_targets`.

    hand_targets(ch) → {'L': point or None, 'R': ...} in armature space, called once the
    trunk is posed. Returns the measured label quantities.
    """
    thigh, shank, back = leg_angles(ch, posture.knee_deg, posture.hip_back)
    root = posture.trunk_deg - posture.spine_flex_deg / 2
    spec: dict[str, Matrix] = {}
    for _ in range(iters):  # solve the pelvis for the wanted hip→shoulder line
        spec = {'root': Rx(root)}
        angles = spine_angles(root, posture.spine_flex_deg, posture.lumbar_share)
        for b, a in zip(SPINE, angles, strict=True):
            spec[b] = Rx(a)
        top = angles[-1]
        spec['neck01'] = Rx(top + posture.neck_deg)
        spec['head'] = Rx(top + posture.neck_deg + posture.head_deg)
        for side in 'LR':
            spec[f'upperleg01.{side}'] = Rx(-thigh)
            spec[f'lowerleg01.{side}'] = Rx(shank)
            spec[f'foot.{side}'] = Matrix.Identity(3)
        ch.apply(spec)
        root += posture.trunk_deg - trunk_deg(ch)
    targets = hand_targets(ch) if hand_targets else {}
    for side, sign in (('L', 1.0), ('R', -1.0)):
        s = ch.head(f'upperarm01.{side}')
        e_rest, w_rest = ch.rest(f'lowerarm01.{side}'), ch.rest(f'wrist.{side}')
        s_rest = ch.rest(f'upperarm01.{side}')
        l1, l2 = (e_rest - s_rest).length, (w_rest - e_rest).length
        hand = targets.get(side)
        if hand is None:  # hanging: gravity, a little out and forward
            hand = s + np.array([sign * 0.1 * (l1 + l2), -0.05 * (l1 + l2), -(l1 + l2)])
        elbow, hand = two_bone(s, np.asarray(hand, float), l1, l2,
                               np.array([sign * 0.5, 0.6, -0.2]))
        spec[f'upperarm01.{side}'] = rot_between(e_rest - s_rest, elbow - s)
        spec[f'lowerarm01.{side}'] = rot_between(w_rest - e_rest, hand - elbow)
    ch.apply(spec)
    return {'trunk_deg': round(trunk_deg(ch), 2),
            'spine_flex_deg': round(posture.spine_flex_deg, 2),
            'knee_deg': round(thigh + shank, 2), 'thigh_deg': round(thigh, 2),
            'shank_deg': round(shank, 2), 'hip_back': round(back, 4),
            'pelvis_deg': round(root, 2)}
