"""Use cases: what riskloop does with an event, a file, a key rotation."""

from riskloop.service.ingest import BatchProgress, ImportSummary, Ingestor

__all__ = ["BatchProgress", "ImportSummary", "Ingestor"]
