"""schemathesis drives the JSON API from its own OpenAPI document: no server error, and
every answer matches what the document says (status codes, content types, bodies)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from dashboard.ingest.messages import classify
from dashboard.web.server import Dashboard
from tests.dashboard.conftest import add_user, login, make_settings
from tests.dashboard.factory import week_of_events


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, dict[str, str]]]:
    settings_ = make_settings(tmp_path_factory.mktemp("schemathesis"))
    dash = Dashboard(settings_, ingest=False).start()
    add_user(dash.writer, "rita", "reviewer")
    # Unsure bends among them: every response that carries one must match the document.
    events = week_of_events(datetime.now(UTC), per_day=3, frames=2, unsure=0.3)
    assert any(e.posture == "unsure" for e in events)
    zone = ZoneInfo(settings_.timezone)
    dash.writer.write_batch([classify(f"hingewatch/{e.device_id}/event", e.to_json().encode(),
                                      zone, "2026-01-01T00:00:00.000Z") for e in events],
                            "2026-01-01T00:00:00.000Z")
    client, csrf = login(dash.url, "rita")
    headers = {"Cookie": f"hw_session={client.cookies['hw_session']}", "X-CSRF-Token": csrf}
    client.close()
    yield dash, headers
    dash.stop()


def test_no_operation_fails_its_own_document(served: tuple[Dashboard, dict[str, str]]) -> None:
    """Each operation: 50 generated valid requests and 25 invalid ones, checked with
    schemathesis' default checks (no 5xx, documented status codes and bodies, invalid input
    refused); a failure names the operation and the request."""
    dash, headers = served
    spec = httpx.get(dash.url + "api/openapi.json", timeout=10).json()
    api = schemathesis.openapi.from_dict(spec)
    # type: ignore on the next line: schemathesis results are loosely typed
    operations = [result.ok() for result in api.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 5
    calls = 0
    plan = [(op, mode, n) for op in operations
            for mode, n in ((schemathesis.GenerationMode.POSITIVE, 50),
                            (schemathesis.GenerationMode.NEGATIVE, 25))]
    for operation, mode, examples in plan:

        @given(case=operation.as_strategy(mode))
        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
        def run(case: schemathesis.Case) -> None:
            nonlocal calls
            # Logged in, with this session's CSRF token: the handlers run, not just guards.
            case.call_and_validate(base_url=dash.url.rstrip("/"), headers=headers)
            calls += 1

        try:
            run()
        except Unsatisfiable:
            # An operation that takes no input (GET /api/health) has no invalid request.
            assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
    assert calls >= 5 * 20
