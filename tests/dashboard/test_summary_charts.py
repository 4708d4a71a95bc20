"""Week arithmetic, streaks, REBA bands, plain words, and the SVG charts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from dashboard.ergonomics import reba_trunk_score
from dashboard.errors import WeekError
from dashboard.store.summary import (
    DaySummary,
    IsoWeek,
    PostureCounts,
    Streak,
    WeekPoint,
    WeekSummary,
    streaks,
)
from dashboard.web import charts
from dashboard.web.deps import ago, duration_words
from dashboard.web.pages import week_charts
from dashboard.web.words import REASON_WORDS
from edge.events import REASONS, UNSURE_REASONS, hinge_share

pytestmark = pytest.mark.storeless


@pytest.mark.parametrize(("text", "first", "last"), [
    ("2026-W48", date(2026, 11, 23), date(2026, 11, 29)),
    ("2026-W01", date(2025, 12, 29), date(2026, 1, 4)),
    ("2026-W53", date(2026, 12, 28), date(2027, 1, 3)),
])
def test_iso_weeks(text: str, first: date, last: date) -> None:
    week = IsoWeek.parse(text)
    assert (week.first_day, week.last_day, str(week)) == (first, last, text)
    assert week.shifted(1).shifted(-1) == week
    assert IsoWeek.of(last) == week


@pytest.mark.parametrize("text", ["2025-W53", "2026-W00", "2026-W54", "2026-48", "W48", ""])
def test_impossible_weeks_are_refused(text: str) -> None:
    with pytest.raises(WeekError):
        IsoWeek.parse(text)


def test_hinge_share_leaves_squats_out() -> None:
    assert PostureCounts(hinge=3, round=1, squat=10).hinge_share == 0.75
    assert PostureCounts(squat=4).hinge_share is None
    assert PostureCounts(hinge=1).plus("not_a_bend", 2).bends == 1


def test_hinge_share_leaves_unsure_bends_out_but_counts_them_as_bends() -> None:
    counts = PostureCounts(hinge=3, round=1).plus("unsure", 5)
    assert (counts.unsure, counts.bends, counts.hinge_share) == (5, 9, 0.75)
    assert counts.hinge_share == hinge_share(3, 1)  # the edge's one definition
    assert PostureCounts(unsure=2).hinge_share is None
    assert PostureCounts().plus("stand", 3) == PostureCounts()  # no posture of a bend


def test_the_week_chart_has_a_grey_unsure_band() -> None:
    day = DaySummary(date(2026, 11, 23), PostureCounts(hinge=1, unsure=2))
    week = IsoWeek.parse("2026-W48")
    summary = WeekSummary(
        week=week, device_id=None, goal=0.7, days=(day,), activities=(),
        totals=day.counts, deep_s=0.0, bent_s=0.0, simulated=0, reba=(0, 0, 0, 0),
        trend=(WeekPoint(week, day.counts),), best_streak=Streak(), current_streak=Streak())
    root = _svg(week_charts(summary)["chart_per_day"])
    assert [r.get("class") for r in root.findall("rect")].count("c-unsure") == 2  # bar, key
    assert "2 Unsure" in (root.findtext("desc") or "")


@pytest.mark.parametrize(("days", "best", "current"), [
    ([], 0, 0),
    ([("2026-11-01", 8, 2), ("2026-11-02", 9, 1), ("2026-11-03", 1, 9)], 2, 0),
    # a day without hinge or round bends neither breaks nor extends the run
    ([("2026-11-01", 8, 2), ("2026-11-02", 0, 0), ("2026-11-04", 7, 3)], 2, 2),
    ([("2026-11-01", 1, 9), ("2026-11-02", 7, 3)], 1, 1),
])
def test_streaks(days: list[tuple[str, int, int]], best: int, current: int) -> None:
    got_best, got_current = streaks(days, goal=0.7)
    assert (got_best.days, got_current.days) == (best, current)
    assert isinstance(got_best, Streak)


@pytest.mark.parametrize(("deg", "score"), [
    (0, 1), (4.9, 1), (-4.9, 1), (5, 2), (20, 2), (20.1, 3), (60, 3), (60.1, 4), (120, 4),
    (-10, 2), (-20, 2), (-25, 3),
])
def test_reba_trunk_score(deg: float, score: int) -> None:
    assert reba_trunk_score(deg) == score


def test_every_reason_has_plain_words() -> None:
    assert set(REASON_WORDS) == set(REASONS)
    assert REASON_WORDS["lumbar_rounding"].startswith("Lower back rounded")
    # Why a bend is unsure, in words that say what to change.
    assert REASON_WORDS["front_view"].startswith("We could not see the back: turn the camera")
    assert "(a bag, a child, a hood)" in REASON_WORDS["back_hidden"]
    assert set(UNSURE_REASONS) <= set(REASON_WORDS)


@pytest.mark.parametrize(("seconds", "words"), [
    (3.25, "3.2 s"), (42, "42 s"), (95, "1 min 35 s"), (600, "10 min"), (3720, "1 h 2 min"),
])
def test_duration_words(seconds: float, words: str) -> None:
    assert duration_words(seconds) == words


def test_ago() -> None:
    assert ago(None) == "never"
    assert ago("2026-11-24T10:00:00.000Z").endswith("ago") or ago(
        "2026-11-24T10:00:00.000Z") == "just now"


def _svg(markup: str) -> ET.Element:
    root = ET.fromstring(markup)
    assert root.tag == "svg" and root.get("viewBox") and root.get("role") == "img"
    assert root.find("title") is not None and root.find("desc") is not None
    # The page's Content-Security-Policy allows no inline style: colours are classes.
    assert "style=" not in markup
    return root


def test_charts_are_well_formed_svg_with_words() -> None:
    labels = ["Mon <1>", "Tue", "Wed"]
    stacked = charts.stacked_bars(labels, [charts.Series("Hinge", [3, 0, 1], "c-hinge"),
                                           charts.Series("Round", [1, 0, 0], "c-round")],
                                  title="Bends & more")
    root = _svg(stacked)
    assert "Mon &lt;1&gt;" in stacked and "Bends &amp; more" in stacked
    assert len(root.findall("rect")) == 3 + 2  # three segments and two legend keys
    share = _svg(charts.share_bars(labels, [0.5, None, 1.0], title="Share", goal=0.7))
    assert any(t.text == "goal 70%" for t in share.iter("text"))
    _svg(charts.bars(labels, [0, 12.5, 3], title="Deep", whole=True))
    line = _svg(charts.line(["W1", "W2", "W3", "W4"], [0.5, None, 0.6, 0.9], title="Trend"))
    assert len(line.findall("polyline")) == 1 and len(line.findall("circle")) == 3


@pytest.mark.parametrize(("value", "whole", "top"), [
    (0, False, 1), (0.7, False, 1), (1.2, False, 2), (2.2, False, 2.5), (9, True, 10),
    (3, True, 4), (41, True, 50), (130, False, 200),
])
def test_nice_max(value: float, whole: bool, top: float) -> None:
    assert charts.nice_max(value, whole) == top
