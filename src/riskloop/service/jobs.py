"""Batch jobs (training, backfills, imports) that fail leave a task behind, so a failure at
3 a.m. is on someone's list in the morning rather than only in a log.

>>> from riskloop.cases.tasks import MemoryTaskStore, TaskService
>>> tasks = TaskService(MemoryTaskStore())
>>> try:
...     with job_guard(tasks, "nightly-backfill"):
...         raise RuntimeError("card 4111111111111111 broke it")
... except RuntimeError:
...     pass
>>> task = tasks.list()[0]
>>> (task.key, task.detail["error"], task.detail["message"])
('job:nightly-backfill', 'RuntimeError', 'card 411111******1111 broke it')
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from riskloop.cases.tasks import TaskKind, TaskService
from riskloop.vault import mask_text

log = logging.getLogger(__name__)


@contextmanager
def job_guard(tasks: TaskService | None, name: str, *, actor: str = "riskloop") -> Iterator[None]:
    """Run the body; if it raises, raise (or count once more) the ``job_failure`` task keyed
    ``job:<name>`` and re-raise. Failing to record the task is logged and never hides the
    job's own error."""
    try:
        yield
    except Exception as exc:
        if tasks is not None:
            message = mask_text(str(exc))[:1000]
            try:
                tasks.raise_task(
                    TaskKind.JOB_FAILURE,
                    f"Job {name!r} failed: {type(exc).__name__}"[:200],
                    key=f"job:{name}"[:200],
                    detail={"job": name, "error": type(exc).__name__, "message": message},
                    actor=actor,
                )
            except Exception:
                log.exception("could not raise a task for the failed job %s", name)
        raise
