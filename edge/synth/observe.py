"""Seeing the synthetic body as the BlazePose engine would: `Pose` values per frame.

What is emulated, with what was measured on the engine's outputs for the fixtures:
- image landmarks with temporally correlated noise, more on hands and feet;
- z_norm: depth from the hip midpoint; BlazePose's runs about 2.8× the x scale;
- visibility: high where seen, 0.3–0.7 for limbs on the far side, low out of frame;
- world_m: metres from the hip midpoint, x to image right, y down (gravity), z away from
  the camera, with the engine's nuisance: the legs lean 4–24° off −y, the feet away from
  the camera (a shear below the hips: the fixtures show it on the legs, not the trunk);
- the two auxiliary alignment points and the 256×256 crop they define, with the person's
  silhouette rendered into it as the segmentation mask;
- dropouts (no pose) and glitches (a few joints lost).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from edge.pose.landmarks import NUM_JOINTS, Joint, Pose, Segmentation
from edge.pose.roi import roi_from_alignment
from edge.synth.body import Skeleton
from edge.synth.camera import Camera, Placement

MASK_SIZE = 256
ENGINE_NAME = "blazepose-synth"
# BlazePose's z_norm over the x-scale depth (measured on squat.png and the forward-fold
# frames: hips 0.33 apart in z_norm where the x scale gives 0.11–0.12).
Z_NORM_GAIN = 2.8
# The detector's body circle over the farthest landmark's distance from the hips.
BODY_CIRCLE_SHARE = (0.95, 1.05)
# Noise multipliers per joint: face, trunk, elbows/knees, wrists/ankles, hand/foot points.
_NOISE_GAIN = np.ones(NUM_JOINTS)
_NOISE_GAIN[:11] = 0.7
_NOISE_GAIN[[Joint.LEFT_ELBOW, Joint.RIGHT_ELBOW, Joint.LEFT_KNEE, Joint.RIGHT_KNEE]] = 1.2
_NOISE_GAIN[[Joint.LEFT_WRIST, Joint.RIGHT_WRIST, Joint.LEFT_ANKLE, Joint.RIGHT_ANKLE]] = 1.5
_NOISE_GAIN[[17, 18, 19, 20, 21, 22, 29, 30, 31, 32]] = 2.0
# Left/right partner of every joint (the nose and nothing else pairs with itself).
_PARTNER = np.arange(NUM_JOINTS)
for _a, _b in ((1, 4), (2, 5), (3, 6), (7, 8), (9, 10)):
    _PARTNER[_a], _PARTNER[_b] = _b, _a
for _a in range(11, NUM_JOINTS, 2):
    _PARTNER[_a], _PARTNER[_a + 1] = _a + 1, _a
# How much hiding behind the body lowers a joint's visibility logit: limbs fade most.
_HIDE_GAIN = np.full(NUM_JOINTS, 4.5)
_HIDE_GAIN[:11] = 2.5
_HIDE_GAIN[[Joint.LEFT_SHOULDER, Joint.RIGHT_SHOULDER, Joint.LEFT_HIP, Joint.RIGHT_HIP]] = 2.0
_HIDE_GAIN[Joint.NOSE] = 0.0
_FACE = np.arange(11)
_LIMBS = np.array([13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 25, 26, 27, 28, 29, 30, 31, 32])


@dataclass(frozen=True)
class SynthNoise:
    """How imperfect the engine is. `none()` gives exact landmarks and no dropouts.

    - landmark_share: σ of image landmark noise over the person's height in pixels;
    - world_m: σ of world landmark noise (m; doubled in depth);
    - dropout_rate: chance per frame that a dropout of 1–4 frames (no pose) starts;
    - glitch_rate: chance per frame that a few limb joints are lost (low visibility, off);
    - world_tilt_deg: range of the legs' lean off the world −y, feet away from the camera.
    """

    landmark_share: float = 0.005
    world_m: float = 0.012
    dropout_rate: float = 0.01
    glitch_rate: float = 0.02
    world_tilt_deg: tuple[float, float] = (4.0, 24.0)
    visibility_sigma: float = 0.6

    def __post_init__(self) -> None:
        for name in ("landmark_share", "world_m", "dropout_rate", "glitch_rate",
                     "visibility_sigma"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: expected ≥ 0, got {getattr(self, name)}")
        if not 0 <= self.dropout_rate < 0.5 or not 0 <= self.glitch_rate < 0.5:
            raise ValueError("dropout_rate and glitch_rate: expected 0..0.5")

    @classmethod
    def none(cls) -> SynthNoise:
        return cls(0.0, 0.0, 0.0, 0.0, (0.0, 0.0), 0.0)


def _ar_noise(rng: np.random.Generator, shape: tuple[int, ...], rho: float = 0.6) -> np.ndarray:
    """Unit-variance noise, correlated frame to frame (first axis) like a tracker's jitter."""
    e = rng.normal(size=shape)
    k = math.sqrt(1.0 - rho * rho)
    for i in range(1, shape[0]):
        e[i] = rho * e[i - 1] + k * e[i]
    return e


@dataclass(frozen=True)
class Seen:
    """A skeleton as the camera sees it, before any noise: pixels and depths."""

    joints_px: np.ndarray  # (n, 33, 2)
    joints_depth: np.ndarray  # (n, 33)
    joints_room: np.ndarray  # (n, 33, 3)
    rings_px: np.ndarray  # (n, R, K, 2)
    cap_start_px: np.ndarray  # (n, C, 2)
    cap_end_px: np.ndarray
    cap_radius_px: np.ndarray  # (n, C, 2)
    head_forward_room: np.ndarray  # (n, 3)
    erase_count: int = 0  # the last capsules cut holes (see Skeleton)


def see(skel: Skeleton, camera: Camera, placement: Placement) -> Seen:
    joints = placement.to_room(skel.joints_m)
    jpx, jz = camera.project(joints)
    rpx, _ = camera.project(placement.to_room(skel.rings_m))
    spx, sz = camera.project(placement.to_room(skel.capsule_start_m))
    epx, ez = camera.project(placement.to_room(skel.capsule_end_m))
    f = camera.focal_px
    radius = np.stack([f * skel.capsule_radius_m[None, :, 0] / sz,
                       f * skel.capsule_radius_m[None, :, 1] / ez], axis=-1)
    head_fwd = placement.to_room(skel.head_forward) - placement.to_room(np.zeros(3))
    return Seen(jpx, jz, joints, rpx, spx, epx, radius, head_fwd, skel.erase_count)


def _visibility_logits(seen: Seen, camera: Camera, rng: np.random.Generator,
                       noise: SynthNoise) -> np.ndarray:
    """(n, 33) visibility logits: seen, behind the body, or out of frame."""
    n = seen.joints_px.shape[0]
    z = seen.joints_depth
    gap = np.linalg.norm(seen.joints_room - seen.joints_room[:, _PARTNER], axis=-1)
    behind = np.clip((z - z[:, _PARTNER]) / np.maximum(gap, 0.06), 0.0, 1.0)
    logit = 4.5 - _HIDE_GAIN * behind + noise.visibility_sigma * rng.normal(size=(n, NUM_JOINTS))
    # Joints far out in a limb are less sure even when seen.
    logit[:, _LIMBS] -= 0.8
    # A face turned away from the camera.
    to_cam = np.asarray(camera.position_m) - seen.joints_room[:, Joint.NOSE]
    to_cam /= np.linalg.norm(to_cam, axis=-1, keepdims=True)
    facing = np.sum(seen.head_forward_room * to_cam, axis=-1)
    logit[:, _FACE] -= 3.0 * np.clip(-facing, 0.0, 1.0)[:, None]
    w, h = camera.resolution_wh
    out = np.maximum.reduce([-seen.joints_px[..., 0] / w, seen.joints_px[..., 0] / w - 1.0,
                             -seen.joints_px[..., 1] / h, seen.joints_px[..., 1] / h - 1.0,
                             np.zeros((n, NUM_JOINTS))])
    logit -= np.where(out > 0, 7.0 + 40.0 * out, 0.0)
    return logit


_LEG_CHAINS = ((Joint.LEFT_KNEE, Joint.LEFT_ANKLE, Joint.LEFT_HEEL, Joint.LEFT_FOOT_INDEX),
               (Joint.RIGHT_KNEE, Joint.RIGHT_ANKLE, Joint.RIGHT_HEEL, Joint.RIGHT_FOOT_INDEX))


_SUBPIXEL_BITS = 2
_SUBPIXEL = float(1 << _SUBPIXEL_BITS)
_CAP_PHI = np.linspace(-math.pi / 2, math.pi / 2, 6)


def _fixed(xy: np.ndarray) -> np.ndarray:
    """Crop pixels → int32 fixed point for OpenCV's sub-pixel drawing, kept in range."""
    return np.round(np.clip(xy, -4 * MASK_SIZE, 5 * MASK_SIZE) * _SUBPIXEL).astype(np.int32)


def silhouette_polygons(rings: np.ndarray, cap_start: np.ndarray, cap_end: np.ndarray,
                        cap_radius: np.ndarray) -> np.ndarray:
    """(n, P, 12, 2) convex polygons (crop px) whose union is the silhouette.

    Trunk: each cross-section (a projected ellipse) and, between neighbours, the quad
    joining their outermost points across the line between their centres — together the
    outline of the tube. Limbs: each capsule as a stadium (half circles at both ends).
    """
    n, r, k, _ = rings.shape
    centre = rings.mean(axis=2)
    along = centre[:, 1:] - centre[:, :-1]
    normal = np.stack([-along[..., 1], along[..., 0]], axis=-1)
    normal /= np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-9)

    def extreme(ring: np.ndarray, sign: float) -> np.ndarray:
        proj = np.sum(ring * normal[:, :, None, :], axis=-1) * sign
        return np.take_along_axis(ring, proj.argmax(axis=2)[..., None, None], axis=2)[:, :, 0]

    lo, hi = rings[:, :-1], rings[:, 1:]
    quads = np.stack([extreme(lo, 1.0), extreme(hi, 1.0), extreme(hi, -1.0),
                      extreme(lo, -1.0)], axis=2)
    d = cap_end - cap_start
    theta = np.arctan2(d[..., 1], d[..., 0])[..., None]
    a_end = theta + _CAP_PHI
    a_start = theta + math.pi + _CAP_PHI
    caps = np.concatenate([
        cap_end[..., None, :] + cap_radius[..., 1, None, None]
        * np.stack([np.cos(a_end), np.sin(a_end)], -1),
        cap_start[..., None, :] + cap_radius[..., 0, None, None]
        * np.stack([np.cos(a_start), np.sin(a_start)], -1),
    ], axis=2)

    def pad(poly: np.ndarray, size: int) -> np.ndarray:  # repeat the last point
        extra = np.repeat(poly[:, :, -1:], size - poly.shape[2], axis=2)
        return np.concatenate([poly, extra], axis=2)

    size = max(k, 12)
    return np.concatenate([pad(rings, size), pad(quads, size), pad(caps, size)], axis=1)


def render_mask(polygons: np.ndarray, frame_crop: np.ndarray | None,
                erase: int = 0) -> np.ndarray:
    """The silhouette in the crop: (256, 256) float32 probabilities, from (P, m, 2) int32
    fixed-point convex polygons, the last `erase` of them cut out; `frame_crop` (4, 2) the
    frame's corners (nothing is seen outside the frame), None when the crop lies inside."""
    img = np.zeros((MASK_SIZE, MASK_SIZE), np.uint8)
    keep = len(polygons) - erase
    for poly in polygons[:keep]:
        cv2.fillConvexPoly(img, poly, 255, cv2.LINE_AA, _SUBPIXEL_BITS)
    for poly in polygons[keep:]:
        cv2.fillConvexPoly(img, poly, 0, cv2.LINE_AA, _SUBPIXEL_BITS)
    soft = cv2.GaussianBlur(img, (3, 3), 0.7)
    if frame_crop is not None:
        valid = np.zeros_like(img)
        cv2.fillConvexPoly(valid, _fixed(frame_crop), 1, cv2.LINE_8, _SUBPIXEL_BITS)
        soft *= valid
    out = soft.astype(np.float32)
    out *= np.float32(1.0 / 255.0)
    return out


def observe(seen: Seen, camera: Camera, t_s: np.ndarray, noise: SynthNoise,
            rng: np.random.Generator, with_mask: bool = True) -> list[Pose | None]:
    """The engine's output for every frame of a seen skeleton."""
    n = len(t_s)
    w, h = camera.resolution_wh
    wh = np.array([w, h], dtype=np.float64)
    px_true = seen.joints_px
    hip_mid = (seen.joints_room[:, Joint.LEFT_HIP] + seen.joints_room[:, Joint.RIGHT_HIP]) / 2
    hip_depth = (seen.joints_depth[:, Joint.LEFT_HIP] + seen.joints_depth[:, Joint.RIGHT_HIP]) / 2
    height_px = camera.focal_px * 1.7 / hip_depth  # the person's size, for noise scale

    logit = _visibility_logits(seen, camera, rng, noise)
    hidden = 1.0 + 0.6 * (logit < 1.0)  # guessed joints wander more
    sigma = noise.landmark_share * height_px[:, None] * _NOISE_GAIN[None, :] * hidden
    px = px_true + _ar_noise(rng, (n, NUM_JOINTS, 2)) * sigma[..., None]
    z_rel = seen.joints_depth - hip_depth[:, None]
    z_norm = Z_NORM_GAIN * camera.focal_px * z_rel / hip_depth[:, None] / w
    z_norm += _ar_noise(rng, (n, NUM_JOINTS)) * 2.0 * sigma / w

    world = (seen.joints_room - hip_mid[:, None, :]) @ camera.level_rotation().T
    tilt = float(rng.uniform(*noise.world_tilt_deg))
    for chain in _LEG_CHAINS:
        lean = math.tan(math.radians(max(0.0, tilt + (rng.normal(0.0, 3.0) if tilt else 0.0))))
        idx = list(chain)
        world[:, idx, 2] += lean * np.maximum(world[:, idx, 1], 0.0)
    world *= float(rng.uniform(0.95, 1.05)) if noise.world_m > 0 else 1.0
    wn = _ar_noise(rng, (n, NUM_JOINTS, 3)) * noise.world_m * _NOISE_GAIN[None, :, None]
    wn[..., 2] *= 2.0
    world = world + wn
    world -= (world[:, Joint.LEFT_HIP] + world[:, Joint.RIGHT_HIP])[:, None, :] / 2.0

    # Dropouts and glitches.
    drop = np.zeros(n, bool)
    starts = np.flatnonzero(rng.random(n) < noise.dropout_rate)
    for first in starts:
        drop[first : first + int(rng.integers(1, 5))] = True
    for g in np.flatnonzero(rng.random(n) < noise.glitch_rate):
        lost = rng.choice(_LIMBS, size=int(rng.integers(2, 7)), replace=False)
        logit[g, lost] = rng.uniform(-3.0, -0.2, size=len(lost))
        px[g, lost] += rng.normal(size=(len(lost), 2)) * 0.08 * height_px[g]
    vis = 1.0 / (1.0 + np.exp(-logit))
    presence = np.clip(1.0 - np.abs(rng.normal(0.0, 0.01, n)), 0.5, 1.0)

    # Alignment points: hip centre, and the body circle's edge along the trunk.
    centre = (px[:, Joint.LEFT_HIP] + px[:, Joint.RIGHT_HIP]) / 2.0
    up = (px[:, Joint.LEFT_SHOULDER] + px[:, Joint.RIGHT_SHOULDER]) / 2.0 - centre
    up /= np.maximum(np.linalg.norm(up, axis=-1, keepdims=True), 1e-6)
    turn = np.radians(rng.normal(0.0, 3.0, n)) if noise.landmark_share > 0 else np.zeros(n)
    c, s = np.cos(turn), np.sin(turn)
    up = np.stack([c * up[:, 0] - s * up[:, 1], s * up[:, 0] + c * up[:, 1]], axis=-1)
    reach = np.linalg.norm(px_true - centre[:, None, :], axis=-1).max(axis=1)
    share = rng.uniform(*BODY_CIRCLE_SHARE) if noise.landmark_share > 0 else 1.0
    scale_pt = centre + up * (reach * share)[:, None]

    affines = np.zeros((n, 2, 3))
    polys = np.zeros((n, 0, 12, 2), np.int32)
    outside = np.zeros(n, bool)
    corners = np.array([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]])
    frame_crop = np.zeros((n, 4, 2))
    if with_mask:
        sizes = np.zeros(n)
        for i in range(n):
            roi = roi_from_alignment(centre[i], scale_pt[i])
            affines[i] = roi.crop_to_frame(MASK_SIZE)
            sizes[i] = roi.size_px
        inv = np.linalg.inv(affines[:, :, :2])
        off = affines[:, None, :, 2]

        def to_crop(xy: np.ndarray) -> np.ndarray:
            flat = xy.reshape(n, -1, 2)
            return np.einsum("nij,nkj->nki", inv, flat - off).reshape(xy.shape)

        polys = _fixed(silhouette_polygons(
            to_crop(seen.rings_px), to_crop(seen.cap_start_px), to_crop(seen.cap_end_px),
            seen.cap_radius_px * (MASK_SIZE / sizes)[:, None, None]))
        box = np.array([[0.0, 0.0], [MASK_SIZE, 0.0], [MASK_SIZE, MASK_SIZE], [0.0, MASK_SIZE]])
        box_frame = np.einsum("nij,kj->nki", affines[:, :, :2], box) + off
        outside = ((box_frame < 0) | (box_frame > np.array([w, h]))).any(axis=(1, 2))
        frame_crop = to_crop(np.broadcast_to(corners, (n, 4, 2)).copy())

    poses: list[Pose | None] = []
    for i in range(n):
        if drop[i]:
            poses.append(None)
            continue
        seg = None
        if with_mask:
            mask = render_mask(polys[i], frame_crop[i] if outside[i] else None,
                               seen.erase_count)
            seg = Segmentation(mask=mask, crop_to_frame=affines[i])
        poses.append(Pose(
            t_s=float(t_s[i]),
            resolution_wh=(w, h),
            xy_norm=px[i] / wh,
            visibility=vis[i],
            presence=float(presence[i]),
            z_norm=z_norm[i],
            world_m=world[i],
            segmentation=seg,
            aux_xy_norm=np.stack([centre[i], scale_pt[i]]) / wh,
            engine=ENGINE_NAME,
        ))
    return poses
