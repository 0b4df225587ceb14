"""The API fuzzed from its own OpenAPI document (schemathesis): whatever a client sends —
valid events, broken ones, odd rules, lists and policies — no operation answers 5xx.

The store is seeded with a list, a rule and a policy so that generated requests reach past
"not found" into the decision path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from riskloop.bootstrap import build
from riskloop.config import Settings
from riskloop.entrypoints.http import create_app
from tests.support.http import authed_schema

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    data: Path = tmp_path_factory.mktemp("fuzz")
    rl = build(Settings.from_env({"RISKLOOP_DATA_DIR": str(data)}))
    rl.catalog.save_list({"name": "bad_ips", "kind": "block", "type": "ip", "author": "fuzz"})
    rl.catalog.save_rule(
        {
            "id": "bad_ip",
            "expression": "lists.bad_ips || event.amount > 1000000",
            "reason": "BAD_IP",
            "action": "decline",
            "event_types": ["card_payment", "transfer"],
            "author": "fuzz",
        }
    )
    rl.catalog.save_policy(
        {
            "id": "cards",
            "event_types": ["card_payment"],
            "thresholds": {"review": 0.5},
            "author": "fuzz",
        }
    )
    app = create_app(rl)
    yield authed_schema(rl, app)
    rl.close()


def test_no_operation_answers_a_server_error(api: schemathesis.BaseSchema) -> None:
    """Every operation of the document, 60 generated requests each (positive and negative
    generation: bodies that match the schema and bodies that break it)."""
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 20  # the whole /v1 surface is in the document
    failures: list[str] = []
    calls = [0]
    for operation in operations:

        @settings(
            max_examples=60,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            calls[0] += 1
            try:
                response = case.call()
            except Exception as exc:  # the app raised: a 500 in production
                failures.append(f"{case.method} {case.formatted_path}: {exc!r:.300}")
                return
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{response.text[:200]} (body {case.body!r:.200})"
                )

        run()
    assert failures == []
    assert calls[0] >= 10 * len(operations)  # the fuzzing did run
