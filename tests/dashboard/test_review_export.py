"""Reviewed bends exported by the dashboard (`hingewatch dashboard export-reviews`) and
read back by `hingewatch eval --reviews`: the device measured on its own household's bends,
landmarks and readings only."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.cli import main as dashboard_main
from dashboard.ingest.messages import classify
from dashboard.settings import Settings
from dashboard.store.writer import Writer
from edge.cli import main
from edge.review_export import REVIEW_SCHEMA_ID, check_review
from tests.dashboard.conftest import store_args
from tests.dashboard.factory import make_event

NOW = "2026-12-05T10:00:00.000Z"


def seed(db: Path | str) -> list[tuple[str, str, str]]:
    """Ten bends, eight reviewed: (event_id, device verdict, label)."""
    writer = Writer(db, "UTC")
    rng = random.Random(3)
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    said = ["hinge", "hinge", "round", "round", "squat", "squat", "hinge", "round", "hinge",
            "squat"]
    labels = ["hinge", "round", "round", "hinge", "squat", "not_a_bend", "hinge", "round",
              None, None]
    events = [make_event(p, start + timedelta(minutes=i), frames=6, rng=rng)
              for i, p in enumerate(said)]
    zone = __import__("zoneinfo").ZoneInfo("UTC")
    writer.write_batch([classify(f"hingewatch/{e.device_id}/event", e.to_json().encode(), zone,
                                 NOW) for e in events], NOW)
    out = []
    for e, label in zip(events, labels, strict=True):
        if label is not None:
            assert writer.review(e.event_id, label, "", "anna", NOW)
            out.append((e.event_id, e.posture, label))
    writer.close()
    return out


def test_export_then_eval_measures_the_device_on_its_reviews(
        tmp_path: Path, dash_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    db, out = dash_settings.store, tmp_path / "reviews.jsonl"
    reviewed = seed(db)
    assert dashboard_main(["dashboard", "export-reviews", str(out),
                           *store_args(dash_settings)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(d["event_id"], d["posture"], d["label"]) for d in lines] == reviewed
    for d in lines:
        check_review(d)
        assert d["schema"] == REVIEW_SCHEMA_ID and d["reviewer"] == "anna"
        assert len(d["trace"]["frames"]) == 6 and len(d["trace"]["skeleton"]) == 33
        assert not {"image", "pixels", "frame_png"} & set(d)  # landmarks only
    capsys.readouterr()
    assert main(["eval", "--reviews", str(out)]) == 0
    figures = json.loads(capsys.readouterr().out)
    right = sum(said == label for _, said, label in reviewed)
    assert figures["items_labelled"] == 8
    assert figures["accuracy"] == pytest.approx(right / 8, abs=1e-4)
    assert figures["confusion"]["round"]["hinge"] == 1  # labelled round, said hinge


def test_bad_review_files_are_one_line_and_exit_code_2(
        tmp_path: Path, dash_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    db, out = dash_settings.store, tmp_path / "reviews.jsonl"
    seed(db)
    assert dashboard_main(["dashboard", "export-reviews", str(out),
                           *store_args(dash_settings)]) == 0
    good = out.read_text().splitlines()
    bad = json.loads(good[0])
    bad["label"] = "slouch"
    cases = {
        "missing.jsonl": None,
        "notjson.jsonl": good[0] + "\n{oops\n",
        "label.jsonl": good[0] + "\n" + json.dumps(bad) + "\n",
    }
    for name, text in cases.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        capsys.readouterr()
        assert main(["eval", "--reviews", str(path)]) == 2, name
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(path) in err[0], err
    assert "label.jsonl:2: label: expected one of" in err[0]
    assert dashboard_main(["dashboard", "export-reviews", str(out),
                           "--db", str(tmp_path / "none.db")]) == 2
