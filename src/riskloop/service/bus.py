"""The event bus port: durable subscriptions of acknowledged messages, and publishing.

Events arrive on ``<prefix>.events.<event_type>``; decisions leave on
``<prefix>.decisions.<outcome>``; what cannot be processed goes to
``<prefix>.dead.<original subject>`` (see docs/streams.md). Two adapters implement it:
``adapters.nats_bus`` (NATS JetStream, durable across processes) and ``adapters.memory_bus``
(in-process, the embedded default and the tests' bus).

The port **fails closed**: :meth:`EventBus.publish` returns only once the bus has stored the
message and raises :class:`BusError` otherwise, so a caller acknowledges its input only after
its output is safe. A message that is neither acked, naked nor termed is delivered again
after the subscription's ``ack_wait``: nothing taken from the bus is lost by a crash.

>>> s = Subjects("riskloop")
>>> s.event("card_payment"), s.decision("decline")
('riskloop.events.card_payment', 'riskloop.decisions.decline')
>>> s.dead("riskloop.events.card_payment")
'riskloop.dead.riskloop.events.card_payment'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from riskloop.errors import BusError

__all__ = ["BusError", "EventBus", "Message", "Subjects", "Subscription"]


@dataclass(frozen=True, slots=True)
class Subjects:
    """The subject names under one prefix (``RISKLOOP_NATS_PREFIX``)."""

    prefix: str = "riskloop"

    @property
    def events(self) -> str:
        """Every input event: what a worker group subscribes to."""
        return f"{self.prefix}.events.>"

    def event(self, event_type: str) -> str:
        return f"{self.prefix}.events.{event_type}"

    def decision(self, outcome: str) -> str:
        return f"{self.prefix}.decisions.{outcome}"

    def dead(self, subject: str) -> str:
        return f"{self.prefix}.dead.{subject}"

    def alert(self, kind: str) -> str:
        """A new task (an alert) of ``kind``, published by the outbox relay."""
        return f"{self.prefix}.alerts.{kind}"

    @property
    def all(self) -> tuple[str, ...]:
        """What a stream must capture: events, decisions, dead letters and alerts."""
        return (
            self.events,
            f"{self.prefix}.decisions.>",
            f"{self.prefix}.dead.>",
            f"{self.prefix}.alerts.>",
        )


class Message(Protocol):
    """One delivery of a stored message; settle it exactly once with ack, nak or term."""

    @property
    def subject(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def num_delivered(self) -> int:
        """1 on the first delivery, 2 on the first redelivery, and so on."""
        ...

    async def ack(self) -> None:
        """Done: never deliver it again."""

    async def nak(self, delay: float = 0.0) -> None:
        """Not done: deliver it again after ``delay`` seconds."""

    async def term(self) -> None:
        """Never deliver it again, although it was not processed (it was dead-lettered)."""


class Subscription(Protocol):
    async def fetch(self, batch: int, timeout: float) -> Sequence[Message]:
        """Up to ``batch`` messages; waits at most ``timeout`` seconds for the first one and
        returns an empty sequence if none came."""
        ...


class EventBus(Protocol):
    async def publish(
        self,
        subject: str,
        data: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        msg_id: str | None = None,
    ) -> None:
        """Store a message; a second publish with the same ``msg_id`` within the bus's
        de-duplication window is dropped. Raises :class:`BusError` if not confirmed."""
        ...

    async def subscribe(self, subject: str, durable: str, *, ack_wait: float) -> Subscription:
        """The durable pull subscription ``durable`` (created if missing) over ``subject``:
        the processes that share the name share its messages, each delivered to one."""
        ...

    async def close(self) -> None: ...
