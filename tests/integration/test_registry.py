"""The registry on SQLite and PostgreSQL: versions with checked artifacts, an append-only
alias history, rollbacks, races between two people, and audit entries for every change."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import pytest

from riskloop.bootstrap import Riskloop
from riskloop.errors import ConflictError, InvalidInput, NotFound, StorageError
from riskloop.ledger.audit import verify_chain
from riskloop.training.registry import ModelRegistry, ModelVersion


def _register(registry: ModelRegistry, name: str = "fraud", body: bytes = b"{}") -> ModelVersion:
    return registry.register(
        name=name,
        kind="logistic",
        event_type="card_payment",
        features=["card_count_1h"],
        artifact_name="model.json",
        files=lambda ref: {"model.json": body, "card.md": f"# Model card: {ref}".encode()},
        author="ana",
        metrics={"test": {"roc_auc": 0.9}},
        lineage={"data_snapshot": "x"},
        params={"C": 1.0},
    )


def test_versions_aliases_history_and_audit(any_rl: Riskloop) -> None:
    registry = any_rl.models.registry
    one, two, three = (_register(registry) for _ in range(3))
    assert [v.ref for v in registry.versions("fraud")] == ["fraud@1", "fraud@2", "fraud@3"]
    assert registry.file(two, "card.md") == b"# Model card: fraud@2"

    registry.promote("fraud", 1, author="ana", reason="first")
    registry.promote("fraud", 3, author="bo", reason="better")
    registry.promote("fraud", 2, alias="challenger", author="bo", reason="shadow")
    assert registry.aliases() == {("fraud", "champion"): 3, ("fraud", "challenger"): 2}
    back = registry.rollback("fraud", author="cy", reason="decline rate up")
    assert (back.previous, back.version) == (3, 1)
    assert registry.aliases()[("fraud", "champion")] == 1
    registry.set_alias("fraud", "challenger", None, author="cy", reason="done")
    assert ("fraud", "challenger") not in registry.aliases()

    history = [(c.alias, c.previous, c.version, c.actor) for c in registry.history("fraud")]
    assert history == [
        ("champion", None, 1, "ana"),
        ("champion", 1, 3, "bo"),
        ("challenger", None, 2, "bo"),
        ("champion", 3, 1, "cy"),
        ("challenger", 2, None, "cy"),
    ]
    audit = list(any_rl.catalog.store.audit().iterate())
    actions = [e.action for e in audit if e.kind == "model"]
    assert actions.count("model.register") == 3 and actions[-1] == "model.alias.remove"
    assert verify_chain(audit) == (len(audit), None)
    del one, three


def test_refusals_name_the_problem(any_rl: Riskloop) -> None:
    registry = any_rl.models.registry
    _register(registry)
    with pytest.raises(NotFound):
        registry.promote("fraud", 7, author="ana", reason="r")
    with pytest.raises(InvalidInput) as bad:
        registry.promote("fraud", 1, alias="boss", author="ana", reason="r")
    assert bad.value.errors[0].field == "alias"
    with pytest.raises(InvalidInput) as why:
        registry.promote("fraud", 1, author="ana", reason=" ")
    assert why.value.errors[0].field == "reason"
    with pytest.raises(ConflictError):
        registry.rollback("fraud", author="ana", reason="nothing to roll back to")
    registry.promote("fraud", 1, author="ana", reason="r")
    with pytest.raises(ConflictError):
        registry.promote("fraud", 1, author="ana", reason="again")
    with pytest.raises(InvalidInput):
        _register(registry, name="Fraud Model")


def test_a_tampered_artifact_is_refused(any_rl: Riskloop) -> None:
    registry = any_rl.models.registry
    version = _register(registry, body=b'{"kind": "logistic"}')
    assert registry.artifact(version) == b'{"kind": "logistic"}'
    path = Path(registry.artifacts.path(version.location)) / "model.json"
    path.write_bytes(b'{"kind": "evil"}')
    with pytest.raises(StorageError, match="does not match"):
        registry.artifact(version)


def test_two_people_changing_one_alias_at_once_cannot_both_win(any_rl: Riskloop) -> None:
    registry = any_rl.models.registry
    for _ in range(3):
        _register(registry)
    registry.promote("fraud", 1, author="ana", reason="start")
    results: list[str] = []
    barrier = threading.Barrier(2)

    def promote(version: int) -> None:
        barrier.wait()
        try:
            registry.promote("fraud", version, author=f"p{version}", reason="race")
            results.append("won")
        except ConflictError:
            results.append("conflict")

    threads = [threading.Thread(target=promote, args=(v,)) for v in (2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    changes = [c for c in registry.history("fraud") if c.alias == "champion"]
    # Whatever the interleaving, the history is a chain: each change starts where the
    # previous one ended, so no promotion was silently lost.
    assert all(b.previous == a.version for a, b in itertools.pairwise(changes))
    assert sorted(results) in (["conflict", "won"], ["won", "won"])
    assert len(changes) == 1 + results.count("won")


def test_a_model_that_cannot_load_leaves_the_previous_one_serving(
    any_rl: Riskloop, caplog: pytest.LogCaptureFixture
) -> None:
    import orjson

    registry, slots = any_rl.models.registry, any_rl.models.slots
    doc = {
        "features": ["card_count_1h"],
        "medians": [0.0],
        "means": [1.0],
        "scales": [2.0],
        "coef": [0.8],
        "intercept": -3.0,
    }
    _register(registry, body=orjson.dumps(doc))
    _register(registry, body=b"not json")
    default, _ = slots.for_event("card_payment")
    assert default is not None and default.version.startswith("points@1")

    any_rl.models.promote("fraud", 1, alias="champion", author="ana", reason="r")
    champion, _ = slots.for_event("card_payment")
    assert champion is not None and champion.version.startswith("fraud@1+")
    score = champion.score({"card_count_1h": 9})
    assert [c.reason for c in score.contributions] == ["HIGH_CARD_COUNT_1H"]

    any_rl.models.promote("fraud", 2, alias="champion", author="ana", reason="broken")
    still, _ = slots.for_event("card_payment")
    assert still is champion
    assert "fraud@2 cannot be loaded" in caplog.text
    assert slots.serving() == {"card_payment": {"champion": champion.version, "challenger": None}}
