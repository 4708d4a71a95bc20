"""The demo's own zones: a kitchen-and-nursery room seen side-on at hip height.

A real camera has no zones until its config draws them; the demo's camera or video gets
this layout (the same one `hingewatch config example` shows, commented) so its bends are
named after a chore."""

from __future__ import annotations

import json

from edge.analysis.zones import Zone

DEMO_ZONES: tuple[Zone, ...] = (
    Zone("dishwasher", "dishwasher", ((0.0, 0.55), (0.35, 0.55), (0.35, 1.0), (0.0, 1.0))),
    Zone("crib", "crib", ((0.65, 0.45), (1.0, 0.45), (1.0, 0.9), (0.65, 0.9))),
    Zone("counter", "counter", ((0.0, 0.3), (0.35, 0.3), (0.35, 0.55), (0.0, 0.55))),
    Zone("garden", "garden", ((0.35, 0.75), (0.65, 0.75), (0.65, 1.0), (0.35, 1.0))),
    Zone("chair", "chair", ((0.65, 0.9), (1.0, 0.9), (1.0, 1.0), (0.65, 1.0))),
)


def zones_toml(zones: tuple[Zone, ...] = DEMO_ZONES) -> str:
    """`[[zones]]` tables for a config file."""
    return "".join(
        f"[[zones]]\nname = {json.dumps(z.name)}\nactivity = {json.dumps(z.activity)}\n"
        f"polygon = {json.dumps([list(p) for p in z.polygon_norm])}\n"
        for z in zones
    )
