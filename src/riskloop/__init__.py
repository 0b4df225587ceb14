"""riskloop: real-time risk decisioning for fintech, in one loop that learns from outcomes."""

__version__ = "0.1.0"
