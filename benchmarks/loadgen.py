"""A small HTTP/1.1 load generator for loopback benchmarks: keep-alive connections over
asyncio streams (an HTTP client library costs more CPU per request than the server under
test, on the same two cores).

Open loop (``rate``): request i is due at ``start + i / rate`` and its latency is measured
from that moment, so a slow server is not hidden by the generator waiting for it
(coordinated omission). Closed loop (``rate=None``): each connection sends as soon as its
previous answer arrived — the maximum throughput.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Result:
    sent: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    elapsed_s: float = 0.0
    errors: int = 0

    def pct(self, q: float) -> float:
        xs = sorted(self.latencies_ms)
        return xs[min(len(xs) - 1, int(q / 100 * len(xs)))] if xs else float("nan")

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.elapsed_s if self.elapsed_s else 0.0


def _request(host: str, port: int, path: str, body: bytes, key: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"{auth}Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def run(
    host: str,
    port: int,
    path: str,
    bodies: Sequence[bytes],
    *,
    rate: float | None,
    duration_s: float,
    connections: int = 16,
    key: str | None = None,
) -> Result:
    result = Result()
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    start = time.perf_counter()
    total = len(bodies) if rate is None else min(len(bodies), int(rate * duration_s))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while True:
                if rate is None:
                    if result.sent >= total or time.perf_counter() - start > duration_s:
                        return
                    body = bodies[result.sent]
                    result.sent += 1
                    due = time.perf_counter()
                else:
                    item = await queue.get()
                    if item is None:
                        return
                    due, body = item
                writer.write(_request(host, port, path, body, key))
                try:
                    status = await _read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    result.errors += 1
                    return
                result.statuses[status] += 1
                result.latencies_ms.append((time.perf_counter() - due) * 1000)
        finally:
            writer.close()

    async def dispatcher() -> None:
        assert rate is not None
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait((due, bodies[i]))
            result.sent += 1
        for _ in range(connections):
            queue.put_nowait(None)

    tasks = [asyncio.create_task(worker()) for _ in range(connections)]
    if rate is not None:
        tasks.append(asyncio.create_task(dispatcher()))
    await asyncio.gather(*tasks)
    result.elapsed_s = time.perf_counter() - start
    return result
