"""The event bus on NATS JetStream (nats-py): one stream, file storage, durable pull
consumers with explicit acks.

The stream (``RISKLOOP_NATS_STREAM``) captures the events, decisions, dead letters and alerts
under one prefix and is created if missing; a durable consumer is created (or has its
``ack_wait`` updated) on subscribe, with no server-side delivery limit: the worker decides
when a message is dead (``riskloop.service.consume``). Publishing waits for JetStream's
acknowledgement and sets ``Nats-Msg-Id`` so a re-published message is dropped within the
stream's de-duplication window. Every failure of the server surfaces as ``BusError``.

The client reconnects on its own while the worker runs; only the first connection is
bounded (``connect_attempts``), so a worker started without a server stops with a message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from riskloop.service.bus import BusError, Subjects

log = logging.getLogger(__name__)
DEDUPE_WINDOW_S = 120.0


def redacted(url: str) -> str:
    """The servers of a URL list without credentials, for messages.

    >>> redacted("nats://user:secret@10.0.0.1:4222,nats://10.0.0.2:4222")
    'nats://10.0.0.1:4222,nats://10.0.0.2:4222'
    """
    parts = []
    for one in url.split(","):
        p = urlsplit(one.strip())
        parts.append(f"{p.scheme}://{p.hostname}" + (f":{p.port}" if p.port else ""))
    return ",".join(parts)


class NatsMessage:
    __slots__ = ("_msg",)

    def __init__(self, msg: Msg) -> None:
        self._msg = msg

    @property
    def subject(self) -> str:
        return self._msg.subject

    @property
    def data(self) -> bytes:
        return self._msg.data

    @property
    def headers(self) -> Mapping[str, str]:
        return self._msg.headers or {}

    @property
    def num_delivered(self) -> int:
        return self._msg.metadata.num_delivered

    async def ack(self) -> None:
        # Confirmed by the server: a plain ack is fire-and-forget, so the next fetch could
        # reach the server first and find more than `concurrency` unacknowledged, and a lost
        # ack would go unnoticed (the message comes back, decided again as a replay).
        try:
            await self._msg.ack_sync(timeout=5.0)
        except (nats.errors.Error, TimeoutError) as exc:
            raise BusError(f"ack failed: {type(exc).__name__}") from exc

    async def nak(self, delay: float = 0.0) -> None:
        try:
            await self._msg.nak(delay=delay or None)
        except nats.errors.Error as exc:
            raise BusError(f"nak failed: {type(exc).__name__}") from exc

    async def term(self) -> None:
        try:
            await self._msg.term()
        except nats.errors.Error as exc:
            raise BusError(f"term failed: {type(exc).__name__}") from exc


class NatsSubscription:
    def __init__(self, sub: JetStreamContext.PullSubscription) -> None:
        self._sub = sub

    async def fetch(self, batch: int, timeout: float) -> Sequence[NatsMessage]:
        try:
            msgs = await self._sub.fetch(batch, timeout=timeout)
        except (TimeoutError, nats.errors.TimeoutError):
            return []
        except nats.errors.Error as exc:
            raise BusError(f"fetch failed: {type(exc).__name__}: {exc}") from exc
        return [NatsMessage(m) for m in msgs]


class NatsBus:
    def __init__(self, nc: Client, js: JetStreamContext, stream: str) -> None:
        self.nc, self.js, self.stream = nc, js, stream

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        stream: str,
        subjects: Subjects,
        connect_attempts: int = 3,
        timeout: float = 5.0,
    ) -> NatsBus:
        """Connect and make sure the stream exists; ``BusError`` if the server is not there
        (after ``connect_attempts`` tries a second apart) or refuses the stream."""

        async def on_error(exc: Exception) -> None:
            log.warning("NATS (%s): %s: %s", redacted(url), type(exc).__name__, exc)

        connected: list[Client] = []

        async def on_disconnect() -> None:
            if connected and not connected[0].is_closed:  # not our own close
                log.warning("NATS disconnected (%s); reconnecting", redacted(url))

        async def on_reconnect() -> None:
            log.info("NATS reconnected (%s)", redacted(url))

        try:
            nc = await nats.connect(
                [u.strip() for u in url.split(",")],
                connect_timeout=2,
                reconnect_time_wait=1,
                max_reconnect_attempts=connect_attempts,
                error_cb=on_error,
                disconnected_cb=on_disconnect,
                reconnected_cb=on_reconnect,
            )
        except (TimeoutError, nats.errors.Error, OSError) as exc:
            raise BusError(f"cannot reach NATS at {redacted(url)}: {type(exc).__name__}") from exc
        # Connected: from now on ride out an outage for as long as it lasts (the worker keeps
        # its messages unacked meanwhile; the server delivers them again after ack_wait).
        nc.options["max_reconnect_attempts"] = -1
        connected.append(nc)
        bus = cls(nc, nc.jetstream(timeout=timeout), stream)
        try:
            await bus._ensure_stream(subjects)
        except BaseException:
            await nc.close()
            raise
        return bus

    async def _ensure_stream(self, subjects: Subjects) -> None:
        try:
            await self.js.stream_info(self.stream)
            return
        except nats.js.errors.NotFoundError:
            pass
        except nats.errors.Error as exc:
            raise BusError(f"stream {self.stream}: {type(exc).__name__}: {exc}") from exc
        config = api.StreamConfig(
            name=self.stream,
            subjects=list(subjects.all),  # a subject no stream captures is refused
            storage=api.StorageType.FILE,
            retention=api.RetentionPolicy.LIMITS,
            duplicate_window=DEDUPE_WINDOW_S,
        )
        try:
            await self.js.add_stream(config)
        except nats.errors.Error as exc:
            raise BusError(f"cannot create stream {self.stream}: {exc}") from exc
        log.info("created JetStream stream %s for %s", self.stream, ", ".join(subjects.all))

    async def publish(
        self,
        subject: str,
        data: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        msg_id: str | None = None,
    ) -> None:
        hdrs = dict(headers or {})
        if msg_id is not None:
            hdrs["Nats-Msg-Id"] = msg_id
        try:
            await self.js.publish(subject, data, headers=hdrs or None)
        except (TimeoutError, nats.errors.Error) as exc:
            raise BusError(f"publish to {subject} failed: {type(exc).__name__}") from exc

    async def subscribe(
        self, subject: str, durable: str, *, ack_wait: float = 30.0
    ) -> NatsSubscription:
        config = api.ConsumerConfig(
            durable_name=durable,
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL,
            ack_wait=ack_wait,
            max_deliver=-1,
            filter_subject=subject,
        )
        try:
            # Creates the consumer, or updates the one there (ack_wait may change).
            await self.js.add_consumer(self.stream, config)
            sub = await self.js.pull_subscribe_bind(durable, stream=self.stream)
        except (TimeoutError, nats.errors.Error) as exc:
            raise BusError(f"consumer {durable}: {type(exc).__name__}: {exc}") from exc
        return NatsSubscription(sub)

    async def close(self) -> None:
        if self.nc.is_closed:
            return
        try:  # the last acks reach the server before the socket closes
            await self.nc.flush(timeout=2)
        except (TimeoutError, nats.errors.Error) as exc:
            log.warning("NATS flush before close failed: %s", type(exc).__name__)
        await self.nc.close()
