"""The dashboard's settings: the `[dashboard]` table of the one config tree
(edge/config_dashboard.py), under the name the dashboard's modules use, and the roles."""

from __future__ import annotations

from edge.config_dashboard import DashboardConfig as Settings
from edge.config_dashboard import DashboardMqtt, default_db_path, system_timezone

__all__ = ["ROLES", "DashboardMqtt", "Settings", "default_db_path", "system_timezone"]

ROLES: tuple[str, ...] = ("viewer", "reviewer")
