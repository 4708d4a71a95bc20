"""The edge agent: source → motion gate → pose → smoothing → bends → events → publisher.

It wires the stages and owns no analysis of its own: pacing (the analysis rate), the
retained state once a second, health, retrying a lost camera, and a clean stop (the bend
under way is finished and delivered, the outbox flushed) on SIGTERM.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge.analysis.analyzer import AnalyzedBend, BendAnalyzer
from edge.analysis.calibration import load_baseline
from edge.analysis.classifier import classify_picture
from edge.bend_events import to_event
from edge.capture.motion import MotionGate
from edge.capture.sources import open_source
from edge.config import Config
from edge.delivery.publisher import Publisher
from edge.delivery.state import AgentStatus, DeviceState, PostureNow
from edge.errors import HingewatchError, SourceError
from edge.events import Posture
from edge.habits import Habits
from edge.health import CpuMeter, soc_temperature_c
from edge.pose.engine import PoseEngine, create_engine
from edge.pose.landmarks import Pose
from edge.pose.smoothing import PoseSmoother
from edge.sdnotify import Notifier

log = logging.getLogger("hingewatch.agent")

STATE_INTERVAL_S = 1.0
# On stop, how long to wait for the broker to acknowledge what is left in the outbox.
DRAIN_TIMEOUT_S = 10.0


@dataclass
class Health:
    frames: int = 0
    analysed: int = 0
    pose_runs: int = 0
    dropped: int = 0
    bends: int = 0
    status: AgentStatus = "starting"
    fps: float = 0.0


class Agent:
    """`run(stop)` until `stop` is set (or, with `once`, until the source ends)."""

    def __init__(
        self,
        config: Config,
        publisher: Publisher,
        *,
        once: bool = False,
        engine: PoseEngine | None = None,
        notifier: Notifier | None = None,
        realtime: bool = False,
    ) -> None:
        self.config = config
        self.publisher = publisher
        self.once = once
        self.realtime = realtime
        self.simulated = config.camera.source == "synthetic"
        self.engine = engine
        self.notifier = notifier or Notifier()
        baseline = (load_baseline(Path(config.analysis.baseline_file).expanduser())
                    if config.analysis.baseline_file else None)
        self.analyzer = BendAnalyzer(config.zones, baseline)
        self.smoother = PoseSmoother()
        m = config.motion
        self.gate = MotionGate(m.pixel_threshold, m.min_changed_share, m.sleep_after_s, m.width)
        state_dir = Path(config.device.state_dir).expanduser()
        self.habits = Habits(state_dir / "habits.json")
        self.health = Health()
        self.cpu = CpuMeter()
        self._clock_origin = datetime.now(UTC)
        self.last_posture: Posture | None = None  # the latest bend delivered (None until one)
        self._last_state_s = 0.0
        self._fps_window: list[float] = []

    # -- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> int:
        self.publisher.start()
        self.notifier.ready(f"watching {self.config.camera.source}")
        retry_s = self.config.camera.retry_min_s
        while not stop.is_set():
            try:
                for t_s, pose in self._poses(stop):
                    self._handle(t_s, pose)
                    retry_s = self.config.camera.retry_min_s
                    if stop.is_set():
                        break
            except SourceError as exc:
                if self.once:
                    raise
                self.health.status = "degraded"
                log.error("%s; trying again in %.0f s", exc, retry_s)
                self._publish_state(force=True)
                self.notifier.status(f"degraded: {exc}")
                self._wait_alive(stop, retry_s)
                retry_s = min(retry_s * 2, self.config.camera.retry_max_s)
                continue
            if self.once:
                break
            # A file ended (the demo plays it again): its clock starts over at 0.
            for bend in self.analyzer.restart():
                self._deliver(bend)
            self.smoother.reset()
            if self.engine is not None:
                self.engine.reset()
        return self._finish()

    def _wait_alive(self, stop: threading.Event, seconds: float) -> None:
        """Wait, still pinging systemd's watchdog: retrying a camera is not hanging."""
        deadline = time.monotonic() + seconds
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.notifier.watchdog()
            stop.wait(min(left, 1.0))

    def _finish(self) -> int:
        self.health.status = "stopping"
        self.notifier.stopping()
        for bend in self.analyzer.finish():  # the bend under way, cut by the stop
            self._deliver(bend)
        self._publish_state(force=True)
        drained = self.publisher.wait_drained(DRAIN_TIMEOUT_S)
        if not drained:
            log.warning("%d event(s) wait in the outbox for the broker; they are kept for "
                        "the next start", self.publisher.outbox.depth)
        self.publisher.close()
        return 0

    def _poses(self, stop: threading.Event) -> Iterator[tuple[float, Pose | None]]:
        if self.simulated:
            from edge.synth.household import household_stream, zones_for

            def new_day(day: object) -> None:
                # The simulated person does each chore at a new spot: zones follow them.
                self.analyzer.zones = zones_for(day)  # type: ignore[arg-type]

            yield from household_stream(realtime=self.realtime, stop=stop, on_day=new_day)
            return
        if self.engine is None:
            p = self.config.pose
            self.engine = create_engine(p.engine, p.variant, p.threads, p.runtime,
                                        precision=p.precision)
        rate = self.config.analysis.rate_hz
        next_due = 0.0
        last_index = -1
        with open_source(self.config.camera.source) as source:
            self._clock_origin = datetime.now(UTC)
            started = time.monotonic()
            for frame in source:
                if self.realtime:  # a file played as if it were a camera
                    ahead = frame.t_s - (time.monotonic() - started)
                    if ahead > 0 and stop.wait(ahead):
                        return
                self.health.frames += 1
                if last_index >= 0 and frame.index > last_index + 1:
                    self.health.dropped += frame.index - last_index - 1
                last_index = frame.index
                if frame.t_s + 1e-9 < next_due:
                    continue  # between analysis ticks
                next_due = max(next_due + 1.0 / rate, frame.t_s)
                self.health.analysed += 1
                if self.config.motion.enabled and not self.gate.should_run(frame):
                    if self.health.status != "sleeping":
                        self.engine.reset()
                        self.health.status = "sleeping"
                    yield frame.t_s, self.smoother.smooth(None)
                    continue
                self.health.status = "ok"
                self.health.pose_runs += 1
                pose = self.smoother.smooth(self.engine.process(frame))
                self.gate.saw_person(frame.t_s, pose is not None)
                yield frame.t_s, pose

    def _handle(self, t_s: float, pose: Pose | None) -> None:
        if self.simulated:
            self.health.status = "ok"
            self.health.analysed += 1
        for bend in self.analyzer.update(t_s, pose):
            self._deliver(bend)
        now = time.monotonic()
        self._fps_window = [t for t in self._fps_window if now - t < 2.0] + [now]
        self.notifier.watchdog(now)
        self._publish_state()

    def _deliver(self, bend: AnalyzedBend) -> None:
        # Every bend is delivered, `unsure` ones too: they count as bends and time bent.
        posture = bend.verdict.posture
        if posture == "stand":  # a bend's verdict never is; this narrows the type
            return
        variant = getattr(self.engine, "variant", "full") if self.engine else "synthetic"
        event = to_event(bend, self.config.device.id, self._clock_origin,
                         model_name="synthetic" if self.simulated else "blazepose",
                         model_variant=variant, simulated=self.simulated)
        try:
            self.publisher.submit(event)
        except HingewatchError as exc:  # outbox full: said loudly, the agent goes on
            log.error("event %s not stored: %s", event.event_id, exc)
            return
        self.health.bends += 1
        self.last_posture = posture
        ended = datetime.now(UTC) if self.simulated else (
            self._clock_origin + timedelta(seconds=bend.bend.end_s))
        self.habits.add(ended.astimezone().date(), bend.verdict.posture)
        log.info("bend %s %.0f%% %s (%s)", bend.verdict.posture, 100 * bend.verdict.confidence,
                 ", ".join(bend.verdict.reasons) or "-", bend.activity)

    # -- state ---------------------------------------------------------------------------

    def posture_now(self) -> PostureNow | None:
        sample = self.analyzer.last_sample
        if sample is None:
            return None
        return classify_picture(sample).posture

    def state(self) -> DeviceState:
        today = datetime.now().astimezone().date()
        count, share = self.habits.today(today)
        fps = (len(self._fps_window) - 1) / max(self._fps_window[-1] - self._fps_window[0], 1e-6) \
            if len(self._fps_window) > 1 else 0.0
        engine = self.engine
        return DeviceState(
            status=self.health.status,
            dropped_frames=self.health.dropped,
            detector_share=(round(engine.detector_runs / engine.frames, 4)
                            if engine is not None and engine.frames else None),
            cpu_percent=self.cpu.read(),
            soc_temp_c=soc_temperature_c(),
            simulated=self.simulated,
            pose_precision=getattr(engine, "precision", None),
            device_id=self.config.device.id,
            person_present=self.analyzer.last_sample is not None,
            posture_now=self.posture_now(),
            fps=round(fps, 2),
            bends_today=count,
            hinge_share_today=share,
            hinge_share_7d=self.habits.week_share(today),
            last_posture=self.last_posture,
        )

    def _publish_state(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_state_s < STATE_INTERVAL_S:
            return
        self._last_state_s = now
        state = self.state()
        self.publisher.publish_state(state)
        temp = f", SoC {state.soc_temp_c:.0f} °C" if state.soc_temp_c is not None else ""
        self.notifier.status(f"{self.status_line()}, CPU {state.cpu_percent:.0f} %{temp}")

    def status_line(self) -> str:
        h = self.health
        share = self.engine.detector_runs / max(self.engine.frames, 1) if self.engine else 0.0
        return (f"{h.status}: {h.bends} bends, {h.analysed} frames analysed, pose on "
                f"{h.pose_runs}, detector {share:.0%}, {h.dropped} dropped")
