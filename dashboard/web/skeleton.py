"""An event's skeleton on the page: drawn as inline SVG, and its trace in the same
coordinates for the replay script. (The store's packing is `dashboard.store.landmarks`.)"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from markupsafe import Markup

from dashboard.store.landmarks import N_LANDMARKS

# BlazePose's 33 landmarks, joined as MediaPipe draws them (POSE_CONNECTIONS).
CONNECTIONS: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
    (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
    (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
    (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
    (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32),
)
LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP = 11, 12, 23, 24
# Below this visibility a landmark is drawn faint: the model guessed it.
VISIBLE = 0.5


@dataclass(frozen=True)
class ViewBox:
    """The drawing area: (x * aspect - x0, y - y0) * scale lands in a width x height box."""

    x0: float
    y0: float
    scale: float
    width: float
    height: float


def view_box(frames: np.ndarray, aspect_wh: float = 4 / 3, size: float = 300.0) -> ViewBox:
    """Fit every visible landmark of every frame, with a margin, into one box, so that the
    replay does not jump. x is scaled by the picture's aspect (normalised x is over width)."""
    pts = frames.reshape(-1, 3)
    seen = pts[pts[:, 2] >= VISIBLE]
    if len(seen) < 2:
        seen = pts
    xs, ys = seen[:, 0] * aspect_wh, seen[:, 1]
    x_lo, x_hi, y_lo, y_hi = float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max())
    span = max(x_hi - x_lo, y_hi - y_lo, 0.05) * 1.15
    cx, cy = (x_lo + x_hi) / 2, (y_lo + y_hi) / 2
    return ViewBox(cx - span / 2, cy - span / 2, size / span, size, size)


def _box_of(skeleton: np.ndarray, frames: np.ndarray, aspect_wh: float) -> ViewBox:
    """One box for the still and every replay frame, so that they line up."""
    return view_box(np.concatenate([skeleton[None], frames]) if len(frames) else skeleton[None],
                    aspect_wh)


def _scaled(box: ViewBox, skeleton: np.ndarray, aspect_wh: float) -> np.ndarray:
    out = skeleton.copy()
    out[:, 0] = skeleton[:, 0] * aspect_wh - box.x0
    out[:, 1] = skeleton[:, 1] - box.y0
    out[:, :2] *= box.scale
    return np.round(out, 1)


def svg(skeleton: np.ndarray, frames: np.ndarray, *, label: str, posture: str,
        svg_id: str, aspect_wh: float = 4 / 3) -> Markup:
    """The skeleton as inline SVG: bones, joints, and the trunk line (mid-hip to
    mid-shoulder) drawn thick in the posture's colour, beside a dashed vertical."""
    box = _box_of(skeleton, frames, aspect_wh)
    p = _scaled(box, skeleton, aspect_wh)
    parts = [
        f'<svg id="{svg_id}" class="skeleton posture-{posture}" viewBox="0 0 {box.width:g} '
        f'{box.height:g}" role="img" aria-label="{Markup.escape(label)}">',
        f"<title>{Markup.escape(label)}</title>",
        '<rect class="sk-bg" x="0" y="0" width="100%" height="100%"/>',
    ]
    hip = (p[LEFT_HIP, :2] + p[RIGHT_HIP, :2]) / 2
    shoulder = (p[LEFT_SHOULDER, :2] + p[RIGHT_SHOULDER, :2]) / 2
    parts.append(
        f'<line class="sk-vertical" x1="{hip[0]:.1f}" y1="{hip[1]:.1f}" '
        f'x2="{hip[0]:.1f}" y2="{max(hip[1] - 120, 0):.1f}"/>'
    )
    for i, (a, b) in enumerate(CONNECTIONS):
        faint = " sk-faint" if min(p[a, 2], p[b, 2]) < VISIBLE else ""
        parts.append(
            f'<line class="sk-bone{faint}" data-bone="{i}" x1="{p[a, 0]:g}" y1="{p[a, 1]:g}" '
            f'x2="{p[b, 0]:g}" y2="{p[b, 1]:g}"/>'
        )
    parts.append(
        f'<line class="sk-trunk" x1="{hip[0]:.1f}" y1="{hip[1]:.1f}" '
        f'x2="{shoulder[0]:.1f}" y2="{shoulder[1]:.1f}"/>'
    )
    for i in range(N_LANDMARKS):
        faint = " sk-faint" if p[i, 2] < VISIBLE else ""
        radius = 5 if i == 0 else 3
        parts.append(
            f'<circle class="sk-joint{faint}" data-joint="{i}" cx="{p[i, 0]:g}" '
            f'cy="{p[i, 1]:g}" r="{radius}"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def replay_frames(skeleton: np.ndarray, frames: np.ndarray,
                  aspect_wh: float = 4 / 3) -> list[list[list[float]]]:
    """The trace in the same viewBox coordinates as `svg`, for the replay script."""
    box = _box_of(skeleton, frames, aspect_wh)
    return [_scaled(box, f, aspect_wh).tolist() for f in frames]
