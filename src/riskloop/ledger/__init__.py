"""The ledger: decision records, durable before the answer, and the hash-chained audit log."""

from riskloop.ledger.audit import AuditEntry, chain_hash, verify_chain
from riskloop.ledger.ports import AuditLog, CatalogStore, DecisionLedger
from riskloop.ledger.records import Decision, RuleResult, new_decision_id

__all__ = [
    "AuditEntry",
    "AuditLog",
    "CatalogStore",
    "Decision",
    "DecisionLedger",
    "RuleResult",
    "chain_hash",
    "new_decision_id",
    "verify_chain",
]
