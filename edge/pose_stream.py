"""The pose stream: the one way from any source to timed poses.

A frame source (the Pi camera, a webcam, a video, pictures) goes through the analysis
rate, the motion gate, the pose engine and the smoothing; a pose source (the synthetic
household) gives its poses as they are, through the same rate and pacing. The agent,
`analyze`/`eval`, `calibrate`, `pose` and the demo's history all read `TimedPose`s from a
`PoseStream`, and its `Health` says what it did.

It joins capture and pose (and opens the synthetic household, the one place in the
pipeline that imports it), so it sits beside the agent, not inside either folder.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType

from edge.analysis.zones import Zone
from edge.capture.frames import Frame, FrameSource
from edge.capture.motion import MotionGate
from edge.capture.sources import open_source
from edge.config import CameraConfig, MotionConfig
from edge.delivery.state import AgentStatus
from edge.health import RateMeter
from edge.pose.engine import PoseEngine
from edge.pose.landmarks import Pose
from edge.pose.smoothing import PoseSmoother

# Frame times closer than this to the next analysis tick count as on it (float rounding).
_TICK_SLACK_S = 1e-9


@dataclass(frozen=True)
class TimedPose:
    """One analysed moment: the person's pose (None: nobody seen) at `t_s` seconds."""

    t_s: float
    pose: Pose | None
    frame: Frame | None = None  # the picture it was read from (None from a pose source)
    zones: tuple[Zone, ...] | None = None  # the scene's own zones, when the source knows them


class PoseSource:
    """Base of the sources that give poses, not pixels (the synthetic household).

    Iterate for (t_s, pose); `zones` may change as the scene does."""

    name = "poses"
    simulated = False
    model: tuple[str, str] = ("recorded", "recorded")  # the event's model name and variant
    zones: tuple[Zone, ...] | None = None

    def __iter__(self) -> Iterator[tuple[float, Pose | None]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the source holds; safe to call twice."""


@dataclass
class Health:
    """What the stream did: frames delivered, analysed (the rate's share), given to the
    model (the motion gate's share), lost by the camera; poses a second."""

    frames: int = 0
    analysed: int = 0
    pose_runs: int = 0
    dropped: int = 0
    status: AgentStatus = "starting"
    rate: RateMeter = field(default_factory=RateMeter)

    @property
    def fps(self) -> float:
        return self.rate.rate


def still_pose(engine: PoseEngine, frame: Frame) -> Pose | None:
    """One picture on its own: the detector on, nothing tracked from the last one."""
    engine.reset()
    return engine.process(frame)


def detector_share(engine: PoseEngine | None) -> float | None:
    """The share of the model's frames on which the person detector ran."""
    if engine is None or not engine.frames:
        return None
    return engine.detector_runs / engine.frames


class PoseStream:
    """Iterate for `TimedPose`s; `with` closes the source.

    `engine` makes the pose engine when the first frame needs it (a pose source never
    does); `rate_hz` skips frames between analysis ticks; `gate` lets the model sleep on a
    still scene; `realtime` plays a file or the household at its own speed, as a camera
    would deliver it; `stop` ends the stream. Pictures (`source.stills`) are each read
    alone, unsmoothed. `health` may be shared by the streams a long run opens one by one.
    """

    def __init__(
        self,
        source: FrameSource | PoseSource,
        engine: Callable[[], PoseEngine] | None = None,
        *,
        rate_hz: float | None = None,
        gate: MotionGate | None = None,
        smooth: bool = True,
        realtime: bool = False,
        stop: threading.Event | None = None,
        max_frames: int | None = None,
        health: Health | None = None,
    ) -> None:
        if rate_hz is not None and rate_hz <= 0:
            raise ValueError(f"rate_hz: expected > 0, got {rate_hz}")
        self.source = source
        self._make_engine = engine
        self.engine: PoseEngine | None = None
        self.rate_hz = rate_hz
        self.gate = gate
        self.smoother = PoseSmoother() if smooth else None
        self.realtime = realtime
        self.stop = stop or threading.Event()
        self.max_frames = max_frames
        self.health = health or Health()
        # The wall-clock time of the stream's t = 0 (set when it starts).
        self.started_at = datetime.now(UTC)
        self._started_s = time.monotonic()
        self._next_due_s = 0.0

    @property
    def stills(self) -> bool:
        return isinstance(self.source, FrameSource) and self.source.stills

    @property
    def simulated(self) -> bool:
        return isinstance(self.source, PoseSource) and self.source.simulated

    @property
    def model(self) -> tuple[str, str]:
        """The name and variant of what made the poses, for the events."""
        if isinstance(self.source, PoseSource):
            return self.source.model
        engine = self._engine()
        return engine.name, str(getattr(engine, "variant", "full"))

    def __enter__(self) -> PoseStream:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.source.close()

    def __iter__(self) -> Iterator[TimedPose]:
        self.started_at = datetime.now(UTC)
        self._started_s = time.monotonic()
        self._next_due_s = 0.0
        timed = self._poses() if isinstance(self.source, PoseSource) else self._frames()
        for item in timed:
            self.health.rate.tick()
            yield item

    def _engine(self) -> PoseEngine:
        if self.engine is None:
            if self._make_engine is None:
                raise ValueError(f"{self.source.name}: frames need a pose engine")
            self.engine = self._make_engine()
        return self.engine

    def _due(self, t_s: float) -> bool | None:
        """Whether the moment at `t_s` is analysed: None once the stream must stop."""
        if self.realtime:
            ahead = t_s - (time.monotonic() - self._started_s)
            if ahead > 0 and self.stop.wait(ahead):
                return None
        elif self.stop.is_set():
            return None
        self.health.frames += 1
        if self.rate_hz is not None:
            if t_s + _TICK_SLACK_S < self._next_due_s:
                return False  # between analysis ticks
            self._next_due_s = max(self._next_due_s + 1.0 / self.rate_hz, t_s)
        self.health.analysed += 1
        return True

    def _poses(self) -> Iterator[TimedPose]:
        assert isinstance(self.source, PoseSource)
        for t_s, pose in self.source:
            due = self._due(t_s)
            if due is None:
                return
            if due:
                self.health.status = "ok"
                yield TimedPose(t_s, pose, zones=self.source.zones)

    def _frames(self) -> Iterator[TimedPose]:
        assert isinstance(self.source, FrameSource)
        engine = self._engine()
        engine.reset()  # a new timeline: nothing tracked over from an earlier one
        if self.smoother is not None:
            self.smoother.reset()
        last_index = -1
        for frame in self.source:
            if self.max_frames is not None and frame.index >= self.max_frames:
                return
            if last_index >= 0 and frame.index > last_index + 1:
                self.health.dropped += frame.index - last_index - 1
            last_index = frame.index
            due = self._due(frame.t_s)
            if due is None:
                return
            if due:
                yield TimedPose(frame.t_s, self._pose(engine, frame), frame)

    def _pose(self, engine: PoseEngine, frame: Frame) -> Pose | None:
        if self.stills:
            self.health.pose_runs += 1
            return still_pose(engine, frame)
        if self.gate is not None and not self.gate.should_run(frame):
            if self.health.status != "sleeping":
                engine.reset()
                self.health.status = "sleeping"
            return self._smooth(None)
        self.health.status = "ok"
        self.health.pose_runs += 1
        pose = self._smooth(engine.process(frame))
        if self.gate is not None:
            self.gate.saw_person(frame.t_s, pose is not None)
        return pose

    def _smooth(self, pose: Pose | None) -> Pose | None:
        return pose if self.smoother is None else self.smoother.smooth(pose)


def open_poses(camera: CameraConfig) -> FrameSource | PoseSource:
    """The source `[camera] source` names, asked for the configured size and rate:
    `synthetic` is the simulated household, anything else a frame source."""
    if camera.source == "synthetic":
        from edge.synth.household import HouseholdSource

        return HouseholdSource()
    return open_source(camera.source, size_wh=(camera.width, camera.height), fps=camera.fps)


def motion_gate(motion: MotionConfig) -> MotionGate | None:
    """The `[motion]` gate, or None when it is off."""
    if not motion.enabled:
        return None
    return MotionGate(motion.pixel_threshold, motion.min_changed_share, motion.sleep_after_s,
                      motion.width)
