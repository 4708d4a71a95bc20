"""Forward kinematics: a `Track` of posture parameters → landmarks and silhouette.

Everything is vectorised over frames. The spine is a chain of short segments from the
lumbosacral joint to the skull base: 5 lumbar, 6 thoracic and 3 cervical. Each region has
a neutral curve (lumbar lordosis, thoracic kyphosis, cervical lordosis) and its flexion
is spread evenly over its joints, so a rounded back is a smooth arc and a neutral one
keeps its gentle S.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edge.pose.landmarks import NUM_JOINTS, Joint
from edge.synth.body import Skeleton, SynthBody, Track

# Segment counts per spine region; more segments make a smoother curve and cost more.
N_LUMBAR, N_THORACIC, N_CERVICAL = 5, 6, 3
# Neutral standing curves (deg, + = flexion, top of the region tilts forward): lumbar
# lordosis, thoracic kyphosis, cervical lordosis; the first lumbar segment leans forward
# off the sacrum by LUMBAR_BASE_DEG.
LUMBAR_BASE_DEG = 20.0
LUMBAR_NEUTRAL_DEG = -35.0
THORACIC_NEUTRAL_DEG = 40.0
CERVICAL_NEUTRAL_DEG = -30.0
# Trunk silhouette stations from the lumbosacral joint (0) to T1 (1): half-width,
# distance from the spine to the back's skin, and to the front's skin (m, for a 1.75 m
# body of girth 1). The back distance grows at the shoulder blades.
_STATION_U = np.array([0.0, 0.35, 0.7, 1.0])
_HALF_WIDTH_M = np.array([0.155, 0.135, 0.150, 0.140])
_BACK_M = np.array([0.062, 0.060, 0.066, 0.062])
_FRONT_M = np.array([0.160, 0.160, 0.185, 0.150])
# A flexed trunk pushes the belly out: extra front depth (m) per degree of lumbar plus
# thoracic flexion, around the waist.
_BELLY_PER_DEG_M = 0.0008
# The pelvis ring at hip-joint level: buttocks behind, groin in front of the hip joints.
_PELVIS_BACK_M, _PELVIS_FRONT_M, _PELVIS_HALF_WIDTH_M = 0.125, 0.085, 0.165
RING_POINTS = 12
_RING_PHI = np.linspace(0.0, 2.0 * math.pi, RING_POINTS, endpoint=False)

# Dempster's segment mass shares, for the centre of mass that balances the body.
_MASS_TRUNK, _MASS_HEAD, _MASS_ARM, _MASS_THIGH, _MASS_SHANK = 0.497, 0.081, 0.05, 0.10, 0.06


def _rot_about(axis: int, angle_rad: np.ndarray) -> np.ndarray:
    """(n, 3, 3) rotations about x (0), y (1) or z (2) by `angle_rad` (n,)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    r = np.zeros(angle_rad.shape + (3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    r[..., axis, axis] = 1.0
    r[..., i, i] = c
    r[..., j, j] = c
    r[..., i, j] = -s
    r[..., j, i] = s
    return r


def _apply(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate (n, ..., 3) vectors by (n, 3, 3) matrices."""
    return np.einsum("nij,n...j->n...i", r, v)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def two_bone(root: np.ndarray, target: np.ndarray, l1: float, l2: float,
             pole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Middle and end joint of a two-bone limb reaching from `root` towards `target`.

    The middle joint bends towards `pole`; a target out of reach gets a straight limb
    pointing at it. All arrays (..., 3).
    """
    v = target - root
    d = np.linalg.norm(v, axis=-1, keepdims=True)
    u = v / np.maximum(d, 1e-9)
    dc = np.clip(d, abs(l1 - l2) + 1e-4, l1 + l2 - 1e-4)
    a = (l1 * l1 - l2 * l2 + dc * dc) / (2.0 * dc)
    h = np.sqrt(np.maximum(l1 * l1 - a * a, 0.0))
    p = pole - np.sum(pole * u, axis=-1, keepdims=True) * u
    p = _unit(p)
    return root + u * a + p * h, root + u * dc


def _spine_angles_deg(t: Track) -> np.ndarray:
    """(n, segments + 1) segment angles in the pelvis frame; the last one is the head's."""
    regions = (
        (N_LUMBAR, LUMBAR_NEUTRAL_DEG + t.lumbar_deg),
        (N_THORACIC, THORACIC_NEUTRAL_DEG + t.thoracic_deg),
        (N_CERVICAL, CERVICAL_NEUTRAL_DEG + t.neck_deg),
    )
    start = np.full(t.n, LUMBAR_BASE_DEG)
    cols = []
    for count, total in regions:
        for k in range(count):
            cols.append(start + (k + 0.5) / count * total)
        start = start + total
    cols.append(start + t.head_deg)
    return np.stack(cols, axis=1)


def _spine_local(body: SynthBody, t: Track) -> tuple[np.ndarray, np.ndarray]:
    """Spine points (n, 15, 2) from the lumbosacral joint to the skull base in the pelvis
    frame's sagittal plane (x forward, y up, origin at the hip-joint midpoint), and the
    (n, 15) angle at each point."""
    lum, tho, cer = body.spine_lengths_m()
    lengths = np.array([lum / N_LUMBAR] * N_LUMBAR + [tho / N_THORACIC] * N_THORACIC
                       + [cer / N_CERVICAL] * N_CERVICAL)
    ang = np.radians(_spine_angles_deg(t))
    seg = ang[:, :-1]
    steps = np.stack([np.sin(seg), np.cos(seg)], axis=-1) * lengths[None, :, None]
    base = np.array([-0.06, 0.105]) * body.s
    pts = np.concatenate([np.broadcast_to(base, (t.n, 1, 2)), base + np.cumsum(steps, axis=1)],
                         axis=1)
    # The angle at each point: mean of the segments meeting there.
    pad = np.concatenate([seg[:, :1], seg, ang[:, -1:]], axis=1)
    at_point = (pad[:, :-1] + pad[:, 1:]) / 2.0
    return pts, at_point


def _in_plane(angle_rad: np.ndarray, fwd: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(…, 2) offsets given along a segment's own forward/up axes, turned into the pelvis
    sagittal frame for a segment tilted forward by `angle_rad`."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.stack([fwd * c + up * s, -fwd * s + up * c], axis=-1)


# Face landmarks in the head frame (forward, up, right), metres for the reference body.
_FACE_M = {
    Joint.NOSE: (0.100, -0.015, 0.0),
    Joint.LEFT_EYE_INNER: (0.085, 0.010, -0.016),
    Joint.LEFT_EYE: (0.080, 0.012, -0.032),
    Joint.LEFT_EYE_OUTER: (0.072, 0.012, -0.046),
    Joint.RIGHT_EYE_INNER: (0.085, 0.010, 0.016),
    Joint.RIGHT_EYE: (0.080, 0.012, 0.032),
    Joint.RIGHT_EYE_OUTER: (0.072, 0.012, 0.046),
    Joint.LEFT_EAR: (-0.005, 0.000, -0.075),
    Joint.RIGHT_EAR: (-0.005, 0.000, 0.075),
    Joint.MOUTH_LEFT: (0.085, -0.050, -0.024),
    Joint.MOUTH_RIGHT: (0.085, -0.050, 0.024),
}
HEAD_RADIUS_M = 0.098


def chord_offset_deg(body: SynthBody, t: Track) -> np.ndarray:
    """The hip→shoulder chord's forward tilt (n,) with the pelvis frame upright: the part of
    the trunk inclination that the spine's own curve contributes."""
    pts, ang = _spine_local(body, t)
    t1 = N_LUMBAR + N_THORACIC
    sh = pts[:, t1] + _in_plane(np.radians(ang[:, t1]), _shoulder_fwd_m(body, t),
                                np.full(t.n, -0.035 * body.s))
    return np.degrees(np.arctan2(sh[:, 0], sh[:, 1]))


def _shoulder_fwd_m(body: SynthBody, t: Track) -> np.ndarray:
    # Shoulders sit ahead of the spine, more so when reaching or with a rounded upper back.
    return (0.03 + 0.02 * t.protraction + 0.015 * np.clip(t.thoracic_deg / 60.0, 0, 1)) * body.s


def hip_from_legs(body: SynthBody, t: Track) -> np.ndarray:
    """(n, 3) hip-joint midpoint from the ankles, shank angle and knee flexion."""
    a_s = np.radians(t.shank_deg)
    a_t = a_s - np.radians(t.knee_deg)
    dx = body.shank_m * np.sin(a_s) + body.thigh_m * np.sin(a_t)
    dy = body.shank_m * np.cos(a_s) + body.thigh_m * np.cos(a_t)
    # Feet wider than the hips take part of the leg's length sideways.
    dz = np.abs(t.ankles_m[:, 1, 2] - t.ankles_m[:, 0, 2]) / 2.0 - body.hip_half_width_m
    dy = np.sqrt(np.maximum(dy * dy - dz * dz, 1e-4))
    mid = t.ankles_m.mean(axis=1)
    return np.stack([mid[:, 0] + dx, mid[:, 1] + dy, mid[:, 2]], axis=1)


@dataclass(frozen=True)
class _Pelvis:
    """Where the pelvis is in every frame: hip-joint midpoint (n, 3), its rotation
    (n, 3, 3) from pelvis-local axes, and the left/right hip joints (n, 2, 3)."""

    hip: np.ndarray
    rot: np.ndarray
    hips: np.ndarray

    def to_body(self, local2: np.ndarray, z: np.ndarray | float = 0.0) -> np.ndarray:
        """Pelvis-frame sagittal points (n, k, 2) (+ lateral z) into the body frame."""
        zz = np.broadcast_to(z, local2.shape[:-1])
        p3 = np.concatenate([local2, zz[..., None]], axis=-1)
        return self.hip[:, None, :] + _apply(self.rot, p3)

    def axis(self, local: np.ndarray) -> np.ndarray:
        """A pelvis-local direction (n, 3) or (3,) in the body frame."""
        return _apply(self.rot, np.broadcast_to(local, (self.hip.shape[0], 3)))


def _pelvis(body: SynthBody, t: Track) -> _Pelvis:
    pelvis_deg = t.trunk_deg - chord_offset_deg(body, t)
    rot = (_rot_about(1, np.radians(t.twist_deg)) @ _rot_about(0, np.radians(t.lean_deg))
           @ _rot_about(2, -np.radians(pelvis_deg)))
    hip = hip_from_legs(body, t)
    lateral = _apply(rot, np.broadcast_to(np.array([0.0, 0.0, 1.0]), (t.n, 3)))
    hips = hip[:, None, :] + lateral[:, None, :] * (np.array([-1.0, 1.0])[None, :, None]
                                                   * body.hip_half_width_m)
    # Lower the hips where a leg cannot reach its ankle.
    reach = body.leg_m - 1e-3
    v = hips - t.ankles_m
    need = v[..., 1] - np.sqrt(np.maximum(reach**2 - v[..., 0] ** 2 - v[..., 2] ** 2, 0.0))
    drop = np.maximum(need, 0.0).max(axis=1)
    down = np.array([0.0, 1.0, 0.0])
    return _Pelvis(hip - down * drop[:, None], rot, hips - down * drop[:, None, None])


_LEGS = ((Joint.LEFT_HIP, Joint.LEFT_KNEE, Joint.LEFT_ANKLE, Joint.LEFT_HEEL,
          Joint.LEFT_FOOT_INDEX),
         (Joint.RIGHT_HIP, Joint.RIGHT_KNEE, Joint.RIGHT_ANKLE, Joint.RIGHT_HEEL,
          Joint.RIGHT_FOOT_INDEX))
_ARMS = ((Joint.LEFT_SHOULDER, Joint.LEFT_ELBOW, Joint.LEFT_WRIST, Joint.LEFT_PINKY,
          Joint.LEFT_INDEX, Joint.LEFT_THUMB, -1.0),
         (Joint.RIGHT_SHOULDER, Joint.RIGHT_ELBOW, Joint.RIGHT_WRIST, Joint.RIGHT_PINKY,
          Joint.RIGHT_INDEX, Joint.RIGHT_THUMB, 1.0))


def _legs(body: SynthBody, t: Track, joints: np.ndarray) -> None:
    """Knees (bending towards the toes), ankles, heels and toes, in place."""
    s = body.s
    psi = math.radians(t.toe_out_deg)
    toe_dirs = np.array([[math.cos(psi), 0.0, -math.sin(psi)],
                         [math.cos(psi), 0.0, math.sin(psi)]])
    down = np.array([0.0, -1.0, 0.0]) * (body.ankle_height_m - 0.012 * s)
    for side, (hj, kj, aj, hl, tj) in enumerate(_LEGS):
        ankle = t.ankles_m[:, side]
        pole = np.broadcast_to(toe_dirs[side], (t.n, 3))
        joints[:, kj], _ = two_bone(joints[:, hj], ankle, body.thigh_m, body.shank_m, pole)
        joints[:, aj] = ankle
        joints[:, hl] = ankle + down - toe_dirs[side] * 0.05 * s
        joints[:, tj] = ankle + down + toe_dirs[side] * 0.165 * s * body.leg_scale


def _arms(body: SynthBody, t: Track, joints: np.ndarray, trunk_fwd: np.ndarray,
          lateral: np.ndarray) -> None:
    """Elbows, wrists and hand points, in place: the hands hang, carry or reach."""
    s = body.s
    arm = body.upper_arm_m + body.forearm_m
    for side, (sj, ej, wj, pj, ij, thj, out) in enumerate(_ARMS):
        sh = joints[:, sj]
        hang = sh + np.array([0.04 * s, -0.95 * arm, out * 0.04 * s])
        carry = sh + np.array([0.30 * s, -0.42 * s, -out * 0.08 * s])
        base = hang + (carry - hang) * t.carry_weight[:, None]
        target = base + (t.hand_target_m[:, side] - base) * t.hand_weight[:, None]
        pole = _unit(-trunk_fwd + lateral * out * 0.5 + np.array([-0.3, 0.0, 0.0]))
        elbow, wrist = two_bone(sh, target, body.upper_arm_m, body.forearm_m, pole)
        joints[:, ej], joints[:, wj] = elbow, wrist
        along = _unit(wrist - elbow)
        palm = trunk_fwd + np.array([1.0, 0.0, 0.0])
        thumb_side = _unit(palm - np.sum(palm * along, -1, keepdims=True) * along)
        joints[:, ij] = wrist + along * 0.085 * s + thumb_side * 0.015 * s
        joints[:, pj] = wrist + along * 0.070 * s - thumb_side * 0.030 * s
        joints[:, thj] = wrist + along * 0.045 * s + thumb_side * 0.035 * s


def _trunk_rings(body: SynthBody, t: Track, pelvis: _Pelvis, pts: np.ndarray,
                 ang_r: np.ndarray) -> np.ndarray:
    """(n, R, RING_POINTS, 3) cross-sections: the pelvis at hip level, then every spine
    point up to T1, each an ellipse around the spine shifted towards the belly."""
    n, t1 = t.n, N_LUMBAR + N_THORACIC
    g, sb = body.girth, body.s
    u = np.linspace(0.0, 1.0, t1 + 1)
    half_w = np.interp(u, _STATION_U, _HALF_WIDTH_M) * sb * (0.6 + 0.4 * g)
    back = (np.interp(u, _STATION_U, _BACK_M) * sb * (0.7 + 0.3 * g)
            + np.interp(u, _STATION_U, np.asarray(body.clothing_m)))
    front = np.interp(u, _STATION_U, _FRONT_M) * sb * (0.5 + 0.5 * g) * np.interp(
        u, [0, 0.4, 0.7], [body.belly, body.belly, 1])
    flex = np.clip(t.lumbar_deg + t.thoracic_deg, 0.0, None)
    waist = np.interp(u, [0.0, 0.2, 0.7, 1.0], [0.0, 1.0, 1.0, 0.3])
    front2 = front[None, :] + _BELLY_PER_DEG_M * sb * flex[:, None] * waist[None, :]
    centre_off = (front2 - back[None, :]) / 2.0
    half_d = (front2 + back[None, :]) / 2.0
    cphi, sphi = np.cos(_RING_PHI), np.sin(_RING_PHI)
    fwd_off = centre_off[:, :, None] + half_d[:, :, None] * cphi[None, None, :]
    sag = pts[:, : t1 + 1, None, :] + _in_plane(ang_r[:, : t1 + 1, None], fwd_off,
                                                 np.zeros_like(fwd_off))
    lat = half_w[:, None] * sphi[None, :]
    rings = pelvis.to_body(sag.reshape(n, -1, 2), lat.reshape(-1))
    rings = rings.reshape(n, t1 + 1, RING_POINTS, 3)
    pel_d = (_PELVIS_FRONT_M + _PELVIS_BACK_M) / 2.0 * sb * g
    pel_c = (_PELVIS_FRONT_M - _PELVIS_BACK_M) / 2.0 * sb * g
    pel_w = _PELVIS_HALF_WIDTH_M * sb * (0.6 + 0.4 * g)
    pel_sag = np.stack([pel_c + pel_d * cphi, np.zeros(RING_POINTS)], -1)
    ring0 = pelvis.to_body(np.broadcast_to(pel_sag, (n, RING_POINTS, 2)), pel_w * sphi)
    return np.concatenate([ring0[:, None], rings], axis=1)


def _capsules(body: SynthBody, j: np.ndarray, neck: tuple[np.ndarray, np.ndarray],
              head_c: np.ndarray, head_fwd: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Limbs, neck and head as capsules: starts (n, C, 3), ends (n, C, 3), radii (C, 2)."""
    sb = body.s
    gr = sb * (0.75 + 0.25 * body.girth)
    L = R = Joint
    caps = [
        (j[:, L.LEFT_HIP], j[:, L.LEFT_KNEE], 0.072 * gr, 0.050 * gr),
        (j[:, R.RIGHT_HIP], j[:, R.RIGHT_KNEE], 0.072 * gr, 0.050 * gr),
        (j[:, L.LEFT_KNEE], j[:, L.LEFT_ANKLE], 0.048 * gr, 0.032 * gr),
        (j[:, R.RIGHT_KNEE], j[:, R.RIGHT_ANKLE], 0.048 * gr, 0.032 * gr),
        (j[:, L.LEFT_HEEL], j[:, L.LEFT_FOOT_INDEX], 0.035 * sb, 0.025 * sb),
        (j[:, R.RIGHT_HEEL], j[:, R.RIGHT_FOOT_INDEX], 0.035 * sb, 0.025 * sb),
        (j[:, L.LEFT_SHOULDER], j[:, L.LEFT_ELBOW], 0.046 * gr, 0.036 * gr),
        (j[:, R.RIGHT_SHOULDER], j[:, R.RIGHT_ELBOW], 0.046 * gr, 0.036 * gr),
        (j[:, L.LEFT_ELBOW], j[:, L.LEFT_WRIST], 0.036 * gr, 0.026 * gr),
        (j[:, R.RIGHT_ELBOW], j[:, R.RIGHT_WRIST], 0.036 * gr, 0.026 * gr),
        (j[:, L.LEFT_WRIST], j[:, L.LEFT_INDEX], 0.032 * sb, 0.030 * sb),
        (j[:, R.RIGHT_WRIST], j[:, R.RIGHT_INDEX], 0.032 * sb, 0.030 * sb),
        (neck[0], neck[1], 0.058 * gr, 0.052 * gr),
        (head_c - head_fwd * 0.015 * sb, head_c + head_fwd * 0.02 * sb,
         HEAD_RADIUS_M * sb, 0.09 * sb),
    ]
    return (np.stack([c[0] for c in caps], axis=1), np.stack([c[1] for c in caps], axis=1),
            np.array([[c[2], c[3]] for c in caps]))


def forward_kinematics(body: SynthBody, t: Track) -> Skeleton:
    """All frames' landmarks (n, 33, 3) and silhouette in the body frame."""
    n, s = t.n, body.s
    pelvis = _pelvis(body, t)
    pts, ang = _spine_local(body, t)
    ang_r = np.radians(ang)
    spine = pelvis.to_body(pts)
    t1 = N_LUMBAR + N_THORACIC
    head_ang = np.radians(_spine_angles_deg(t)[:, -1])

    joints = np.zeros((n, NUM_JOINTS, 3))
    joints[:, Joint.LEFT_HIP], joints[:, Joint.RIGHT_HIP] = pelvis.hips[:, 0], pelvis.hips[:, 1]
    sh_local = pts[:, t1] + _in_plane(ang_r[:, t1], _shoulder_fwd_m(body, t),
                                      np.full(n, -0.035 * s))
    shw = body.shoulder_half_width_m
    joints[:, Joint.LEFT_SHOULDER] = pelvis.to_body(sh_local[:, None], -shw)[:, 0]
    joints[:, Joint.RIGHT_SHOULDER] = pelvis.to_body(sh_local[:, None], shw)[:, 0]
    head_c_local = pts[:, -1] + _in_plane(head_ang, np.full(n, 0.012 * s), np.full(n, 0.065 * s))
    head_c = pelvis.to_body(head_c_local[:, None])[:, 0]
    for j, (f, u, z) in _FACE_M.items():
        loc = head_c_local + _in_plane(head_ang, np.full(n, f * s), np.full(n, u * s))
        joints[:, j] = pelvis.to_body(loc[:, None], z * s)[:, 0]
    head_fwd = pelvis.axis(np.stack([np.cos(head_ang), -np.sin(head_ang), np.zeros(n)], -1))
    trunk_fwd = pelvis.axis(np.stack([np.cos(ang_r[:, t1]), -np.sin(ang_r[:, t1]),
                                      np.zeros(n)], -1))
    _legs(body, t, joints)
    _arms(body, t, joints, trunk_fwd, pelvis.axis(np.array([0.0, 0.0, 1.0])))

    starts, ends, radii = _capsules(body, joints, (spine[:, t1], spine[:, -1]), head_c, head_fwd)
    J = joints
    com = (_MASS_TRUNK * (spine[:, :t1 + 1].mean(axis=1) + trunk_fwd * 0.04 * s)
           + _MASS_HEAD * head_c
           + _MASS_ARM * (J[:, Joint.LEFT_ELBOW] + J[:, Joint.RIGHT_ELBOW])
           + _MASS_THIGH / 2 * (J[:, Joint.LEFT_HIP] + J[:, Joint.LEFT_KNEE]
                                + J[:, Joint.RIGHT_HIP] + J[:, Joint.RIGHT_KNEE])
           + _MASS_SHANK / 2 * (J[:, Joint.LEFT_KNEE] + J[:, Joint.LEFT_ANKLE]
                                + J[:, Joint.RIGHT_KNEE] + J[:, Joint.RIGHT_ANKLE]))
    com = com / (_MASS_TRUNK + _MASS_HEAD + 2 * _MASS_ARM + 2 * _MASS_THIGH + 2 * _MASS_SHANK)
    return Skeleton(joints_m=joints, rings_m=_trunk_rings(body, t, pelvis, pts, ang_r),
                    capsule_start_m=starts, capsule_end_m=ends, capsule_radius_m=radii,
                    com_m=com, head_forward=head_fwd)
