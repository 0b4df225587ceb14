"""Every operation of the API fuzzed from its own OpenAPI document with schemathesis
(positive and negative generation) against the ASGI app over a temporary embedded riskloop:
whatever a client sends, no answer is a server error (5xx)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup, ServerError

from riskloop.bootstrap import Riskloop, build
from riskloop.cases.model import Case, CaseStatus
from riskloop.config import Settings
from riskloop.entrypoints.http import create_app
from riskloop.errors import StorageError
from riskloop.screening.model import Alias, EntityKind, ListEntry
from tests.support.factories import kyc_record
from tests.support.http import authed_schema

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Riskloop]:
    data: Path = tmp_path_factory.mktemp("api-fuzz")
    rl = build(Settings.from_env({"RISKLOOP_DATA_DIR": str(data)}))
    # Something to find, so that generated requests get past "not found".
    rl.catalog.save_list({"name": "bad_devices", "kind": "block", "type": "device", "author": "f"})
    rl.catalog.add_entries("bad_devices", [{"value": "dev-bad"}], "f")
    rl.catalog.save_rule(
        {
            "id": "bad_device",
            "expression": "lists.bad_devices || event.amount > 1000000",
            "reason": "BAD_DEVICE",
            "action": "decline",
            "event_types": ["card_payment", "transfer"],
            "author": "f",
        }
    )
    rl.catalog.save_policy(
        {
            "id": "cards",
            "event_types": ["card_payment", "transfer"],
            "thresholds": {"review": 0.5, "decline": 0.9},
            "author": "f",
        }
    )
    rl.tasks.raise_task("alert", "Seeded alert", key="alert:seed", actor="f")
    # A sanctions list, a screened customer and their hit, for the screening routes.
    petrov = ListEntry("fuzz_list", "1", EntityKind.PERSON, "PETROV, Ivan", (Alias("Ivan P"),))
    rl.screening.save("fuzz_list", [petrov], origin="fuzz", actor="f")
    rl.ingestor.ingest(
        kyc_record(customer_id="c-1", person={"first_name": "Ivan", "last_name": "Petrov"})
    )
    rl.kyc.sync()
    now = datetime.now(UTC)
    rl.cases.store.open_manual(  # a case to claim, note, resolve...
        Case(
            case_id="case_seeded",
            entity_type="customer",
            entity_key="c-1",
            queue="payments",
            priority=2,
            status=CaseStatus.OPEN,
            assignee=None,
            opened_at=now,
            updated_at=now,
            due_at=now + timedelta(hours=24),
        ),
        "fuzz",
        {},
    )
    yield rl
    rl.close()


@pytest.fixture(scope="module")
def api(embedded: Riskloop) -> schemathesis.BaseSchema:
    return authed_schema(embedded, create_app(embedded))


# Every /v1 operation; the first test checks this is exactly what the document describes.
OPERATIONS = [
    ("GET", "/v1/me"),
    ("GET", "/v1/users"),
    ("POST", "/v1/users"),
    ("PATCH", "/v1/users/{username}"),
    ("GET", "/v1/apikeys"),
    ("POST", "/v1/apikeys"),
    ("POST", "/v1/apikeys/{key_id}/rotate"),
    ("POST", "/v1/apikeys/{key_id}/revoke"),
    ("GET", "/v1/audit/verify"),
    ("GET", "/v1/audit/export"),
    ("GET", "/v1/retention/holds"),
    ("POST", "/v1/retention/holds"),
    ("POST", "/v1/retention/holds/{hold_id}/release"),
    ("POST", "/v1/retention/run"),
    ("POST", "/v1/events"),
    ("GET", "/v1/events/{event_id}"),
    ("GET", "/v1/contracts"),
    ("GET", "/v1/contracts/{event_type}"),
    ("GET", "/v1/features"),
    ("POST", "/v1/features/preview"),
    ("POST", "/v1/decisions"),
    ("GET", "/v1/decisions"),
    ("GET", "/v1/decisions/{decision_id}"),
    ("GET", "/v1/decisions/{decision_id}/notice"),
    ("GET", "/v1/rules"),
    ("POST", "/v1/rules"),
    ("POST", "/v1/rules/validate"),
    ("GET", "/v1/rules/{rule_id}"),
    ("GET", "/v1/rules/{rule_id}/versions"),
    ("POST", "/v1/rules/{rule_id}/status"),
    ("GET", "/v1/lists"),
    ("POST", "/v1/lists"),
    ("GET", "/v1/lists/{name}"),
    ("DELETE", "/v1/lists/{name}"),
    ("GET", "/v1/lists/{name}/entries"),
    ("POST", "/v1/lists/{name}/entries"),
    ("POST", "/v1/lists/{name}/entries/remove"),
    ("GET", "/v1/policies"),
    ("POST", "/v1/policies"),
    ("GET", "/v1/policies/{policy_id}"),
    ("POST", "/v1/policies/{policy_id}/versions/{version}/status"),
    ("GET", "/v1/audit"),
    ("GET", "/v1/models"),
    ("GET", "/v1/models/{name}/versions/{version}"),
    ("GET", "/v1/models/{name}/versions/{version}/card"),
    ("GET", "/v1/models/{name}/shadow"),
    ("GET", "/v1/models/{name}/aliases"),
    ("PUT", "/v1/models/{name}/aliases/{alias}"),
    ("POST", "/v1/models/{name}/aliases/{alias}/rollback"),
    ("POST", "/v1/labels"),
    ("GET", "/v1/labels"),
    ("GET", "/v1/labels/pending"),
    ("POST", "/v1/labels/resolve"),
    ("GET", "/v1/events/{event_id}/labels"),
    ("GET", "/v1/cases"),
    ("POST", "/v1/cases"),
    ("GET", "/v1/cases/overview"),
    ("POST", "/v1/cases/sync"),
    ("POST", "/v1/cases/next"),
    ("POST", "/v1/cases/assign"),
    ("POST", "/v1/cases/bulk"),
    ("GET", "/v1/cases/{case_id}"),
    ("POST", "/v1/cases/{case_id}/claim"),
    ("POST", "/v1/cases/{case_id}/release"),
    ("POST", "/v1/cases/{case_id}/assign"),
    ("POST", "/v1/cases/{case_id}/notes"),
    ("POST", "/v1/cases/{case_id}/resolve"),
    ("POST", "/v1/cases/{case_id}/approve"),
    ("POST", "/v1/cases/{case_id}/reject"),
    ("GET", "/v1/cases/{case_id}/sar"),
    ("POST", "/v1/tasks"),
    ("GET", "/v1/tasks"),
    ("GET", "/v1/tasks/{task_id}"),
    ("PATCH", "/v1/tasks/{task_id}"),
    ("POST", "/v1/tasks/alertmanager"),
    ("POST", "/v1/backtests"),
    ("GET", "/v1/backtests"),
    ("GET", "/v1/backtests/{backtest_id}"),
    ("GET", "/v1/backtests/{backtest_id}/plot.png"),
    ("GET", "/v1/shadow"),
    ("POST", "/v1/canaries"),
    ("GET", "/v1/canaries"),
    ("POST", "/v1/canaries/check"),
    ("GET", "/v1/canaries/{canary_id}"),
    ("POST", "/v1/canaries/{canary_id}/stop"),
    ("POST", "/v1/monitoring/drift"),
    ("POST", "/v1/monitoring/performance"),
    ("POST", "/v1/monitoring/freshness"),
    ("GET", "/v1/monitoring/reports"),
    ("POST", "/v1/screening/search"),
    ("GET", "/v1/screening/lists"),
    ("GET", "/v1/screening/hits"),
    ("POST", "/v1/screening/hits/{hit_id}/resolve"),
    ("GET", "/v1/screening/suppressions"),
    ("POST", "/v1/screening/suppressions"),
    ("POST", "/v1/screening/suppressions/{suppression_id}/revoke"),
    ("POST", "/v1/screening/rescreen"),
    ("GET", "/v1/kyc"),
    ("GET", "/v1/kyc/{customer_id}"),
]


def test_every_v1_operation_is_documented_and_fuzzed(api: schemathesis.BaseSchema) -> None:
    documented = sorted(
        (op.method.upper(), op.path)
        for op in (result.ok() for result in api.get_all_operations())
        if op.path.startswith("/v1/")
    )
    assert documented == sorted(OPERATIONS)


# Path parameters naming what the fixture seeded, so that generated bodies reach the code
# behind "not found" (a second round per operation that has such a parameter).
SEEDED = {
    "rule_id": "bad_device",
    "name": "bad_devices",
    "policy_id": "cards",
    "version": 1,
    "task_id": 1,
    "hit_id": 1,
    "customer_id": "c-1",
}
TARGETS = [(m, p, {}) for m, p in OPERATIONS] + [
    (m, p, {k: v for k, v in SEEDED.items() if "{" + k + "}" in p})
    for m, p in OPERATIONS
    if any("{" + k + "}" in p for k in SEEDED)
]


def _id(target: tuple[str, str, dict[str, object]]) -> str:
    method, path, fixed = target
    for key, value in fixed.items():
        path = path.replace("{" + key + "}", str(value))
    return f"{method} {path}"


@pytest.mark.parametrize("target", TARGETS, ids=[_id(t) for t in TARGETS])
def test_no_operation_answers_a_server_error(
    api: schemathesis.BaseSchema, target: tuple[str, str, dict[str, object]]
) -> None:
    method, path, fixed = target
    calls = _fuzz(api[path][method], fixed)
    assert calls  # it did send requests


def test_the_check_catches_a_server_error(
    api: schemathesis.BaseSchema, embedded: Riskloop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fuzzing fails when an operation answers 5xx (here: the catalogue store down)."""

    def down() -> None:
        raise StorageError("catalogue read failed: OperationalError")

    monkeypatch.setattr(embedded.catalog, "rules", down)
    with pytest.raises(FailureGroup) as caught:
        _fuzz(api["/v1/rules"]["GET"], {})
    assert [type(e) for e in caught.value.exceptions] == [ServerError]
    assert "[503]" in str(caught.value)


def _fuzz(operation: schemathesis.APIOperation, fixed: dict[str, object]) -> list[int]:
    """Requests that match the document (positive) and requests that break it (negative;
    where the document constrains nothing there is nothing to break, and only positive
    ones are drawn); every answer must be below 500. Returns the status codes seen."""
    cases = operation.as_strategy(
        GenerationMode.POSITIVE, path_parameters=fixed or None
    ) | operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed or None)
    calls: list[int] = []

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )
    @given(case=cases)
    def run(case: schemathesis.Case) -> None:
        calls.append(case.call_and_validate(checks=[not_a_server_error]).status_code)

    run()
    return calls
