"""The bend segmenter: a stream of per-frame kinematics in, whole bends out.

A bend starts when the trunk tilts forward or the hips lower past an entry threshold and
ends when both are back under lower exit thresholds (hysteresis), lasts a minimum time,
and swallows short gaps. The thresholds follow the ergonomic bands: trunk flexion beyond
20° is where ISO 11226 and REBA start counting a posture as bent, beyond 60° as severe.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from edge.analysis.backline import BackLine
from edge.analysis.kinematics import Kinematics
from edge.pose.landmarks import Joint, Pose

# Entering a bend: trunk forward of this (degrees). Raising it ignores shallow reaches.
TRUNK_ENTRY_DEG = 30.0
# Leaving it: trunk back under this. The 10° gap stops jitter from splitting a bend.
TRUNK_EXIT_DEG = 20.0
# Entering by lowering: hips this share of leg length below a straight-legged stand
# (about 45° at hip and knee). Raising it ignores half-squats.
LOWERING_ENTRY = 0.15
LOWERING_EXIT = 0.08
# Shorter than this is a twitch or a mis-detection, not a bend.
MIN_DURATION_S = 0.5
# Two bends closer than this are one bend with a pause (a hand re-grips the basket).
MERGE_GAP_S = 0.6
# Inside a bend, the person may vanish this long (occlusion) before the bend is closed.
MAX_MISSING_S = 1.0
# Seen from the front the trunk's tilt is foreshortened and noisy (a head bent over a book
# reads as ~25°): a bend starts only past this tilt or by lowering. Lowering it finds
# shallower front-on bends and more false ones.
TRUNK_ENTRY_FRONT_DEG = 45.0
# ... and a bend seen so ends under this tilt: above the ~25° an upright person reads
# head-on, or whoever stays upright after a bend — reading, seated facing the camera (a
# rendered seat read 24–27° throughout) — stays "bent" until they leave.
TRUNK_EXIT_FRONT_DEG = 30.0
# Seated is a state, not a bend: hips lowered at least SEATED_MIN_LOWERING, knees bent past
# SEATED_MIN_KNEE_DEG, the trunk within SEATED_MAX_TRUNK_DEG of vertical, and the hips far
# enough behind the ankles that the body's centre of mass is behind the heels, which only a
# seat can hold: with the trunk upright (≤ 20°) that is SEATED_MIN_SHIFT of leg length (a
# balanced squat keeps the hips ~0.1–0.2 behind), and SEATED_SHIFT_PER_DEG more for each
# degree the trunk leans beyond, as its weight moves forward. The hips must also be still
# (their height varying less than SEATED_STILL_LOWERING) for SEATED_HOLD_S. The sit-down
# ends where the stillness began; standing up is not a bend; leaning forward past
# SEATED_LEAN_ENTRY_DEG while seated is a seated bend. A chair seat puts the hips ~0.4–0.5
# of leg length down, but BlazePose's world landmarks shorten a seated body's thighs: the
# rendered sit clips (set19s, set20s, set23s) read seated people 0.17–0.62 down seen from
# the side or obliquely (0.17–0.18 at 37–53° of yaw: under 0.2, such a seat stayed one
# long "bend"), while standing reads under 0.10 in 95 % of frames, hence 0.15; the
# rendered squats' bottoms that pass the rest of the test pass as often at 0.1 as at 0.25
# (14 of 228): the seat's other signs tell it from a squat, not this floor.
SEATED_MIN_LOWERING = 0.15
SEATED_MIN_KNEE_DEG = 60.0
SEATED_MAX_TRUNK_DEG = 35.0
SEATED_MIN_SHIFT = 0.22
SEATED_SHIFT_PER_DEG = 0.009
SEATED_STILL_LOWERING = 0.05
SEATED_HOLD_S = 1.0
SEATED_LEAN_ENTRY_DEG = 45.0
# Seen from the front the world landmarks place the hips in depth worst: a still seated body
# in the rendered sit clips read 0.06–0.5 of leg length behind the heels and, from one frame
# to the next, 0.19–0.30 down with the knees at 55–86°, so a seat facing the camera could
# fail the test above for its whole spell and stay one long "bend" (hours of time bent, in
# front of a table or a sofa). There the seat is told by what a frontal picture shows well:
# the hips still in the picture — moving within SEATED_STILL_IMAGE of the trunk's picture
# length (~10 cm: a still seated body moved at most 0.06 of it over 2 s, leaning in to eat
# 0.11–0.15, which a seat holds as well) — for SEATED_HOLD_FRONT_S, with the seated
# posture's lowering, knees and upright trunk as that spell's medians. Three times a
# side-on seat's hold: a squat to pick something up is over sooner, a seat lasts minutes.
# Of the hips behind the heels only the side is asked, as that spell's median: at least
# SEATED_MIN_SHIFT_FRONT, not in front of them. The seats facing the camera read 0.01–0.6
# behind; squats held 5 s facing the camera (weeding, a low cupboard; rendered, set25h)
# read 0.14–0.48 in front, the body's weight over the feet, and without this were seats
# from their bottom on: a 6-s squat reported as 0.3 s and a sit-down.
SEATED_STILL_IMAGE = 0.2
SEATED_HOLD_FRONT_S = 3.0
SEATED_MIN_SHIFT_FRONT = 0.0
# Getting up from a chair takes 1–2 s (sit-to-stand); a forward lean until the person has
# stood upright is the rise's, for at most this long: bent past it, they are bending again.
RISE_MAX_S = 3.0
# An open bend holds its frames (each pose with its mask, or what makes it: ~0.3–0.5 MB)
# until it ends, and a kneel in the garden lasts minutes. Past this many frames it holds
# one frame in two, then one in four, …, evenly over the bend (the latest and the deepest
# always): the bend keeps its span and shape at a coarser time step, and memory stays
# bounded (about 20 s of frames at 15 fps).
MAX_HELD_SAMPLES = 300


@dataclass(frozen=True)
class Sample:
    """One analysed frame inside a bend."""

    pose: Pose
    kin: Kinematics
    back: BackLine | None


def tilt_deg(kin: Kinematics) -> float:
    """The trunk's forward tilt as a bend is told by it. Seen from the front, its size
    whichever way the model put it: depth is what a frontal picture shows least, and the
    model may put a deep fold's shoulders behind the hips (rendered folds at 76–87° of yaw
    read 31–47° leaning back), while nobody stands leaning back that far."""
    tilt = kin.trunk_inclination_deg
    return abs(tilt) if kin.view == "front" else tilt


def depth_of(kin: Kinematics) -> float:
    """How bent a frame is, 0 upright … ~1 deep, whichever way the bend goes."""
    return max(tilt_deg(kin) / 90.0, kin.lowering_norm / 0.4)


def is_bent(kin: Kinematics) -> bool:
    entry = TRUNK_ENTRY_FRONT_DEG if kin.view == "front" else TRUNK_ENTRY_DEG
    return tilt_deg(kin) >= entry or kin.lowering_norm >= LOWERING_ENTRY


def is_seated_pose(kin: Kinematics) -> bool:
    """Hips at seat height, knees bent, trunk near upright (stillness is checked apart)."""
    return (kin.lowering_norm >= SEATED_MIN_LOWERING
            and kin.knee_flexion_deg >= SEATED_MIN_KNEE_DEG
            and kin.trunk_inclination_deg <= SEATED_MAX_TRUNK_DEG
            and kin.hip_shift_norm >= SEATED_MIN_SHIFT
            + SEATED_SHIFT_PER_DEG * max(0.0, kin.trunk_inclination_deg - 20.0))


def is_upright(kin: Kinematics) -> bool:
    exit_deg = TRUNK_EXIT_FRONT_DEG if kin.view == "front" else TRUNK_EXIT_DEG
    return tilt_deg(kin) < exit_deg and kin.lowering_norm < LOWERING_EXIT


@dataclass(frozen=True)
class Bend:
    """A whole bend: its frames from start to end, and whether the clip cut it."""

    samples: tuple[Sample, ...]
    cut_at_start: bool = False
    cut_at_end: bool = False
    # `ends_seated`: the bend is a sit-down (it ended with the person seated); `seated`: a
    # lean forward made while seated.
    ends_seated: bool = False
    seated: bool = False

    @property
    def start_s(self) -> float:
        return self.samples[0].kin.t_s

    @property
    def end_s(self) -> float:
        return self.samples[-1].kin.t_s

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def deepest(self) -> Sample:
        return max(self.samples, key=lambda s: depth_of(s.kin))


@dataclass
class _Open:
    samples: list[Sample] = field(default_factory=list)
    cut_at_start: bool = False
    last_bent_s: float = 0.0
    last_seen_s: float = 0.0
    seated: bool = False
    # Holding a long bend thinly (MAX_HELD_SAMPLES): each held sample's frame number since
    # the bend opened, the frames seen, the step frames are held at, the deepest frame and
    # the last bent one (by number: the bend ends there).
    numbers: list[int] = field(default_factory=lambda: [0])
    seen: int = 1
    stride: int = 1
    deepest: tuple[float, int] = (-math.inf, 0)
    last_bent: int = 0

    def __post_init__(self) -> None:
        depth = depth_of(self.samples[0].kin) if self.samples else math.nan
        if depth == depth:  # (not a NaN)
            self.deepest = (depth, 0)

    def hold(self, t_s: float, sample: Sample) -> None:
        """Add the latest frame (before `bent` says whether it is bent). The one two back,
        now known to be inside the bend or not, stays only on the stride, as the deepest or
        as the last bent frame (where the bend will end); past MAX_HELD_SAMPLES the stride
        doubles."""
        self.samples.append(sample)
        self.numbers.append(self.seen)
        depth = depth_of(sample.kin)
        if depth > self.deepest[0]:  # (never a NaN)
            self.deepest = (depth, self.seen)
        self.seen += 1
        self.last_seen_s = t_s
        if len(self.samples) > 3 and not self._kept(len(self.samples) - 3):
            del self.samples[-3], self.numbers[-3]
        if len(self.samples) > MAX_HELD_SAMPLES:
            self.stride *= 2
            last = len(self.samples) - 1
            kept = [i for i in range(len(self.samples)) if i >= last - 1 or self._kept(i)]
            self.samples = [self.samples[i] for i in kept]
            self.numbers = [self.numbers[i] for i in kept]

    def bent(self, t_s: float) -> None:
        """The latest frame held is bent: the bend lasts at least until it."""
        self.last_bent_s, self.last_bent = t_s, self.numbers[-1]

    def _kept(self, i: int) -> bool:
        n = self.numbers[i]
        return n % self.stride == 0 or n in (self.deepest[1], self.last_bent)


class _Stillness:
    """Whether the body has sat: held a seated pose, hips still, for SEATED_HOLD_S; seen
    from the front, by the picture for SEATED_HOLD_FRONT_S (see there)."""

    def __init__(self) -> None:
        # (t_s, lowering) of the seated-pose frames since the hips came to rest: at most
        # SEATED_HOLD_S of frames, as the segmenter stops asking once the person sits.
        self.window: deque[tuple[float, float]] = deque()
        # (t_s, hip x, hip y, trunk length — picture px —, lowering, knee, trunk, shift) of the
        # front-view frames since the hips came to rest, the last SEATED_HOLD_FRONT_S.
        self.front: deque[tuple[float, float, float, float, float, float, float, float]] = deque()

    def clear(self) -> None:
        self.window.clear()
        self.front.clear()

    def update(self, sample: Sample) -> float | None:
        """The time the stillness began, once it has lasted long enough; else None."""
        seen_side_on = self._seated(sample.kin)
        seen_front_on = self._seated_front(sample)
        return seen_side_on if seen_side_on is not None else seen_front_on

    def _seated(self, kin: Kinematics) -> float | None:
        if not is_seated_pose(kin):
            self.window.clear()
            return None
        self.window.append((kin.t_s, kin.lowering_norm))
        # The hips must be still: drop frames from the front until the rest agree.
        while (max(w[1] for w in self.window) - min(w[1] for w in self.window)
               > SEATED_STILL_LOWERING):
            self.window.popleft()
        if self.window[-1][0] - self.window[0][0] >= SEATED_HOLD_S:
            return self.window[0][0]
        return None

    def _seated_front(self, sample: Sample) -> float | None:
        kin, front = sample.kin, self.front
        if kin.view != "front":
            front.clear()
            return None
        xy = sample.pose.xy_px
        hip = (xy[Joint.LEFT_HIP] + xy[Joint.RIGHT_HIP]) / 2.0
        shoulder = (xy[Joint.LEFT_SHOULDER] + xy[Joint.RIGHT_SHOULDER]) / 2.0
        front.append((kin.t_s, float(hip[0]), float(hip[1]),
                      math.hypot(*(shoulder - hip)), kin.lowering_norm,
                      kin.knee_flexion_deg, kin.trunk_inclination_deg, kin.hip_shift_norm))
        # Still in the picture: drop frames from the front until the hips agree.
        while len(front) > 1:
            reach = SEATED_STILL_IMAGE * min(f[3] for f in front)
            if (max(f[1] for f in front) - min(f[1] for f in front) <= reach
                    and max(f[2] for f in front) - min(f[2] for f in front) <= reach):
                break
            front.popleft()
        while len(front) > 1 and front[-1][0] - front[1][0] >= SEATED_HOLD_FRONT_S:
            front.popleft()  # only the last SEATED_HOLD_FRONT_S is asked about
        if front[-1][0] - front[0][0] < SEATED_HOLD_FRONT_S:
            return None
        _, _, _, _, lowering, knee, trunk, shift = np.median(np.array(front), axis=0)
        # (NaN medians — legs unseen — compare False: not seated.)
        if (lowering >= SEATED_MIN_LOWERING and knee >= SEATED_MIN_KNEE_DEG
                and trunk <= SEATED_MAX_TRUNK_DEG and shift >= SEATED_MIN_SHIFT_FRONT):
            return front[0][0]
        return None


class BendSegmenter:
    """`update(sample)` per frame (None when nobody is seen); returns finished bends."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._open: _Open | None = None
        self._held: Bend | None = None  # finished, waiting MERGE_GAP_S for a follow-on
        self._first_frame = True
        self._seated = False
        # When the person got up from a seat, until they stand upright (at most RISE_MAX_S):
        # a forward lean meanwhile is the rise's own.
        self._rising_since: float | None = None
        self._stillness = _Stillness()

    @property
    def seated(self) -> bool:
        return self._seated

    def update(self, t_s: float, sample: Sample | None) -> list[Bend]:
        out: list[Bend] = []
        first = self._first_frame
        self._first_frame = False
        # A held bend waits for a follow-on; while one is open it may still merge with it.
        if self._held is not None and self._open is None and t_s - self._held.end_s > MERGE_GAP_S:
            out += self._release_held()
        if sample is None:
            if self._open is not None and t_s - self._open.last_seen_s > MAX_MISSING_S:
                out += self._close(cut=False)
                self._seated = False
            self._stillness.clear()
            return out
        kin = sample.kin
        if self._seated:
            return out + self._update_seated(sample)
        still_since = self._stillness.update(sample)
        if self._rising_since is not None:
            # The rise from a chair ends with the body upright: the hips reach standing
            # height first and the trunk comes up after (the rendered sit clips read the
            # rise's lean at 20–35° as the hips pass it), and that lean is no new bend.
            # Sat back down instead: seated again.
            if is_upright(kin) or t_s - self._rising_since > RISE_MAX_S:
                self._rising_since = None
            else:
                if still_since is not None:
                    self._sit()
                return out
        if self._open is None:
            if is_bent(kin):
                self._open = _Open([sample], cut_at_start=first, last_bent_s=t_s, last_seen_s=t_s)
            return out
        self._open.hold(t_s, sample)
        if still_since is not None:
            # Sat down: the bend ends where the stillness began.
            self._open.last_bent_s = max(self._open.samples[0].kin.t_s, still_since)
            self._sit()
            return out + self._close(cut=False, ends_seated=True)
        if not is_upright(kin):
            self._open.bent(t_s)
            return out
        out += self._close(cut=False)
        return out

    def _update_seated(self, sample: Sample) -> list[Bend]:
        """While seated: stood up (no bend), or a lean forward (a seated bend)."""
        kin, t_s = sample.kin, sample.kin.t_s
        # Folded far forward over the knees (reaching to the floor from the seat) the model
        # reads the hips near standing height (a rendered reach head-on: 0.00–0.08 down, the
        # trunk at 73–99°), while a rise passes standing height with the trunk at 20–35°: a
        # seated bend under way past its entry lean is not taken for standing up.
        folded = self._open is not None and kin.trunk_inclination_deg >= SEATED_LEAN_ENTRY_DEG
        if kin.lowering_norm < LOWERING_EXIT and not folded:
            return self._get_up(t_s)  # standing again
        if self._open is None:
            if kin.trunk_inclination_deg >= SEATED_LEAN_ENTRY_DEG:
                self._open = _Open([sample], last_bent_s=t_s, last_seen_s=t_s, seated=True)
            return []
        self._open.hold(t_s, sample)
        if kin.trunk_inclination_deg >= TRUNK_EXIT_DEG:
            self._open.bent(t_s)
            return []
        if kin.lowering_norm < SEATED_MIN_LOWERING:
            return self._get_up(t_s)  # upright again with the hips off the seat
        return self._close(cut=False)

    def _sit(self) -> None:
        self._seated, self._rising_since = True, None
        self._stillness.clear()  # not asked again until the person stands

    def _get_up(self, t_s: float) -> list[Bend]:
        """Off the seat: a lean under way was the rise itself, not a bend, and none opens
        until the person has stood upright."""
        self._seated, self._rising_since, self._open = False, t_s, None
        return []

    def finish(self) -> list[Bend]:
        """The clip ended: report what is held and the bend still under way."""
        out = self._close(cut=True) if self._open is not None else []
        return out + self._release_held()

    def _close(self, cut: bool, ends_seated: bool = False) -> list[Bend]:
        assert self._open is not None
        opened, self._open = self._open, None
        samples = [s for s in opened.samples if s.kin.t_s <= opened.last_bent_s] or opened.samples
        bend = Bend(tuple(samples), opened.cut_at_start, cut, ends_seated, opened.seated)
        if (self._held is not None and not opened.seated
                and bend.start_s - self._held.end_s <= MERGE_GAP_S):
            bend = Bend(self._held.samples + bend.samples, self._held.cut_at_start, cut,
                        ends_seated)
            self._held = None
        out = self._release_held()
        if cut:
            return out + ([bend] if self._long_enough(bend) else [])
        self._held = bend
        return out

    def _release_held(self) -> list[Bend]:
        held, self._held = self._held, None
        return [held] if held is not None and self._long_enough(held) else []

    @staticmethod
    def _long_enough(bend: Bend) -> bool:
        # A bend cut by the clip's edges is reported even when short: it went on outside.
        # So is a sit-down, however briefly its lean was seen: the seat held still after it
        # confirms it (seen from the front it shows only as the hips come down: a rendered
        # sit-down read 0.4 s).
        return (bend.duration_s >= MIN_DURATION_S or bend.cut_at_start or bend.cut_at_end
                or bend.ends_seated)
