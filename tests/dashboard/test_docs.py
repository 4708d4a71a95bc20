"""Every [dashboard] setting and every dashboard command is documented in the README."""

from __future__ import annotations

from dashboard.config import KEYS
from tests.dashboard.conftest import ROOT


def test_every_dashboard_setting_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `[dashboard]` |")]
    assert rows, "README.md: the configuration table has no `[dashboard]` row"
    missing = [key for key in KEYS if f"`{key}`" not in rows[0]]
    assert not missing, f"README.md: [dashboard] keys not documented: {missing}"


def test_the_dashboard_commands_are_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for command in ("hingewatch dashboard", "hingewatch dashboard adduser", "--demo-user",
                    "--allow-localhost", "/api/openapi.json"):
        assert command in readme, f"README.md does not mention {command}"
