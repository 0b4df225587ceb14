"""A throwaway JetStream stream and subject prefix on the real server (127.0.0.1:4222, or
``TEST_NATS_URL``) for the outbox tests, and reading back what it stored."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

import nats
import orjson
import pytest
from nats.js.errors import NotFoundError

from riskloop.adapters.nats_bus import NatsBus
from riskloop.service.bus import BusError, Subjects

NATS_URL = os.environ.get("TEST_NATS_URL", "nats://127.0.0.1:4222")


@dataclass(frozen=True)
class Stored:
    """One message as the stream holds it."""

    subject: str
    msg_id: str
    body: Any


class TestStream:
    __test__ = False  # not a test class

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:10]
        self.name = f"RLTEST_{tag.upper()}"
        self.subjects = Subjects(f"rltest.{tag}")

    def env(self, url: str = NATS_URL) -> dict[str, str]:
        """The settings that make riskloop publish to this stream."""
        return {
            "RISKLOOP_BUS": "nats",
            "RISKLOOP_NATS_URL": url,
            "RISKLOOP_NATS_STREAM": self.name,
            "RISKLOOP_NATS_PREFIX": self.subjects.prefix,
        }

    def create(self) -> None:
        async def main() -> None:
            bus = await NatsBus.connect(
                NATS_URL, stream=self.name, subjects=self.subjects, connect_attempts=1
            )
            await bus.close()

        asyncio.run(main())

    def delete(self) -> None:
        async def main() -> None:
            nc = await nats.connect(NATS_URL)
            with contextlib.suppress(NotFoundError):
                await nc.jetstream().delete_stream(self.name)
            await nc.close()

        asyncio.run(main())

    def read(self, subject: str) -> list[Stored]:
        """Everything the stream holds on ``subject`` (a wildcard is fine), in stream order."""

        async def main() -> list[Stored]:
            nc = await nats.connect(NATS_URL)
            js = nc.jetstream()
            try:
                sub = await js.pull_subscribe(subject, stream=self.name)
                got: list[Stored] = []
                while True:
                    try:
                        msgs = await sub.fetch(500, timeout=0.3)
                    except TimeoutError:
                        break
                    for m in msgs:
                        got.append(
                            Stored(
                                m.subject,
                                (m.headers or {}).get("Nats-Msg-Id", ""),
                                orjson.loads(m.data),
                            )
                        )
                        await m.ack()
                await sub.unsubscribe()
                return got
            finally:
                await nc.close()

        return asyncio.run(main())

    def wait_for(self, subject: str, count: int, timeout: float = 10.0) -> list[Stored]:
        """Read ``subject`` until it holds ``count`` messages (or ``timeout`` passes)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.read(subject)
            if len(got) >= count or time.monotonic() > deadline:
                return got
            time.sleep(0.1)


_unreachable: list[BusError] = []  # probed once: a down server costs a second per try


def make_stream() -> TestStream:
    """A new stream, or a skip (locally) / failure (CI) when NATS is not there."""
    s = TestStream()
    try:
        if _unreachable:
            raise _unreachable[0]
        s.create()
    except BusError as exc:
        _unreachable[:] = [exc]
        if os.environ.get("CI"):
            raise
        pytest.skip(f"NATS not reachable: {exc}")
    return s
