"""The everyday cue: off by default, N rounded bends said sure enough within M minutes,
rate-limited, quiet hours, a daily cap that survives a restart; its config, schema and Home
Assistant entity. Time comes from an injected clock, never the wall."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest

from edge.config import ConfigError, CueConfig, parse
from edge.delivery.cue import CUE_SCHEMA_ID, CUE_SCHEMA_PATH, CueTrigger, in_quiet_hours
from edge.delivery.discovery import discovery_messages, discovery_topic
from edge.delivery.link import DeviceLink
from edge.delivery.mqtt_config import MqttConfig
from edge.delivery.topics import cue_topic
from edge.events import ACT_ON_CONFIDENCE
from tests.mqtt_broker import Broker, Collector

TZ = timezone(timedelta(hours=1))  # the household's local time
SCHEMA = json.loads(CUE_SCHEMA_PATH.read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def _on(**kw: object) -> CueConfig:
    settings: dict[str, object] = dict(enabled=True, rounded_bends=3, window_min=10.0,
                                       min_gap_min=60.0, max_per_day=3, quiet_start="21:00",
                                       quiet_end="08:00")
    settings.update(kw)
    return CueConfig(**settings)  # type: ignore[arg-type]  # test values (wrong ones on purpose), checked by the table


# A rounded back said as surely as the classifier says a clear one.
SURE = 0.9


def _rounds(trigger: CueTrigger, clock: Clock, n: int, every_min: float = 1.0,
            confidence: float = SURE) -> list:
    cues = []
    for _ in range(n):
        clock.advance(minutes=every_min)
        cue = trigger.bend("round", confidence)
        if cue is not None:
            cues.append(cue)
    return cues


def test_off_by_default() -> None:
    assert CueConfig().enabled is False
    clock = Clock(datetime(2026, 12, 5, 10, 0, tzinfo=TZ))
    assert _rounds(CueTrigger(CueConfig(), clock), clock, 20) == []


def test_n_rounded_bends_within_m_minutes_make_one_cue() -> None:
    clock = Clock(datetime(2026, 12, 5, 10, 0, tzinfo=TZ))
    trigger = CueTrigger(_on(), clock)
    for posture in ("hinge", "squat", "unsure") * 3:  # only rounded backs count
        assert trigger.bend(posture, SURE) is None
    assert _rounds(trigger, clock, 2) == []
    cues = _rounds(trigger, clock, 1)
    assert len(cues) == 1 and cues[0].rounded_bends == 3 and cues[0].of_day == 1
    data = cues[0].to_dict("kitchen")
    VALIDATOR.validate(data)
    assert data["words"] == CueConfig().words and data["at"] == "2026-12-05T09:03:00.000Z"


def test_only_rounded_backs_said_sure_enough_to_act_on_count() -> None:
    # A round read from weak evidence (the hips alone, a hump a backpack makes too) is said
    # at most WEAK_ROUND_MAX_CONFIDENCE, under the bar: however many, no cue.
    from edge.analysis.classifier import WEAK_ROUND_MAX_CONFIDENCE

    assert CueConfig().min_confidence == ACT_ON_CONFIDENCE > WEAK_ROUND_MAX_CONFIDENCE
    clock = Clock(datetime(2026, 12, 5, 10, 0, tzinfo=TZ))
    trigger = CueTrigger(_on(), clock)
    assert _rounds(trigger, clock, 9, confidence=WEAK_ROUND_MAX_CONFIDENCE) == []
    assert _rounds(trigger, clock, 2, confidence=ACT_ON_CONFIDENCE) == []  # 2 of 3 sure
    assert _rounds(trigger, clock, 3, confidence=float("nan")) == []  # no confidence at all
    cues = _rounds(trigger, clock, 1, confidence=ACT_ON_CONFIDENCE)
    assert len(cues) == 1 and cues[0].rounded_bends == 3
    # A household that wants every round counted says so.
    lenient = CueTrigger(_on(min_confidence=0.0), clock)
    clock.advance(hours=2)
    assert len(_rounds(lenient, clock, 3, confidence=0.3)) == 1


def test_rounded_bends_spread_wider_than_the_window_make_none() -> None:
    clock = Clock(datetime(2026, 12, 5, 10, 0, tzinfo=TZ))
    trigger = CueTrigger(_on(min_gap_min=0.0), clock)
    assert _rounds(trigger, clock, 10, every_min=5.1) == []  # never 3 within 10 minutes


def test_rate_limit_at_least_min_gap_between_cues() -> None:
    clock = Clock(datetime(2026, 12, 5, 10, 0, tzinfo=TZ))
    trigger = CueTrigger(_on(min_gap_min=60.0, max_per_day=10), clock)
    assert len(_rounds(trigger, clock, 3)) == 1  # 10:03
    # Rounded bends keep coming: nothing until an hour after the first cue.
    assert _rounds(trigger, clock, 56) == []  # to 10:59
    clock.advance(minutes=3)
    assert trigger.bend("round", SURE) is None  # 11:02: 59 minutes after the cue
    clock.advance(minutes=1)
    cue = trigger.bend("round", SURE)  # 11:03, an hour after, rounded bends within the window
    assert cue is not None and cue.of_day == 2


@pytest.mark.parametrize(("hhmm", "quiet"), [
    ("20:59", False), ("21:00", True), ("23:30", True), ("00:00", True), ("07:59", True),
    ("08:00", False), ("12:00", False),
])
def test_quiet_hours_across_midnight(hhmm: str, quiet: bool) -> None:
    h, m = map(int, hhmm.split(":"))
    assert in_quiet_hours(datetime(2026, 12, 5, h, m, tzinfo=TZ), "21:00", "08:00") is quiet


def test_quiet_hours_within_a_day_and_none_when_equal() -> None:
    noon = datetime(2026, 12, 5, 12, 30, tzinfo=TZ)
    assert in_quiet_hours(noon, "12:00", "14:00")
    assert not in_quiet_hours(noon + timedelta(hours=2), "12:00", "14:00")
    assert not in_quiet_hours(noon, "00:00", "00:00")


def test_no_cue_in_the_quiet_hours_and_one_after_them() -> None:
    clock = Clock(datetime(2026, 12, 5, 22, 0, tzinfo=TZ))
    trigger = CueTrigger(_on(min_gap_min=0.0), clock)
    assert _rounds(trigger, clock, 12) == []  # 22:01-22:12, quiet
    clock.now = datetime(2026, 12, 6, 7, 50, tzinfo=TZ)
    assert _rounds(trigger, clock, 9) == []  # to 07:59, still quiet
    cues = _rounds(trigger, clock, 1)  # 08:00
    assert len(cues) == 1 and cues[0].at.hour == 8


def test_never_more_than_the_daily_cap_and_a_new_day_starts_over() -> None:
    clock = Clock(datetime(2026, 12, 5, 9, 0, tzinfo=TZ))
    trigger = CueTrigger(_on(min_gap_min=0.0, max_per_day=2), clock)
    cues = _rounds(trigger, clock, 30)  # 30 rounded bends in half an hour
    assert [c.of_day for c in cues] == [1, 2]
    assert trigger.sent_today == 2
    clock.now = datetime(2026, 12, 6, 9, 0, tzinfo=TZ)
    assert trigger.sent_today == 0
    assert [c.of_day for c in _rounds(trigger, clock, 3)] == [1]


def test_the_daily_cap_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "cue.json"
    clock = Clock(datetime(2026, 12, 5, 9, 0, tzinfo=TZ))
    config = _on(min_gap_min=30.0, max_per_day=2)
    assert len(_rounds(CueTrigger(config, clock, state), clock, 3)) == 1
    clock.advance(minutes=40)
    assert len(_rounds(CueTrigger(config, clock, state), clock, 3)) == 1  # restarted: 2nd
    clock.advance(minutes=40)
    restarted = CueTrigger(config, clock, state)
    assert restarted.sent_today == 2 and _rounds(restarted, clock, 10) == []
    # Restarted within the gap: the rate limit holds too.
    clock.now = datetime(2026, 12, 6, 9, 0, tzinfo=TZ)
    fresh = CueTrigger(config, clock, state)
    assert len(_rounds(fresh, clock, 3)) == 1
    clock.advance(minutes=1)
    assert _rounds(CueTrigger(config, clock, state), clock, 3) == []


def test_a_broken_state_file_starts_the_count_over(tmp_path: Path) -> None:
    state = tmp_path / "cue.json"
    state.write_text("{not json")
    clock = Clock(datetime(2026, 12, 5, 9, 0, tzinfo=TZ))
    assert len(_rounds(CueTrigger(_on(), clock, state), clock, 3)) == 1
    assert json.loads(state.read_text())["count"] == 1


@pytest.mark.parametrize(("toml", "message"), [
    ("[cue]\nquiet_start = '25:00'\n", "[cue]: quiet_start: expected a time of day"),
    ("[cue]\nquiet_end = '7:00'\n", "[cue]: quiet_end: expected a time of day"),
    ("[cue]\nmax_per_day = 0\n", "[cue]: max_per_day: expected 1-100"),
    ("[cue]\nmin_confidence = 80\n", "[cue]: min_confidence: expected 0-1"),
    ("[cue]\nrounded_bends = 'three'\n", "[cue]: rounded_bends: expected a whole number"),
    ("[cue]\nwords = ''\n", "[cue]: words: expected 1-200 characters"),
    ("[cue]\nloud = true\n", "[cue]: unknown key 'loud'"),
])
def test_a_wrong_cue_setting_names_the_file_and_key(toml: str, message: str) -> None:
    import tomllib

    with pytest.raises(ConfigError, match=re.escape(f"device.toml: {message}")):
        parse(tomllib.loads(toml), "device.toml")


def test_the_cue_table_parses() -> None:
    import tomllib

    from edge.config import EXAMPLE_PATH

    config = parse(tomllib.loads("[cue]\nenabled = true\nwindow_min = 5\n"), "d.toml")
    assert config.cue.enabled and config.cue.window_min == 5.0
    assert parse(tomllib.loads(EXAMPLE_PATH.read_text()), "example").cue == CueConfig()


def test_home_assistant_gets_the_cue_as_an_event_entity_when_it_is_on() -> None:
    assert not any("/cue/" in m.topic for m in discovery_messages("kitchen"))
    configs = {m.topic: json.loads(m.payload) for m in discovery_messages("kitchen", cue=True)}
    entity = configs[discovery_topic("event", "kitchen", "cue")]
    assert entity["state_topic"] == cue_topic("kitchen")
    assert entity["event_types"] == ["cue"]
    assert "'event_type': 'cue'" in entity["value_template"]
    fields = set(re.findall(r"value_json\.(\w+)", entity["value_template"]))
    assert "words" in fields and fields <= set(SCHEMA["properties"])
    assert len({c["unique_id"] for c in configs.values()}) == len(configs) == 6
    assert SCHEMA["$id"] == CUE_SCHEMA_ID


def test_a_cue_reaches_a_subscriber_through_mosquitto(mosquitto: Broker) -> None:
    topic = cue_topic("kitchen")
    listener = Collector(mosquitto.port, [topic], client_id="speaker", clean=True).start()
    link = DeviceLink(MqttConfig(host="127.0.0.1", port=mosquitto.port, device_id="kitchen"),
                      lambda payload: None).start()
    try:
        assert link.wait_ready(10.0)
        clock = Clock(datetime(2026, 12, 5, 10, 0, tzinfo=TZ))
        cues = _rounds(CueTrigger(_on(), clock), clock, 3)
        assert len(cues) == 1
        link.send(topic, cues[0].to_json("kitchen"), qos=1)
        assert listener.wait_for(lambda ms: len(ms) == 1, 10.0)
        message = listener.snapshot()[0]
        assert not message.retain
        VALIDATOR.validate(json.loads(message.payload))
    finally:
        link.close()
        listener.stop()
