"""The outbox: order, bounds, the near-full warning, and nothing lost to a SIGKILL."""

from __future__ import annotations

import logging
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.delivery.outbox import NEAR_FULL_FRACTION, Outbox, OutboxError, OutboxFullError

ROOT = Path(__file__).resolve().parents[1]


def _fill(outbox: Outbox, ids: range, topic: str = "hingewatch/kitchen/event") -> None:
    for i in ids:
        assert outbox.add(f"E{i:04d}", topic, f"payload {i}".encode())


def test_events_come_back_in_insertion_order_and_leave_on_remove(tmp_path: Path) -> None:
    with Outbox(tmp_path / "outbox.sqlite3") as outbox:
        _fill(outbox, range(5))
        assert outbox.depth == 5
        entries = outbox.pending(10)
        assert [e.event_id for e in entries] == [f"E{i:04d}" for i in range(5)]
        assert entries[2].payload == b"payload 2"
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
        assert outbox.add("E1", "t", b"first") is True
        assert outbox.add("E1", "t", b"second") is False
        assert outbox.depth == 1
        assert outbox.pending(5)[0].payload == b"first"


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
            outbox.add("NEW", "t", b"x")
        assert str(info.value).startswith(f"outbox {path} is full (3 events): event NEW")
        assert outbox.add("E0001", "t", b"again") is False  # already stored: no error
        assert [e.event_id for e in outbox.pending(10)] == ["E0000", "E0001", "E0002"]
        outbox.remove("E0000")
        assert outbox.add("NEW", "t", b"x") is True


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
        Outbox(tmp_path / "o.sqlite3", max_events=max_events)  # type: ignore[arg-type]


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
    outbox.add(event_id, "hingewatch/kitchen/event", b"x" * 2000)
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
    for _ in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path), str(start)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.02, 0.3))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2:  # a line cut by the kill was not reported
                {"A": added, "D": removing, "R": removed}[parts[0]].add(parts[1])
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
