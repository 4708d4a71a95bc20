"""Errors the dashboard raises on purpose; each message says what to do about it."""

from __future__ import annotations


class DashboardError(Exception):
    """Base class: the CLI prints the message as one line and exits 2."""


class SettingsError(DashboardError):
    """A setting is out of range or of the wrong kind."""


class StoreError(DashboardError):
    """The SQLite store cannot be opened, migrated or written."""


class StoreRefusedError(StoreError):
    """The store refused a write for what it holds (a value out of a column's range, a
    constraint), not for an outage: the same write will be refused again."""


class StoreVersionError(StoreError):
    """The database was written by a newer hingewatch than this one."""


class UserError(DashboardError):
    """An account cannot be created or changed as asked (bad name, role, password)."""


class WeekError(ValueError):
    """A week that is not `YYYY-Www`, or a week number the year does not have."""


class WeekRangeError(WeekError):
    """A well-formed week or day in a year the dashboard does not count (see summary)."""
