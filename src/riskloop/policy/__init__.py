"""Policies: rule hits plus the model score become one outcome and its ordered reasons."""

from riskloop.policy.evaluate import PolicyResult, evaluate, stepped_up
from riskloop.policy.model import Mode, Outcome, Policy, PolicyStatus, policy_from_dict

__all__ = [
    "Mode",
    "Outcome",
    "Policy",
    "PolicyResult",
    "PolicyStatus",
    "evaluate",
    "policy_from_dict",
    "stepped_up",
]
