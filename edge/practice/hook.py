"""What the edge agent adds for practice and the everyday cue, behind four calls:

    hook = PracticeHook(config)          # in Agent.__init__
    hook.start()                         # in Agent.run, after the publisher starts
    hook.frame(t_s, analyzer.last_sample, bends)   # per analysed frame, with its bends
    hook.delivered(posture, confidence)  # per bend delivered (the cue counts sure rounds)
    hook.close()                         # in Agent._finish

It owns the second MQTT connection (edge.delivery.link): practice commands in, live
frames, practice summaries and cues out. Nothing here runs when no session is open and
the cue is off, apart from that connection listening for a command.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from edge.analysis.analyzer import AnalyzedBend
from edge.analysis.bends import Sample
from edge.config import Config
from edge.delivery.cue import CueTrigger, local_now
from edge.delivery.discovery import discovery_messages, discovery_topic
from edge.delivery.link import DeviceLink
from edge.delivery.topics import cue_topic
from edge.practice.runner import PracticeRunner

log = logging.getLogger(__name__)


class PracticeHook:
    def __init__(self, config: Config, *, clock: Callable[[], datetime] = local_now,
                 environ: dict[str, str] | None = None,
                 on_adjust: Callable[[bytes], object] | None = None) -> None:
        self.device_id = config.device.id
        # The cue's Home Assistant entity, when the cue is on (the publisher sends the rest
        # of the discovery; retained, so a restarted Home Assistant finds it on the broker).
        discovery = ([(m.topic, m.payload) for m in discovery_messages(self.device_id, cue=True)
                      if m.topic == discovery_topic("event", self.device_id, "cue")]
                     if config.cue.enabled and config.mqtt.ha_discovery else [])
        self.link = DeviceLink(config.mqtt, self._command, environ, retained=discovery,
                               on_adjust=on_adjust)
        self.runner = PracticeRunner(self.device_id, self.link.send)
        state = Path(config.device.state_dir).expanduser() / f"cue-{self.device_id}.json"
        self.cue = CueTrigger(config.cue, clock, state if config.cue.enabled else None)

    def _command(self, payload: bytes) -> object:
        return self.runner.command(payload)

    def start(self) -> None:
        self.link.start()

    def frame(self, t_s: float, sample: Sample | None, bends: Sequence[AnalyzedBend]) -> None:
        for bend in bends:
            self.runner.bend(bend)
        self.runner.frame(t_s, sample)

    def delivered(self, posture: str, confidence: float) -> None:
        cue = self.cue.bend(posture, confidence)
        if cue is not None:
            self.link.send(cue_topic(self.device_id), cue.to_json(self.device_id), qos=1)
            log.info("cue %d today: %s", cue.of_day, cue.words)

    def close(self) -> None:
        self.runner.stream.stop()  # an open session's summary goes out before the link closes
        self.link.close()
