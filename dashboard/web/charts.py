"""Small charts as inline SVG, drawn on the server: no JavaScript, no chart library.

Every chart is an `<svg>` with a `viewBox` (it scales to its box; CSS sets the width), a
`<title>` and a `<desc>` that say in words what it shows, and colours from CSS classes
(`c-hinge`, `c-round`, ...), so print and dark styles restyle them and the page's Content
Security Policy needs no inline styles. Text is sized for the viewBox of 420 user units:
on a 360-pixel phone it still reads at ~11 px (CSS sets 13-14 units).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 420.0
HEIGHT = 210.0
# Plot area inside the viewBox: room on the left for the axis labels, below for the
# category labels, above for the legend.
LEFT, RIGHT, TOP, BOTTOM = 40.0, 8.0, 36.0, 30.0


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    css: str                    # a class such as "c-hinge"


def nice_max(value: float, whole: bool = False) -> float:
    """The smallest 1, 2, 2.5 (not for counts) or 5 x 10^k at or above `value`; at least 1,
    or 4 for counts so that the grid steps are whole numbers."""
    if value <= (4 if whole else 1):
        return 4.0 if whole else 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in ((1, 2, 4, 5, 8, 10) if whole else (1, 2, 2.5, 5, 10)):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


def _fmt(value: float) -> str:
    return f"{value:g}" if value != int(value) else f"{int(value)}"


def _open(title: str, desc: str, css: str) -> list[str]:
    return [
        f'<svg class="chart {css}" viewBox="0 0 {WIDTH:g} {HEIGHT:g}" role="img" '
        f'preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>",
    ]


def _y_axis(top_value: float, fmt: Callable[[float], str]) -> list[str]:
    # Four grid steps, or five or two where that keeps the labels whole (0, 2, 4 ... 10).
    ticks = next((n for n in (4, 5, 2) if (top_value / n).is_integer()), 4)
    parts = []
    plot_h = HEIGHT - TOP - BOTTOM
    for i in range(ticks + 1):
        value = top_value * i / ticks
        y = HEIGHT - BOTTOM - plot_h * i / ticks
        parts.append(f'<line class="grid" x1="{LEFT:g}" x2="{WIDTH - RIGHT:g}" '
                     f'y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 4:g}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{escape(fmt(value))}</text>')
    return parts


def _fit(text: str, width: float) -> str:
    """Shorten a label to what fits `width` user units at the label size (~7.5 a letter)."""
    room = max(int(width / 7.5), 3)
    return text if len(text) <= room else text[: room - 1] + "…"


def _x_labels(labels: Sequence[str], slot: float) -> list[str]:
    y = HEIGHT - BOTTOM + 17
    return [
        f'<text class="label" x="{LEFT + slot * (i + 0.5):.1f}" y="{y:g}" '
        f'text-anchor="middle">{escape(_fit(text, slot))}</text>'
        for i, text in enumerate(labels)
    ]


def _goal(goal: float) -> list[str]:
    """The goal as a dashed line across the plot, named in the legend row."""
    plot_h = HEIGHT - TOP - BOTTOM
    y = HEIGHT - BOTTOM - plot_h * goal
    return [
        f'<line class="goal" x1="{LEFT:g}" x2="{WIDTH - RIGHT:g}" y1="{y:.1f}" y2="{y:.1f}"/>',
        f'<line class="goal" x1="{WIDTH - RIGHT - 96:g}" x2="{WIDTH - RIGHT - 74:g}" '
        f'y1="11" y2="11"/>',
        f'<text class="legend" x="{WIDTH - RIGHT:g}" y="15" text-anchor="end">'
        f"goal {goal:.0%}</text>",
    ]


def _legend(items: Sequence[tuple[str, str]]) -> list[str]:
    parts, x = [], LEFT
    for name, css in items:
        parts.append(f'<rect class="{css}" x="{x:.1f}" y="6" width="10" height="10" rx="2"/>')
        parts.append(f'<text class="legend" x="{x + 14:.1f}" y="15">{escape(name)}</text>')
        x += 22 + 7.2 * len(name)
    return parts


def stacked_bars(labels: Sequence[str], series: Sequence[Series], *, title: str,
                 css: str = "") -> Markup:
    """One bar per label, its segments stacked in series order (e.g. bends by posture)."""
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top = nice_max(max(totals, default=0), whole=True)
    desc = "; ".join(
        f"{label}: " + ", ".join(f"{_fmt(s.values[i])} {s.name}" for s in series)
        for i, label in enumerate(labels)
    )
    parts = _open(title, desc, css) + _y_axis(top, _fmt)
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    bar_w = slot * 0.62
    plot_h = HEIGHT - TOP - BOTTOM
    for i in range(len(labels)):
        y = HEIGHT - BOTTOM
        x = LEFT + slot * i + (slot - bar_w) / 2
        for s in series:
            h = plot_h * s.values[i] / top
            if h <= 0:
                continue
            y -= h
            parts.append(
                f'<rect class="{s.css}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}"><title>{escape(labels[i])}: {_fmt(s.values[i])} '
                f"{escape(s.name)}</title></rect>"
            )
        if totals[i]:
            parts.append(f'<text class="value" x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" '
                         f'text-anchor="middle">{_fmt(totals[i])}</text>')
    parts += _x_labels(labels, slot) + _legend([(s.name, s.css) for s in series])
    parts.append("</svg>")
    return Markup("".join(parts))


def _share_desc(labels: Sequence[str], shares: Sequence[float | None]) -> str:
    """What a share chart says, in words, for screen readers."""
    return "; ".join(
        f"{label}: {'no bends' if share is None else f'{share:.0%}'}"
        for label, share in zip(labels, shares, strict=True)
    )


def share_bars(labels: Sequence[str], shares: Sequence[float | None], *, title: str,
               goal: float | None = None, css: str = "") -> Markup:
    """A 0-100 % bar per label (e.g. hinge share per day); None draws a dash: no data."""
    desc = _share_desc(labels, shares)
    parts = _open(title, desc, css) + _y_axis(1.0, lambda v: f"{v:.0%}")
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    bar_w = slot * 0.62
    plot_h = HEIGHT - TOP - BOTTOM
    base = HEIGHT - BOTTOM
    for i, share in enumerate(shares):
        cx = LEFT + slot * (i + 0.5)
        if share is None:
            parts.append(f'<text class="none" x="{cx:.1f}" y="{base - 6:g}" '
                         f'text-anchor="middle">–</text>')
            continue
        h = plot_h * share
        good = "c-good" if goal is not None and share >= goal else "c-hinge"
        parts.append(
            f'<rect class="{good}" x="{cx - bar_w / 2:.1f}" y="{base - h:.1f}" '
            f'width="{bar_w:.1f}" height="{h:.1f}"><title>{escape(labels[i])}: '
            f"{share:.0%}</title></rect>"
        )
        parts.append(f'<text class="value" x="{cx:.1f}" y="{base - h - 3:.1f}" '
                     f'text-anchor="middle">{share:.0%}</text>')
    if goal is not None:
        parts += _goal(goal)
    parts += _x_labels(labels, slot)
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(labels: Sequence[str], values: Sequence[float], *, title: str,
         fmt: Callable[[float], str] = _fmt, whole: bool = False, css: str = "",
         bar_css: str = "c-deep") -> Markup:
    """Plain bars (e.g. time deeply bent per day); `whole` keeps the axis on whole numbers."""
    top = nice_max(max(values, default=0), whole=whole)
    desc = "; ".join(f"{label}: {fmt(v)}" for label, v in zip(labels, values, strict=True))
    parts = _open(title, desc, css) + _y_axis(top, _fmt)
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    bar_w = slot * 0.62
    plot_h = HEIGHT - TOP - BOTTOM
    base = HEIGHT - BOTTOM
    for i, value in enumerate(values):
        if value <= 0:
            continue
        h = plot_h * value / top
        x = LEFT + slot * i + (slot - bar_w) / 2
        parts.append(
            f'<rect class="{bar_css}" x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}"><title>{escape(labels[i])}: {escape(fmt(value))}</title></rect>'
        )
        parts.append(f'<text class="value" x="{x + bar_w / 2:.1f}" y="{base - h - 3:.1f}" '
                     f'text-anchor="middle">{escape(fmt(value))}</text>')
    parts += _x_labels(labels, slot)
    parts.append("</svg>")
    return Markup("".join(parts))


def line(labels: Sequence[str], values: Sequence[float | None], *, title: str,
         goal: float | None = None, css: str = "") -> Markup:
    """A 0-100 % line over labels (e.g. hinge share per week); None leaves a gap."""
    desc = _share_desc(labels, values)
    parts = _open(title, desc, css) + _y_axis(1.0, lambda v: f"{v:.0%}")
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    plot_h = HEIGHT - TOP - BOTTOM
    base = HEIGHT - BOTTOM
    if goal is not None:
        parts += _goal(goal)
    runs: list[list[tuple[float, float]]] = [[]]
    points = []
    for i, v in enumerate(values):
        if v is None:
            runs.append([])
            continue
        xy = (LEFT + slot * (i + 0.5), base - plot_h * v)
        runs[-1].append(xy)
        points.append((i, v, xy))
    for run in runs:
        if len(run) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            parts.append(f'<polyline class="trend" points="{path}"/>')
    for i, v, (x, y) in points:
        parts.append(f'<circle class="trend-dot" cx="{x:.1f}" cy="{y:.1f}" r="4">'
                     f"<title>{escape(labels[i])}: {v:.0%}</title></circle>")
        parts.append(f'<text class="value" x="{x:.1f}" y="{y - 8:.1f}" '
                     f'text-anchor="middle">{v:.0%}</text>')
    parts += _x_labels(labels, slot)
    parts.append("</svg>")
    return Markup("".join(parts))
