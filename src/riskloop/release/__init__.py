"""Safe change: backtests, shadow reports, canaries with guardrails and rollback."""
