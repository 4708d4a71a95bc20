"""The outbox: order, bounds, the near-full warning, and nothing lost to a SIGKILL."""

from __future__ import annotations

import json
import logging
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.delivery.outbox import (
    NEAR_FULL_FRACTION,
    EventRefusedError,
    Outbox,
    OutboxError,
    OutboxFullError,
)
from tests.conftest import ROOT

TOPIC = "hingewatch/kitchen/event"


def payload(event_id: str, device_id: str = "kitchen", **more: object) -> bytes:
    """The least the outbox takes: a JSON object naming the event and its device."""
    return json.dumps({"event_id": event_id, "device_id": device_id, **more}).encode()


def _fill(outbox: Outbox, ids: range, topic: str = TOPIC) -> None:
    for i in ids:
        event_id = f"E{i:04d}"
        assert outbox.add(event_id, topic, payload(event_id, n=i))


def test_events_come_back_in_insertion_order_and_leave_on_remove(tmp_path: Path) -> None:
    with Outbox(tmp_path / "outbox.sqlite3") as outbox:
        _fill(outbox, range(5))
        assert outbox.depth == 5
        entries = outbox.pending(10)
        assert [e.event_id for e in entries] == [f"E{i:04d}" for i in range(5)]
        assert json.loads(entries[2].payload)["n"] == 2
        assert entries[2].topic == "hingewatch/kitchen/event"
        assert [e.event_id for e in outbox.pending(2, after_seq=entries[1].seq)] == [
            "E0002", "E0003"]
        assert outbox.remove("E0001") is True
        assert outbox.remove("E0001") is False
        assert outbox.remove_many(["E0000", "E0003", "nope"]) == 2
        assert [e.event_id for e in outbox.pending(10)] == ["E0002", "E0004"]
        assert outbox.depth == 2


def test_adding_a_stored_event_again_is_harmless(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite3") as outbox:
        assert outbox.add("E1", TOPIC, payload("E1", n=1)) is True
        assert outbox.add("E1", TOPIC, payload("E1", n=2)) is False
        assert outbox.depth == 1
        assert json.loads(outbox.pending(5)[0].payload)["n"] == 1


def test_seq_never_repeats_after_the_outbox_empties(tmp_path: Path) -> None:
    # The publisher asks for "everything after the last seq I sent"; a reused seq would
    # hide new events from it.
    with Outbox(tmp_path / "o.sqlite3") as outbox:
        _fill(outbox, range(3))
        last = outbox.pending(10)[-1].seq
        outbox.remove_many(["E0000", "E0001", "E0002"])
        _fill(outbox, range(3, 5))
        assert [e.event_id for e in outbox.pending(10, after_seq=last)] == ["E0003", "E0004"]


def test_events_survive_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    with Outbox(path) as outbox:
        _fill(outbox, range(3))
    with Outbox(path) as outbox:
        assert outbox.depth == 3
        assert [e.event_id for e in outbox.pending(10)] == ["E0000", "E0001", "E0002"]


def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    with Outbox(path):
        mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_near_full_warns_once_and_clears(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    max_events = 20
    threshold = int(max_events * NEAR_FULL_FRACTION)
    with caplog.at_level(logging.INFO, logger="edge.delivery.outbox"), \
            Outbox(tmp_path / "o.sqlite3", max_events=max_events) as outbox:
        _fill(outbox, range(threshold - 1))
        assert not outbox.near_full
        _fill(outbox, range(threshold - 1, threshold + 1))
        assert outbox.near_full
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "90 % full (18 of 20 events)" in warnings[0].getMessage()
        outbox.remove_many(["E0000", "E0001", "E0002"])
        assert not outbox.near_full
        assert "below 90 % again" in caplog.records[-1].getMessage()


def test_a_full_outbox_refuses_the_new_event_and_keeps_the_old(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    with Outbox(path, max_events=3) as outbox:
        _fill(outbox, range(3))
        with pytest.raises(OutboxFullError) as info:
            outbox.add("NEW", TOPIC, payload("NEW"))
        assert str(info.value).startswith(f"outbox {path} is full (3 events): event NEW")
        assert outbox.add("E0001", TOPIC, payload("E0001")) is False  # stored: no error
        assert [e.event_id for e in outbox.pending(10)] == ["E0000", "E0001", "E0002"]
        outbox.remove("E0000")
        assert outbox.add("NEW", TOPIC, payload("NEW")) is True


@pytest.mark.parametrize(
    ("max_events", "message"),
    [
        (0, "max_events: expected an integer >= 1, got 0"),
        (-5, "max_events: expected an integer >= 1, got -5"),
        (2.5, "max_events: expected an integer >= 1, got 2.5"),
        (True, "max_events: expected an integer >= 1, got True"),
    ],
)
def test_bad_max_events_is_refused(tmp_path: Path, max_events: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        Outbox(tmp_path / "o.sqlite3", max_events=max_events)  # type: ignore[arg-type]  # a wrong type on purpose


def test_a_file_that_is_not_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    path.write_bytes(b"this is not a database, it is a shopping list" * 100)
    with pytest.raises(OutboxError, match=f"outbox {path}: cannot open it as SQLite"):
        Outbox(path)


_CHILD = """
import sys
from edge.delivery.outbox import Outbox
outbox = Outbox(sys.argv[1])
start = int(sys.argv[2])
print("ready", flush=True)
for i in range(start, start + 100000):
    event_id = f"E{i:07d}"
    outbox.add(event_id, "hingewatch/kitchen/event",
               ('{"event_id": "%s", "device_id": "kitchen", "pad": "%s"}'
                % (event_id, "x" * 2000)).encode())
    print("A", event_id, flush=True)
    if i % 2:
        previous = f"E{i - 1:07d}"
        print("D", previous, flush=True)  # about to remove: it may go before "R" shows
        outbox.remove(previous)
        print("R", previous, flush=True)
"""


def test_sigkill_at_any_moment_loses_nothing_committed(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    rng = random.Random(4)
    added: set[str] = set()
    removing: set[str] = set()
    removed: set[str] = set()
    start = 0

    def note(line: str) -> None:
        parts = line.split()
        if len(parts) == 2:  # a line cut by the kill was not reported
            {"A": added, "D": removing, "R": removed}[parts[0]].add(parts[1])

    for _ in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path), str(start)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        # Killed once it has added some events (counted, not timed: an emulated or busy
        # machine adds fewer a second), while it goes on writing: the kill lands anywhere.
        adds = rng.randint(10, 40)
        for _ in range(4 * adds):  # "A", and every other one "D" and "R"
            line = proc.stdout.readline()
            if not line:
                break
            note(line)
            if line.startswith("A ") and (adds := adds - 1) == 0:
                break
        time.sleep(rng.uniform(0.0, 0.05))
        proc.send_signal(signal.SIGKILL)
        # The rest through the same buffered reader (communicate() would skip what it holds);
        # a dead child's pipe ends at once.
        rest = proc.stdout.read()
        assert proc.wait(timeout=10) == -signal.SIGKILL
        for line in rest.splitlines():
            note(line)
        start += 100000
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in db.execute("SELECT event_id FROM outbox")}
        db.close()
        assert added - removing <= stored, "a committed event was lost"
        assert not (removed & stored), "a removed event came back"
    assert len(added) > 50  # the kills did land in the middle of real work
    with Outbox(path) as outbox:
        # An event whose removal committed just before a kill (its "R" line never printed)
        # is rightly gone: only those never being removed must all still be there.
        assert outbox.depth >= len(added - removing)


@pytest.mark.parametrize(
    ("topic", "body", "message"),
    [
        ("hingewatch/kitchen\n/event", None, "not an event topic"),
        ("hingewatch/kitchen/state", None, "not an event topic"),
        ("hingewatch/nursery/event", None, "belongs to device 'kitchen'"),
        (TOPIC, b"not json", "not UTF-8 JSON"),
        (TOPIC, b"\xff\xfe{}", "not UTF-8 JSON"),
        (TOPIC, b"[1, 2]", "JSON object with this event_id"),
        (TOPIC, payload("ANOTHER"), "JSON object with this event_id"),
        (TOPIC, payload("E1", device_id="nursery"), "JSON object with this event_id"),
        (TOPIC, payload("E1", pad="x" * 300_000), "more than 262144"),
    ],
    ids=["newline-topic", "state-topic", "other-device", "not-json", "not-utf8", "array",
         "other-event-id", "other-device-id", "too-large"],
)
def test_what_no_broker_would_take_never_enters(tmp_path: Path, topic: str,
                                                body: bytes | None, message: str) -> None:
    with Outbox(tmp_path / "o.sqlite3", device_id="kitchen") as outbox:
        with pytest.raises(EventRefusedError, match=message):
            outbox.add("E1", topic, payload("E1") if body is None else body)
        assert outbox.depth == 0 and outbox.pending(10) == []


def test_an_outbox_belongs_to_one_device(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    with Outbox(path, device_id="kitchen") as outbox:
        _fill(outbox, range(2))
    with pytest.raises(OutboxError, match="belongs to device 'kitchen', not 'bar'"):
        Outbox(path, device_id="bar")
    with Outbox(path, device_id="kitchen") as outbox:
        assert outbox.depth == 2


def test_an_older_shared_outbox_sets_other_devices_events_aside(tmp_path: Path) -> None:
    # Before outboxes had an owner, `edge --once` runs of every device shared one file,
    # and a device id with a newline left events no broker takes.
    path = tmp_path / "o.sqlite3"
    with Outbox(path) as outbox:
        _fill(outbox, range(2))
    db = sqlite3.connect(path)
    db.execute("INSERT INTO outbox (event_id, topic, payload, added_at_s) VALUES (?, ?, ?, 0)",
               ("BAD", "hingewatch/kitchen\n/event", payload("BAD", "kitchen\n")))
    db.commit()
    db.close()
    with Outbox(path, device_id="kitchen") as outbox:
        assert [e.event_id for e in outbox.pending(10)] == ["E0000", "E0001"]
        assert outbox.depth == 2 and outbox.dead_count == 1
        assert outbox.dead_letters() == [("BAD", "hingewatch/kitchen\n/event",
                                          "not an event of device 'kitchen'")]


def test_set_aside_events_are_kept_counted_and_retried_on_request(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    with Outbox(path, device_id="kitchen") as outbox:
        _fill(outbox, range(3))
        assert outbox.set_aside("E0000", "the broker refused it: Not authorized") is True
        assert outbox.set_aside("E0000", "again") is False
        assert (outbox.depth, outbox.dead_count) == (2, 1)
        assert [e.event_id for e in outbox.pending(10)] == ["E0001", "E0002"]
    with Outbox(path, device_id="kitchen") as outbox:  # across a restart
        assert (outbox.depth, outbox.dead_count) == (2, 1)
        assert outbox.retry_dead() == 1
        assert (outbox.depth, outbox.dead_count) == (3, 0)
        assert [e.event_id for e in outbox.pending(10)] == ["E0001", "E0002", "E0000"]


def test_each_device_has_its_own_outbox_by_default(tmp_path: Path) -> None:
    from edge.config import outbox_path, parse

    def path_for(device: str) -> Path:
        return outbox_path(parse({"device": {"id": device, "state_dir": str(tmp_path)}}))

    assert path_for("kitchen") == tmp_path / "outbox-kitchen.sqlite3"
    assert path_for("bar") != path_for("kitchen")
    given = parse({"mqtt": {"outbox_path": str(tmp_path / "mine.sqlite3")}})
    assert outbox_path(given) == tmp_path / "mine.sqlite3"


def _hingewatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_the_set_aside_events_are_shown_and_retried_on_request(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    with Outbox(path, device_id="kitchen") as outbox:
        _fill(outbox, range(3))
        outbox.set_aside("E0001", "the broker refused it: Not authorized")
    config = tmp_path / "hingewatch.toml"
    config.write_text('[device]\nid = "kitchen"\n')
    shown = _hingewatch("outbox", "show", "--config", str(config), "--outbox", str(path))
    assert shown.returncode == 0, shown.stderr
    assert "2 event(s) wait, 1 set aside" in shown.stdout
    assert "E0001" in shown.stdout and "Not authorized" in shown.stdout
    retried = _hingewatch("outbox", "retry", "--config", str(config), "--outbox", str(path))
    assert retried.returncode == 0, retried.stderr
    assert "1 set-aside event(s) queued again; 3 wait" in retried.stdout
    with Outbox(path) as outbox:
        assert (outbox.depth, outbox.dead_count) == (3, 0)
    other = _hingewatch("outbox", "show", "--config", str(config), "--outbox", str(path),
                        "--device-id", "bar")
    assert other.returncode == 2 and "belongs to device 'kitchen'" in other.stderr
