"""Whose data a read may return: the account the web is answering, as a context variable
the readers consult, so that every page, API call, CSV and report is filtered the same
way without each passing it on (and a page added later is filtered too).

`None` is everything (the command line, ingest, tests). The web app sets `NOBODY` at the
start of each request and the signed-in account's name once it knows it: a request that
never got that far reads nothing.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextvars import ContextVar
from functools import lru_cache

NOBODY = ""  # no account has this name, so it was granted nothing
current: ContextVar[str | None] = ContextVar("hingewatch_scope", default=None)

_MARK = re.compile(r"SCOPE\(([\w.]+)\)")


@lru_cache(maxsize=256)
def _text(sql: str, everything: bool) -> str:
    return _MARK.sub(
        "1 = 1" if everything
        else r"\1 IN (SELECT device_id FROM visible_devices WHERE user_name = :scope)", sql)


def scoped(sql: str, params: dict[str, object] | None = None
           ) -> tuple[str, dict[str, object]]:
    """`sql` with each `SCOPE(column)` made a filter on the current account's devices (or
    none), and `params` with the account's name."""
    who = current.get()
    return _text(sql, who is None), {**(params or {}), "scope": who}


@contextlib.contextmanager
def reading_as(who: str | None) -> Iterator[None]:
    token = current.set(who)
    try:
        yield
    finally:
        current.reset(token)
