"""The dashboard is cut by its data flow: ingest -> store -> web, and of the edge it reads
only the contracts (DESIGN.md) and the one config tree they share (issue 11)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.storeless

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
CONTRACTS = {"edge.events", "edge.state", "edge.delivery.topics", "edge.practice_contract",
             "edge.review_export",
             # the adjustment's payload, its sane bounds and what it means for a bend
             "edge.adjustment",
             # one TOML file, one loader, one broker connection, one error base for both
             "edge.config", "edge.config_tables", "edge.config_dashboard",
             "edge.delivery.mqtt_config", "edge.delivery.mqtt_client", "edge.credentials",
             "edge.errors"}
# What each flow stage may import of the dashboard, besides the shared top-level modules
# (errors, ergonomics, settings); web is the last stage and composes the rest.
MAY_IMPORT = {"ingest": {"ingest", "store"}, "store": {"store"},
              "web": {"ingest", "store", "web"}}
SHARED = {"dashboard.errors", "dashboard.ergonomics", "dashboard.settings"}


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names
                         if node.module == "dashboard" or node.module.count(".") == 1)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_the_dashboard_reads_only_the_edges_contracts() -> None:
    wrong = {f"{path.relative_to(DASHBOARD)}: {name}"
             for path in DASHBOARD.rglob("*.py") for name in imports(path)
             if name.split(".")[0] == "edge" and name not in CONTRACTS
             and not any(name.startswith(c + ".") for c in CONTRACTS)}
    assert not wrong


def test_each_stage_imports_only_its_own_and_the_stages_before() -> None:
    wrong = set()
    for stage, allowed in MAY_IMPORT.items():
        for path in (DASHBOARD / stage).rglob("*.py"):
            for name in imports(path):
                parts = name.split(".")
                if parts[0] != "dashboard" or len(parts) < 2 or name in SHARED:
                    continue
                if parts[1] not in allowed and f"dashboard.{parts[1]}" not in SHARED:
                    wrong.add(f"{stage}/{path.name}: {name}")
    assert not wrong
