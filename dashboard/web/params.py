"""What a page's query parameters mean: each checked, and a wrong one named in a 400 page.
The pages and the report share these."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from dashboard.errors import WeekError
from dashboard.store.summary import (
    IsoWeek,
    WeekSummary,
    check_year,
    day_bounds_utc,
    today,
    week_summary,
)
from dashboard.web.deps import Services


class BadRequest(Exception):
    """A query parameter a person typed wrong; shown as a 400 page that says which."""


def opt(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def parse_choice(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    value = opt(value)
    if value is not None and value not in allowed:
        raise BadRequest(f"{name}: expected one of {', '.join(allowed)}, got {value[:40]!r}")
    return value


def parse_day(name: str, value: str | None) -> date | None:
    value = opt(value)
    try:
        day = None if value is None else date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name}: expected a date YYYY-MM-DD, got {str(value)[:40]!r}") from None
    try:
        if day is not None:
            check_year(name, day.year)
    except WeekError as exc:
        raise BadRequest(str(exc)) from None
    return day


def parse_week(svc: Services, text: str | None) -> IsoWeek:
    text = opt(text)
    if text is None:
        return IsoWeek.of(today(svc.settings.zone))
    try:
        return IsoWeek.parse(text)
    except WeekError as exc:
        raise BadRequest(str(exc)) from None


def parse_device(svc: Services, text: str | None) -> str | None:
    return parse_choice("device", text, tuple(d.device_id for d in svc.reader.devices()))


def week_view(svc: Services, week: str | None, device: str | None) -> tuple[IsoWeek, str | None,
                                                                           WeekSummary]:
    """The week and device a page asks for, and that week's summary."""
    w = parse_week(svc, week)
    device_id = parse_device(svc, device)
    return w, device_id, week_summary(svc.reader, w, device_id, svc.settings.streak_goal)


def utc_bounds(first: date | None, last: date | None,
               zone: ZoneInfo) -> tuple[str | None, str | None]:
    """`EventQuery`'s started_from and started_before for local days first to last (each
    None: open)."""
    return (day_bounds_utc(first, zone)[0] if first else None,
            day_bounds_utc(last, zone)[1] if last else None)
