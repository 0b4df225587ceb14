"""A deterministic simulator of a fintech's customers, traffic, fraud and outcomes.

``simulate(out_dir)`` writes ``events.ndjson`` and ``labels.ndjson`` for ``riskloop import
events|labels``, ``truth.ndjson`` (which events are fraud, and why) and ``manifest.json``.
"""

from riskloop.simulate.simulation import DEFAULT_END, PATTERNS, SimulationSummary, simulate

__all__ = ["DEFAULT_END", "PATTERNS", "SimulationSummary", "simulate"]
