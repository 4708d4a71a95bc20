"""The live stream of a practice session: commands validated and counted, frames only
while a session is open, landmarks and the back line only; end to end through a real
Mosquitto."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from edge.analysis.analyzer import BendAnalyzer
from edge.analysis.bends import Sample
from edge.config import parse
from edge.delivery.discovery import discovery_topic
from edge.delivery.link import DeviceLink
from edge.delivery.live import (
    LIVE_SCHEMA_ID,
    LIVE_SCHEMA_PATH,
    MAX_COMMAND_BYTES,
    CommandError,
    LiveStream,
    PracticeCommand,
    live_frame,
    parse_command,
    validate_live,
)
from edge.delivery.mqtt_config import MqttConfig
from edge.delivery.topics import (
    cue_topic,
    live_topic,
    practice_cmd_topic,
    practice_topic,
)
from edge.pose.landmarks import Pose
from edge.practice.drills import DRILL_IDS
from edge.practice.hook import PracticeHook
from edge.practice.runner import PracticeRunner
from edge.practice.summary import parse_summary
from edge.synth import Camera, Motion, make_clip
from tests.mqtt_broker import Broker, Collector

FPS = 15.0
WAIT_S = 10.0


def _motion(kind: str, subtype: str, trunk: float, knee: float, lumbar: float = 0.0,
            thoracic: float = -5.0) -> Motion:
    return Motion(kind=kind, subtype=subtype, depth=1.0, down_s=1.0, hold_s=0.6,  # type: ignore[arg-type]  # kind and subtype names, checked by Motion
                  up_s=1.0, trunk_deg=trunk, knee_deg=knee, lumbar_deg=lumbar,
                  thoracic_deg=thoracic, neck_deg=0.0)


def _clip_poses(kind: str) -> list[tuple[float, Pose | None]]:
    m = (_motion("hinge", "hip_hinge", 70, 20) if kind == "hinge"
         else _motion("round", "lumbar", 70, 15, lumbar=45))
    clip = make_clip(np.random.default_rng(0), motions=[m],
                     camera=Camera.around(0.0, 0.0, 3.2, resolution_wh=(640, 480), fps=FPS))
    return [(i / clip.fps, p) for i, p in enumerate(clip.poses)]


def _deepest_sample(kind: str) -> Sample:
    analyzer = BendAnalyzer()
    bends = analyzer.run(_clip_poses(kind))
    assert len(bends) == 1
    return bends[0].bend.deepest


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


# -- commands -------------------------------------------------------------------------------

def test_valid_commands_parse() -> None:
    assert parse_command(b'{"drill":"wall_hinge","action":"start"}') == PracticeCommand(
        "start", "wall_hinge")
    assert parse_command(b'{"action":"stop"}') == PracticeCommand("stop", None)
    for drill in DRILL_IDS:
        assert parse_command(json.dumps({"drill": drill, "action": "start"}).encode()).drill \
            == drill


@pytest.mark.parametrize(("payload", "message"), [
    (b"", "not UTF-8 JSON"),
    (b"\xff\xfe{}", "not UTF-8 JSON"),
    (b'{"action": "start"', "not UTF-8 JSON"),
    (b"[]", "expected a JSON object"),
    (b'"start"', "expected a JSON object"),
    (b'{"action":"start","drill":"wall_hinge","x":1}', "unknown key 'x'"),
    (b'{"action":"dance","drill":"wall_hinge"}', "action: expected start or stop"),
    (b'{"action":["start"],"drill":"wall_hinge"}', "action"),
    (b'{"action":"start"}', "start needs a drill"),
    (b'{"action":"start","drill":"cartwheel"}', "drill: expected one of"),
    (b'{"action":"start","drill":{"$gt":""}}', "drill: expected one of"),
    (b'{"action":"start","drill":"wall_hinge\\n"}', "drill: expected one of"),
    (b'{"action":"stop","drill":"' + b"a" * 600 + b'"}', f"larger than {MAX_COMMAND_BYTES}"),
    (b"[" * 250 + b"]" * 250, "expected a JSON object"),
])
def test_hostile_commands_are_refused_with_a_reason(payload: bytes, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        parse_command(payload)


# -- the stream, without a broker ----------------------------------------------------------------

def test_frames_go_out_only_while_a_session_is_open_and_refusals_are_counted() -> None:
    sent: list[tuple[str, bytes]] = []
    clock = FakeClock()
    started: list[str] = []
    stopped: list[str] = []
    stream = LiveStream("kitchen", lambda t, p: sent.append((t, p)), clock=clock,
                        on_start=started.append, on_stop=stopped.append)
    sample = _deepest_sample("hinge")

    def tick(n: int) -> int:
        published = 0
        for _ in range(n):
            clock.t += 1 / FPS
            published += stream.frame(clock.t, sample)
        return published

    assert tick(10) == 0 and sent == []  # no session: nothing built or sent
    assert stream.command(b'{"drill":"dowel_hinge","action":"start"}') is not None
    assert stream.drill == "dowel_hinge" and started == ["dowel_hinge"]
    assert tick(15) == 15
    assert {t for t, _ in sent} == {live_topic("kitchen")}
    frames = [json.loads(p) for _, p in sent]
    assert [f["seq"] for f in frames] == list(range(1, 16))
    for f in frames:
        validate_live(f)
    # Faster than the rate cap: the extra frames are dropped.
    clock.t += 1.0
    assert stream.frame(clock.t, sample) and not stream.frame(clock.t + 0.001, sample)
    for bad in (b"nonsense", b'{"action":"start","drill":"nope"}', b"\x00" * 2000):
        assert stream.command(bad) is None
    assert stream.rejected == 3 and "larger than" in stream.last_rejection
    assert stream.drill == "dowel_hinge"  # a refused command changes nothing
    stream.command(b'{"action":"stop"}')
    assert stopped == ["dowel_hinge"] and stream.drill is None
    before = len(sent)
    assert tick(10) == 0 and len(sent) == before


def test_a_session_nobody_stops_closes_itself() -> None:
    clock = FakeClock()
    stopped: list[str] = []
    stream = LiveStream("kitchen", lambda t, p: None, clock=clock, on_stop=stopped.append,
                        max_session_s=60.0)
    stream.start("wall_hinge")
    clock.t += 30
    assert stream.frame(0.0, None)
    clock.t += 31
    assert not stream.frame(0.0, None)
    assert stream.drill is None and stopped == ["wall_hinge"]


def test_a_frame_carries_landmarks_and_the_back_line_never_pixels() -> None:
    straight = live_frame(1, 2.0, "dowel_hinge", _deepest_sample("hinge"))
    rounded = live_frame(2, 2.0, "dowel_hinge", _deepest_sample("round"))
    for frame in (straight, rounded):
        validate_live(frame)
        assert len(frame["skeleton"]) == 33 and frame["trunk_deg"] > 50
        assert len(frame["back"]["points"]) >= 5
        text = json.dumps(frame)
        assert "mask" not in text and len(text) < 4000  # landmarks only
    assert straight["back"]["straightness"] == "straight"
    assert rounded["back"]["straightness"] == "rounded"
    # The back points lie on the person: between the hips and the shoulders in the picture.
    xs = [p[0] for p in straight["back"]["points"]]
    sk = straight["skeleton"]
    lo, hi = sorted((sk[23][0], sk[11][0]))
    assert lo - 0.1 <= min(xs) and max(xs) <= hi + 0.1
    nobody = live_frame(3, 2.0, "dowel_hinge", None)
    validate_live(nobody)
    assert nobody["skeleton"] is None and nobody["back"] is None
    schema = json.loads(LIVE_SCHEMA_PATH.read_text())
    assert schema["$id"] == LIVE_SCHEMA_ID
    assert schema["properties"]["drill"]["enum"] == list(DRILL_IDS)


def test_topic_names_refuse_a_device_id_that_is_not_one() -> None:
    assert practice_cmd_topic("kitchen") == "hingewatch/kitchen/practice/cmd"
    assert practice_topic("kitchen") == "hingewatch/kitchen/practice"
    assert cue_topic("kitchen") == "hingewatch/kitchen/cue"
    for bad in ("a/b", "+", "#", "kitchen\n", "", "x" * 65):
        for topic in (practice_cmd_topic, practice_topic, live_topic, cue_topic):
            with pytest.raises(ValueError, match="device_id"):
                topic(bad)


# -- end to end through Mosquitto -----------------------------------------------------------------

@pytest.fixture
def link_and_runner(mosquitto: Broker) -> Iterator[tuple[DeviceLink, PracticeRunner]]:
    config = MqttConfig(host="127.0.0.1", port=mosquitto.port, device_id="kitchen")
    holder: list[PracticeRunner] = []
    link = DeviceLink(config, lambda payload: holder[0].command(payload))
    holder.append(PracticeRunner("kitchen", link.send))
    link.start()
    try:
        assert link.wait_ready(WAIT_S)
        yield link, holder[0]
    finally:
        link.close()


def _until(condition: Callable[[], object], timeout_s: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_start_streams_live_frames_stop_ends_them_with_a_summary(
        mosquitto: Broker, link_and_runner: tuple[DeviceLink, PracticeRunner]) -> None:
    link, runner = link_and_runner
    live, practice, cmd = live_topic("kitchen"), practice_topic("kitchen"), \
        practice_cmd_topic("kitchen")
    viewer = Collector(mosquitto.port, [live, practice], client_id="viewer", clean=True).start()
    try:
        analyzer = BendAnalyzer()
        poses = _clip_poses("hinge")

        def play(frames: list[tuple[float, Pose | None]]) -> int:
            sent = 0
            for t_s, pose in frames:
                for bend in analyzer.update(t_s, pose):
                    runner.bend(bend)
                sent += runner.frame(t_s, analyzer.last_sample)
                time.sleep(1 / FPS)  # paced like the camera (the rate cap is 30/s)
            return sent

        assert play(poses[:5]) == 0  # no session open: nothing sent
        viewer.client.publish(cmd, b'{"drill":"wall_hinge","action":"start"}', qos=1)
        assert _until(lambda: runner.stream.drill == "wall_hinge")
        sent = play(poses[5:])
        for bend in analyzer.finish():
            runner.bend(bend)
        assert sent == len(poses) - 5
        assert viewer.wait_for(lambda ms: sum(m.topic == live for m in ms) >= sent, WAIT_S)
        frames = [json.loads(m.payload) for m in viewer.on_topic(live)]
        assert not any(m.retain for m in viewer.on_topic(live))
        for f in frames:
            validate_live(f)
        assert [f["seq"] for f in frames] == list(range(1, sent + 1))  # none lost on loopback
        gaps = np.diff([f["t_s"] for f in frames])
        assert gaps.max() <= 0.1 + 1e-6  # ≥ 10 frames a second of the person's time
        assert any(f["back"] and f["back"]["straightness"] == "straight" for f in frames)

        viewer.client.publish(cmd, b'{"action":"stop"}', qos=1)
        assert _until(lambda: runner.stream.drill is None)
        assert viewer.wait_for(lambda ms: any(m.topic == practice for m in ms), WAIT_S)
        summary = parse_summary(viewer.on_topic(practice)[0].payload)
        assert summary["drill"] == "wall_hinge" and summary["reps"] == 1
        assert summary["rep_scores"][0]["posture"] == "hinge"
        last_seq = frames[-1]["seq"]
        # Stopped: frames are no longer sent; a marker after them proves none was in flight.
        assert play(poses[:10]) == 0
        link.send(practice, b"marker", qos=1)
        assert viewer.wait_for(lambda ms: any(m.payload == b"marker" for m in ms), WAIT_S)
        assert max(json.loads(m.payload)["seq"] for m in viewer.on_topic(live)) == last_seq
    finally:
        viewer.stop()


def test_a_malformed_command_is_counted_and_the_device_carries_on(
        mosquitto: Broker, link_and_runner: tuple[DeviceLink, PracticeRunner]) -> None:
    _, runner = link_and_runner
    cmd = practice_cmd_topic("kitchen")
    sender = Collector(mosquitto.port, [cue_topic("kitchen")], client_id="sender",
                       clean=True).start()
    try:
        for bad in (b"\xff", b'{"action":"dance","drill":"wall_hinge"}', b"[]",
                    b'{"action":"start","drill":"wall_hinge","pixels":true}'):
            sender.client.publish(cmd, bad, qos=1)
        assert _until(lambda: runner.stream.rejected == 4), runner.stream.rejected
        assert runner.stream.drill is None
        sender.client.publish(cmd, b'{"drill":"floor_lift","action":"start"}', qos=1)
        assert _until(lambda: runner.stream.drill == "floor_lift")
        runner.stream.stop()
    finally:
        sender.stop()


def test_the_agent_hook_streams_a_session_and_says_a_cue(mosquitto: Broker,
                                                         tmp_path: Path) -> None:
    config = parse({
        "device": {"id": "kitchen", "state_dir": str(tmp_path)},
        "mqtt": {"host": "127.0.0.1", "port": mosquitto.port},
        "cue": {"enabled": True, "rounded_bends": 2, "min_gap_min": 0.0,
                "quiet_start": "00:00", "quiet_end": "00:00"},
    }, "device.toml")
    noon = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    hook = PracticeHook(config, clock=lambda: noon)
    live, practice, cue = live_topic("kitchen"), practice_topic("kitchen"), cue_topic("kitchen")
    ha_cue = discovery_topic("event", "kitchen", "cue")
    viewer = Collector(mosquitto.port, [live, practice, cue, ha_cue], client_id="viewer",
                       clean=True).start()
    hook.start()
    try:
        assert hook.link.wait_ready(WAIT_S)
        assert viewer.wait_for(lambda ms: any(m.topic == ha_cue for m in ms), WAIT_S)
        viewer.client.publish(practice_cmd_topic("kitchen"),
                              b'{"drill":"dowel_hinge","action":"start"}', qos=1)
        assert _until(lambda: hook.runner.stream.drill == "dowel_hinge")
        # The whole back rounded, the pelvis tucked under: rounds said sure enough to cue.
        m = _motion("round", "lumbar", 70, 15, lumbar=45, thoracic=30)
        clip = make_clip(np.random.default_rng(1), motions=[m, m],
                         camera=Camera.around(0.0, 0.0, 3.2, resolution_wh=(640, 480), fps=FPS))
        analyzer = BendAnalyzer()
        for i, pose in enumerate(clip.poses):
            bends = analyzer.update(i / FPS, pose)
            hook.frame(i / FPS, analyzer.last_sample, bends)
            for b in bends:
                hook.delivered(b.verdict.posture, b.verdict.confidence)
            time.sleep(1 / 25)  # under the 30 frames/s cap
        for b in analyzer.finish():
            hook.frame(len(clip.poses) / FPS, None, [b])
            hook.delivered(b.verdict.posture, b.verdict.confidence)
        hook.close()  # stops the open session: its summary goes out first
        assert viewer.wait_for(lambda ms: any(m.topic == practice for m in ms), WAIT_S)
        summary = parse_summary(viewer.on_topic(practice)[0].payload)
        assert summary["reps"] == 2 and summary["good"] == 0
        assert all(r["cue"] == "keep the stick on your head, mid-back and tailbone"
                   for r in summary["rep_scores"])
        assert viewer.wait_for(lambda ms: any(m.topic == cue for m in ms), WAIT_S)
        said = json.loads(viewer.on_topic(cue)[0].payload)
        assert said["rounded_bends"] == 2 and said["words"] == config.cue.words
        frames = [json.loads(m.payload) for m in viewer.on_topic(live)]
        assert frames and any("rep" in f for f in frames)
    finally:
        viewer.stop()
        hook.link.close(0.0)
