"""Every dashboard command is documented in the README."""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import ROOT

pytestmark = pytest.mark.storeless

# Every [dashboard] and [dashboard.mqtt] key is checked against the README's table by
# tests/test_config.py::test_every_config_key_is_in_its_readme_row, with the other tables.


def test_the_dashboard_commands_are_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for command in ("hingewatch dashboard", "hingewatch dashboard adduser", "--demo-user",
                    "--allow-localhost", "/api/openapi.json"):
        assert command in readme, f"README.md does not mention {command}"
