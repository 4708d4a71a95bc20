"""The edge agent: pose stream → bends → events → publisher.

It wires the stages and owns no analysis of its own: the pose stream (edge.pose_stream)
paces the source and runs the motion gate, the model and the smoothing; the agent adds the
retained state once a second, retrying a lost camera, and a clean stop (the bend under way
is finished and delivered, the outbox flushed) on SIGTERM.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from pathlib import Path

from edge.adjustment import AdjustmentError, parse_adjustment
from edge.analysis.analyzer import AnalyzedBend, BendAnalyzer
from edge.analysis.calibration import load_baseline
from edge.bend_events import to_event
from edge.config import Config
from edge.delivery.publisher import Publisher
from edge.delivery.state import DeviceState, PostureNow
from edge.errors import HingewatchError, SourceError
from edge.events import Posture
from edge.habits import Habits
from edge.health import CpuMeter, soc_temperature_c
from edge.pose.engine import PoseEngine, create_engine
from edge.pose_stream import (
    Health,
    PoseStream,
    TimedPose,
    detector_share,
    motion_gate,
    open_poses,
)
from edge.practice.hook import PracticeHook
from edge.sdnotify import Notifier

log = logging.getLogger("hingewatch.agent")

STATE_INTERVAL_S = 1.0
# On stop, how long to wait for the broker to acknowledge what is left in the outbox.
DRAIN_TIMEOUT_S = 10.0
# In the state folder: the standing baseline learned as it runs, and the habit counts.
BASELINE_FILE = "baseline.json"
HABITS_FILE = "habits.json"


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
        self.config, self.publisher, self.engine = config, publisher, engine
        self.once, self.realtime = once, realtime
        self.notifier = notifier or Notifier()
        state_dir = Path(config.device.state_dir).expanduser()
        fixed = config.analysis.baseline_file
        self.analyzer = BendAnalyzer(
            config.zones, load_baseline(Path(fixed).expanduser()) if fixed else None,
            learned_file=state_dir / BASELINE_FILE)
        self.habits = Habits(state_dir / HABITS_FILE)
        self.health = Health()  # shared by every stream the agent opens
        self.stream: PoseStream | None = None
        self.cpu = CpuMeter()
        self.bends = 0
        self.last_posture: Posture | None = None  # the latest bend delivered (None until one)
        self._last_state_s = 0.0
        # Practice sessions, the live stream, the everyday cue, and the cut-offs a reviewer
        # accepted for this device.
        self.practice = PracticeHook(config, on_adjust=self._adjust)
        self.adjustments_refused = 0

    # -- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> int:
        self.publisher.start()
        self.practice.start()
        self.notifier.ready(f"watching {self.config.camera.source}")
        retry_s = self.config.camera.retry_min_s
        while not stop.is_set():
            try:
                with self._open(stop) as stream:
                    self.stream = stream
                    for timed in stream:
                        self._handle(timed)
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
            # A file ended (the demo plays it again): the next stream's clock starts at 0.
            for bend in self.analyzer.restart():
                self._deliver(bend)
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
        self.practice.close()
        drained = self.publisher.wait_drained(DRAIN_TIMEOUT_S)
        if not drained:
            log.warning("%d event(s) wait in the outbox for the broker; they are kept for "
                        "the next start", self.publisher.outbox.depth)
        self.publisher.close()
        return 0

    def _open(self, stop: threading.Event) -> PoseStream:
        """A stream from the configured source: a new timeline, the same engine."""
        return PoseStream(open_poses(self.config.camera), self._engine,
                          rate_hz=self.config.analysis.rate_hz,
                          gate=motion_gate(self.config.motion), realtime=self.realtime,
                          stop=stop, health=self.health)

    def _engine(self) -> PoseEngine:
        if self.engine is None:  # made once, the first time a source has frames
            p = self.config.pose
            self.engine = create_engine(p.engine, p.variant, p.threads, p.runtime,
                                        precision=p.precision)
        return self.engine

    def _handle(self, timed: TimedPose) -> None:
        bends = self.analyzer.update(timed.t_s, timed.pose, timed.zones)
        for bend in bends:
            self._deliver(bend)
        self.practice.frame(timed.t_s, self.analyzer.last_sample, bends)
        self.notifier.watchdog()
        self._publish_state()

    def _deliver(self, bend: AnalyzedBend) -> None:
        # Every bend is delivered, `unsure` ones too: they count as bends and time bent.
        stream = self.stream
        assert stream is not None  # bends come only from a stream
        name, variant = stream.model
        event = to_event(bend, self.config.device.id, stream.started_at, model_name=name,
                         model_variant=variant, simulated=stream.simulated)
        try:
            self.publisher.submit(event)
        except HingewatchError as exc:  # outbox full: said loudly, the agent goes on
            log.error("event %s not stored: %s", event.event_id, exc)
            return
        self.bends += 1
        self.last_posture = event.posture
        self.practice.delivered(event.posture, event.confidence)
        ended = datetime.fromisoformat(event.ended_at)
        self.habits.add(ended.astimezone().date(), event.posture)
        log.info("bend %s %.0f%% %s (%s)", event.posture, 100 * event.confidence,
                 ", ".join(event.reasons) or "-", event.activity)

    def _adjust(self, payload: bytes) -> None:
        """A reviewer's accepted cut-offs (or, empty, the defaults) for this device's
        verdicts from now on; anything else is refused, counted and logged."""
        try:
            cuts = parse_adjustment(payload)
        except AdjustmentError as exc:
            self.adjustments_refused += 1
            log.warning("adjustment refused (%d so far): %s", self.adjustments_refused, exc)
            return
        self.analyzer.cuts = cuts
        log.info("classifier cut-offs: %s", "defaults" if cuts.is_default else cuts)

    # -- state ---------------------------------------------------------------------------

    def posture_now(self) -> PostureNow | None:
        return self.analyzer.posture_now()

    def state(self) -> DeviceState:
        today = datetime.now().astimezone().date()
        count, share = self.habits.today(today)
        detectors = detector_share(self.engine)
        return DeviceState(
            status=self.health.status,
            dropped_frames=self.health.dropped,
            detector_share=None if detectors is None else round(detectors, 4),
            cpu_percent=self.cpu.read(),
            soc_temp_c=soc_temperature_c(),
            simulated=self.stream is not None and self.stream.simulated,
            pose_precision=getattr(self.engine, "precision", None),
            device_id=self.config.device.id,
            person_present=self.analyzer.last_sample is not None,
            posture_now=self.posture_now(),
            fps=round(self.health.fps, 2),
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
        share = detector_share(self.engine) or 0.0
        return (f"{h.status}: {self.bends} bends, {h.analysed} frames analysed, pose on "
                f"{h.pose_runs}, detector {share:.0%}, {h.dropped} dropped")
