"""Times as the store keeps them: UTC ISO-8601 with milliseconds and a Z."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_ms(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def now_ms() -> str:
    return utc_ms(datetime.now(UTC))


def parse_ms(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
