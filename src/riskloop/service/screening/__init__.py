"""Sanctions and PEP screening: load list versions, search names, screen the names in a
decision, suppress false positives, and re-screen every customer when a list changes.

- ``service``: :class:`ScreeningService`, the use cases;
- ``index``: the index of the current list versions, rebuilt in the background in a server;
- ``rescreen``: customers against what they have not been screened against yet;
- ``names``: which names a decision screens, whose they are, a search request checked;
- ``ports``: what it needs from storage and the task list.
"""

from riskloop.service.screening.names import QUERY_FIELDS, SCREENED_TYPES, is_pep, parse_query
from riskloop.service.screening.ports import ScreeningStore, TaskRaiser
from riskloop.service.screening.rescreen import RescreenReport
from riskloop.service.screening.service import LoadResult, ScreeningService

__all__ = [
    "QUERY_FIELDS",
    "SCREENED_TYPES",
    "LoadResult",
    "RescreenReport",
    "ScreeningService",
    "ScreeningStore",
    "TaskRaiser",
    "is_pep",
    "parse_query",
]
