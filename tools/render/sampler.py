"""Scene parameters for rendered people in known bends, drawn reproducibly from a seed.

Pure Python (stdlib only): the generator (bpy) and the tests import it alike. Item i of a
seed is always the same scene, so a batch can stop and resume, and any prefix of the batch
is balanced: posture class, yaw bin and prop cycle with coprime periods (4, 3, 5), so every
60 consecutive items hold each combination once.

Labels follow the biomechanics, with the ambiguous band between hinge and round never drawn:
- stand: trunk ≤ 12°, spine flexion ≤ 8°, knees ≤ 15°;
- hinge: trunk 35–95° forward, spine flexion ≤ 10° (neutral back), knees ≤ 45°;
- round: spine flexion 30–65°, spread over lumbar and thoracic segments, trunk 35–95°
  (seed 1); from seed 2 on 60–100°, thoracic-led (lumbar share 0.2–0.45): on the rig's skin
  the first range left the back's outline nearly straight (median true bulge 1.2 % of the
  hip→shoulder chord, against 3–6 % for the new one), a round no eye could call round;
- squat: knees 90–135° (knee-dominant), trunk 12–45°, spine flexion ≤ 10°.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field, replace
from typing import Any

CLASSES = ("stand", "hinge", "round", "squat")
YAW_BINS = ((0.0, 30.0), (30.0, 60.0), (60.0, 90.0))  # 0 = side view, 90 = front view
PROPS = ("none", "box", "basket", "load", "backpack")
# "load": a child-sized load (sack), held against the chest or lying on one shoulder.
LOAD_CARRY = ("front", "shoulder")
# Outfits whose clothes fit the body in the generator's simple fitting (the female suits
# do not); shoes and hair from MakeHuman's CC0 set.
OUTFITS = ("male_elegantsuit01", "male_casualsuit02", "male_casualsuit03", "male_casualsuit04",
           "male_casualsuit05", "male_casualsuit06", "male_worksuit01")
SHOES = ("shoes01", "shoes02", "shoes03", "shoes04", "shoes05", "shoes06")
# (afro01, bob01 and male_casualsuit01 lose their textures in the snapshot: left out)
HAIR = ("short01", "short02", "short03", "short04", "bob02", "ponytail01", "braid01", "long01")
SKINS = ("young_lightskinned_male_diffuse.png", "young_lightskinned_male_diffuse2.png",
         "young_lightskinned_male_diffuse3.png", "young_lightskinned_female_diffuse2.png",
         "young_lightskinned_female_diffuse3.png", "young_darkskinned_male_diffuse.png",
         "middleage_darkskinned_male_diffuse.png", "middleage_lightskinned_male_diffuse.png",
         "middleage_lightskinned_female_diffuse2.png", "old_darkskinned_male_diffuse.png")
ROOMS = ("brick", "plain", "garage")

# Label thresholds (degrees): the drawn ranges stay clear of them.
HINGE_MIN_TRUNK = 35.0
NEUTRAL_MAX_FLEX = 10.0
ROUND_MIN_FLEX = 30.0
SQUAT_MIN_KNEE = 90.0
VISIBLE_ROUND_SEED = 2  # seeds from here draw the round class with visible rounding (see above)
# Seeds from here draw every bend's neck and head over one range, whatever the class: people
# look down at what they pick up in a good hinge and may hold the head up over a rounded
# back. Before it hinges held the head up and rounds let it hang, a separation the
# classifier could lean on and real people do not give (README, known limits).
HEAD_ANY_SEED = 9
NECK_RANGE = (-35.0, 25.0)  # neck relative to the upper spine, + = further down
HEAD_RANGE = (-25.0, 25.0)  # head relative to the neck


@dataclass(frozen=True)
class Body:
    gender: float  # 0 = female, 1 = male (MakeHuman's macro slider)
    weight: float  # 0 = thinnest, 0.5 = average, 1 = heaviest
    height: float  # 0 = shortest, 0.5 = average, 1 = tallest
    muscle: float  # 0 = least, 0.5 = average, 1 = most
    outfit: str
    shoes: str
    hair: str
    skin: str
    cloth_tint: tuple[float, float, float]  # multiplies the outfit's texture


@dataclass(frozen=True)
class Posture:
    label: str
    trunk_deg: float  # hip→shoulder line forward of vertical (the generator solves for it)
    spine_flex_deg: float  # total flexion over the five spine bones
    lumbar_share: float  # share of the flexion in the lower three (lumbar) bones
    knee_deg: float  # knee flexion (0 = straight)
    hip_back: float  # hips behind the ankles over leg length (the generator solves the legs for it)
    neck_deg: float  # neck relative to the upper spine (+ = further down)
    head_deg: float  # head relative to the neck


@dataclass(frozen=True)
class Camera:
    yaw_deg: float  # 0 = side view, 90 = front view
    side: int  # +1: camera on the person's right, -1: on their left
    height_m: float
    distance_m: float
    lens_mm: float
    aim_jitter: tuple[float, float]  # metres, horizontal and vertical offset of the aim point


@dataclass(frozen=True)
class Scene:
    index: int
    name: str
    posture: Posture
    body: Body
    camera: Camera
    prop: str
    load_carry: str
    room: str
    wall_rgb: tuple[float, float, float]
    floor_rgb: tuple[float, float, float]
    light_energy: float
    exposure: float  # the view transform's exposure, stops
    light_azimuth_deg: float
    sun_strength: float
    noise_sigma: float  # sensor noise, in 8-bit grey levels
    blur_sigma_px: float  # defocus
    motion_px: float  # linear motion blur length along `motion_deg`
    motion_deg: float
    jpeg_quality: int  # 0: no compression round trip
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _posture(rng: random.Random, label: str, seed: int = 1) -> Posture:
    u = rng.uniform
    any_head = seed >= HEAD_ANY_SEED

    # A bend's neck and head: the class's own range before HEAD_ANY_SEED, the one range from
    # it; one draw each either way, so the scene's other parameters stay the seed's.
    def neck(lo: float, hi: float) -> float:
        return u(*NECK_RANGE) if any_head else u(lo, hi)

    def head(lo: float, hi: float) -> float:
        return u(*HEAD_RANGE) if any_head else u(lo, hi)

    if label == "stand":
        return Posture(label, u(0, 12), u(0, 8), u(0.3, 0.7), u(0, 15), u(-0.02, 0.04),
                       u(-10, 15), u(-10, 10))
    if label == "hinge":
        return Posture(label, u(HINGE_MIN_TRUNK, 95), u(0, NEUTRAL_MAX_FLEX), u(0.3, 0.7),
                       u(0, 45), u(0.05, 0.3), neck(-35, 5), head(-25, 10))
    if label == "round" and seed >= VISIBLE_ROUND_SEED:
        # Real rounded lifts: lumbar flexion near its end range (~40–50°) plus ~20–50° more
        # kyphosis; the rig's linear-blend skin shows rounding only where the thoracic bones bend.
        return Posture(label, u(HINGE_MIN_TRUNK, 95), u(60, 100), u(0.2, 0.45),
                       u(0, 45), u(-0.02, 0.2), neck(-10, 25), head(-5, 25))
    if label == "round":
        return Posture(label, u(HINGE_MIN_TRUNK, 95), u(ROUND_MIN_FLEX, 65), u(0.2, 0.8),
                       u(0, 45), u(-0.02, 0.2), neck(-10, 25), head(-5, 25))
    if label == "squat":
        return Posture(label, u(12, 45), u(0, NEUTRAL_MAX_FLEX), u(0.3, 0.7),
                       u(SQUAT_MIN_KNEE, 135), u(0.05, 0.25), neck(-25, 5), head(-20, 10))
    raise ValueError(f"posture: unknown class {label!r}")


def _tint(rng: random.Random) -> tuple[float, float, float]:
    base = rng.uniform(0.45, 1.0)
    # type: ignore on the next line: three values: an RGB tint
    return tuple(round(min(1.0, base * rng.uniform(0.75, 1.25)), 3) for _ in range(3))  # type: ignore[return-value]


def sample(seed: int, index: int, kind: str = "r") -> Scene:
    """Scene `index` of the batch `seed`: the same pair always gives the same scene.

    kind "c": the deepest frame of clip `index` (bend classes only, yaw bin cycling slower).
    """
    rng = random.Random(f"{seed}:{index}" if kind == "r" else f"{seed}:{kind}{index}")
    if kind == "r":
        label = CLASSES[index % len(CLASSES)]
        lo, hi = YAW_BINS[index % len(YAW_BINS)]
    elif kind == "s":  # back × what is done seated × yaw bin: every 18 clips once each
        label = SIT_BACKS[index % len(SIT_BACKS)]
        lo, hi = YAW_BINS[(index // (len(SIT_BACKS) * len(SIT_ACTIONS))) % len(YAW_BINS)]
    else:
        label = CLIP_CLASSES[index % len(CLIP_CLASSES)]
        lo, hi = YAW_BINS[(index // len(CLIP_CLASSES)) % len(YAW_BINS)]
    prop = PROPS[index % len(PROPS)] if kind != "s" else "none"
    u = rng.uniform
    body = Body(
        gender=round(rng.choice([u(0.0, 0.3), u(0.7, 1.0), u(0.3, 0.7)]), 3),
        weight=round(u(0.15, 0.95), 3), height=round(u(0.1, 0.9), 3), muscle=round(u(0.2, 0.8), 3),
        outfit=rng.choice(OUTFITS), shoes=rng.choice(SHOES), hair=rng.choice(HAIR),
        skin=rng.choice(SKINS), cloth_tint=_tint(rng))
    camera = Camera(yaw_deg=round(u(lo, hi), 1), side=rng.choice((1, -1)),
                    height_m=round(u(0.6, 2.3), 2), distance_m=round(u(2.2, 3.3), 2),
                    lens_mm=round(u(24, 38), 1),
                    aim_jitter=(round(u(-0.15, 0.15), 3), round(u(-0.1, 0.1), 3)))
    sharp = rng.random() < 0.4  # a share of clean pictures
    posture = _posture(rng, label, seed)
    extra: dict[str, Any] = {}
    if kind == "s":
        action = SIT_ACTIONS[(index // len(SIT_BACKS)) % len(SIT_ACTIONS)]
        posture, extra = _sit_down(rng, label, action)
    return Scene(
        index=index, name=f"{kind}{seed:02d}_{index:05d}_{label}_{prop}",
        posture=posture, body=body, camera=camera, prop=prop,
        load_carry=rng.choice(LOAD_CARRY), room=rng.choice(ROOMS),
        wall_rgb=(round(u(0.3, 0.85), 3), round(u(0.3, 0.8), 3), round(u(0.25, 0.75), 3)),
        floor_rgb=(round(u(0.15, 0.5), 3), round(u(0.12, 0.4), 3), round(u(0.08, 0.35), 3)),
        light_energy=round(u(250, 900), 0), exposure=round(u(-1.2, 0.0), 2),
        light_azimuth_deg=round(u(-120, 120), 1), sun_strength=round(u(0.3, 2.0), 2),
        noise_sigma=0.0 if sharp else round(u(1.0, 7.0), 2),
        blur_sigma_px=0.0 if sharp else round(rng.choice([0.0, u(0.4, 1.5)]), 2),
        motion_px=0.0 if sharp else round(rng.choice([0.0, 0.0, u(2.0, 7.0)]), 1),
        motion_deg=round(u(0, 180), 1),
        jpeg_quality=0 if sharp else rng.choice([0, 60, 75, 90]), extra=extra)


def batch(seed: int, count: int) -> list[Scene]:
    return [sample(seed, i) for i in range(count)]


# Clips of whole bends: standing, down to the sampled bottom, back up (symmetric), standing.
CLIP_CLASSES = ("hinge", "round", "squat")
# Frames a second of a clip, as a device analyses them ([analysis] rate_hz; 5 renders half
# the frames in half the time: set1, set2, set11c, set13c and set15c were made so),
# standing before and after the movement (s), and the movement from standing through the
# bottom back to standing (s).
CLIP_FPS = 10.0
CLIP_HOLD_S = 1.0
CLIP_MOVE_S = 2.8


def clip_depths(fps: float = CLIP_FPS, bottom_hold_s: float = 0.0) -> list[float]:
    """How far into the bend each frame is (0 = standing, 1 = the bottom), the bottom held
    still for `bottom_hold_s` more (weeding, a low cupboard: a squat held facing the camera
    is what a seat must not be taken for)."""
    hold = round(CLIP_HOLD_S * fps)
    move = 2 * round(CLIP_MOVE_S * fps / 2) + 1  # odd: one frame at the bottom
    swing = [math.sin(math.pi * k / (move - 1)) ** 2 for k in range(move)]
    mid = move // 2
    still = [1.0] * round(bottom_hold_s * fps)
    return [0.0] * hold + swing[:mid + 1] + still + swing[mid + 1:] + [0.0] * hold


def clip_bottom_s(fps: float = CLIP_FPS, bottom_hold_s: float = 0.0) -> tuple[float, float]:
    """When the bottom is first and last reached (s)."""
    depths = clip_depths(fps, bottom_hold_s)
    first = depths.index(1.0)
    return first / fps, (first + round(bottom_hold_s * fps)) / fps


def upright(label: str, lumbar_share: float) -> Posture:
    """Standing at ease: where a clip starts and ends."""
    return Posture(label, 3.0, 0.0, lumbar_share, 3.0, 0.0, 0.0, 0.0)


def posture_at(bottom: Posture, depth: float) -> Posture:
    """The posture `depth` of the way from upright to `bottom` (labels stay the bottom's)."""
    return blend(upright(bottom.label, bottom.lumbar_share), bottom, depth, bottom.label)


# Sitting into a chair and getting up again (kind "s"): the sit-down is a bend (a hinge into
# the chair, or the same with the back rounded), being seated is not, nor is standing up;
# leaning in to eat or read while seated is not; reaching to the floor from the chair is a
# seated bend. The stool's seat meets the hips at the seated posture's height.
SIT_BACKS = ("hinge", "round")
SIT_ACTIONS = ("none", "lean", "reach")
# Phases of a sit clip (s), with the frames' label: the bend's for the sit-down and a
# seated reach, `stand` (no bend) for the rest.
SIT_PHASES_S = (("stand", 1.0), ("sit_down", 2.2), ("seated", 2.0), ("action", 2.4),
                ("seated", 1.0), ("stand_up", 2.2), ("stand", 1.0))


def _sit_down(rng: random.Random, back: str, action: str) -> tuple[Posture, dict[str, Any]]:
    """The sit-down's deepest lean (the scene's posture), the seated posture and the seated
    action's deepest, as (posture, extra)."""
    u = rng.uniform
    knee, hip_back = u(85, 105), u(0.42, 0.52)  # thighs about level on the seat
    if back == "hinge":
        flex, lumbar = u(0, NEUTRAL_MAX_FLEX), u(0.3, 0.7)
    else:
        flex, lumbar = u(60, 100), u(0.2, 0.45)
    # Into a chair the trunk leans 35–50° as the hips go back and down (sit-to-stand studies
    # report peak trunk flexion around 40°): a shallower bend than a lift.
    lean = Posture(back, u(HINGE_MIN_TRUNK, 50), flex, lumbar, knee, hip_back,
                   u(*NECK_RANGE), u(*HEAD_RANGE))
    seated = Posture("stand", u(0, 12), u(0, 15), u(0.3, 0.7), knee, hip_back,
                     u(-10, 15), u(-10, 10))
    extra: dict[str, Any] = {"action": action, "seated": asdict(seated),
                             "backrest": rng.random() < 0.5}
    if action == "lean":  # to a plate or a book: the trunk 18–28°, no bend
        extra["action_posture"] = asdict(Posture("stand", u(18, 28), u(5, 20), u(0.3, 0.7),
                                                 knee, hip_back, u(0, 25), u(0, 20)))
    elif action == "reach":  # to the floor beside the feet: a seated bend, the same back
        extra["action_posture"] = asdict(Posture(back, u(60, 80), flex, lumbar, knee, hip_back,
                                                 u(*NECK_RANGE), u(*HEAD_RANGE)))
    return lean, extra


def blend(a: Posture, b: Posture, w: float, label: str) -> Posture:
    """`w` of the way from `a` to `b`, every angle mixed linearly, labelled `label`."""
    def mix(x: float, y: float) -> float:
        return x + w * (y - x)
    return Posture(label, mix(a.trunk_deg, b.trunk_deg), mix(a.spine_flex_deg, b.spine_flex_deg),
                   mix(a.lumbar_share, b.lumbar_share), mix(a.knee_deg, b.knee_deg),
                   mix(a.hip_back, b.hip_back), mix(a.neck_deg, b.neck_deg),
                   mix(a.head_deg, b.head_deg))


def sit_timeline(scene: Scene, fps: float = CLIP_FPS) -> list[tuple[str, Posture]]:
    """Each frame's phase and posture (its `label` the frame's truth) for a sit clip."""
    lean = scene.posture
    seated = Posture(**scene.extra["seated"])
    standing = upright("stand", lean.lumbar_share)
    action = scene.extra.get("action_posture")
    frames: list[tuple[str, Posture]] = []

    def ease(p: float) -> float:
        return math.sin(math.pi * p / 2) ** 2

    def descent(p: float, label: str) -> Posture:
        # Hips back and down to the seat along the ease; the trunk leans in on the way, most
        # just before the seat (p ≈ 0.6), and comes back up as the hips land.
        base = blend(standing, seated, ease(p), label)
        return blend(base, replace(lean, knee_deg=base.knee_deg, hip_back=base.hip_back),
                     math.sin(math.pi * p ** 1.3) ** 2, label)

    for phase, seconds in SIT_PHASES_S:
        n = round(seconds * fps)
        for k in range(n):
            p = k / max(1, n - 1)
            if phase == "stand":
                frames.append((phase, standing))
            elif phase == "seated" or (phase == "action" and action is None):
                frames.append(("seated", seated))
            elif phase == "sit_down":
                frames.append((phase, descent(p, lean.label)))
            elif phase == "stand_up":
                frames.append((phase, descent(1.0 - p, "stand")))
            else:
                target = Posture(**action)
                frames.append((scene.extra["action"], blend(
                    seated, target, math.sin(math.pi * p) ** 2, target.label)))
    return frames
