"""``riskloop consume``: a stream worker on NATS JetStream (docs/streams.md).

It decides (or, with ``--mode ingest``, only stores) the events of
``<RISKLOOP_NATS_PREFIX>.events.>`` as one worker of a durable group; start more with the
same ``--durable`` to share the stream. SIGTERM or SIGINT stops fetching, finishes and
acknowledges what is in flight, prints the summary and exits 0; ``kill -9`` loses nothing
either (what was not acknowledged is delivered again and decided once).
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from typing import Annotated

import orjson
import typer

from riskloop.adapters.nats_bus import NatsBus, redacted
from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.cli_common import app_or_exit, err, out, settings_or_exit
from riskloop.service.bus import BusError, Subjects
from riskloop.service.consume import Consumer
from riskloop.service.stream_handlers import (
    ConsumeSummary,
    Mode,
    dead_letter_table,
    decide_with,
    store_with,
)


@dataclass(frozen=True, slots=True)
class _Options:
    mode: Mode
    durable: str
    concurrency: int
    batch: int
    dead_after: int
    ack_wait: float
    retry_delay: float
    max_messages: int | None
    idle_exit: float | None


async def _run(rl: Riskloop, o: _Options) -> ConsumeSummary:
    settings = rl.settings
    subjects = Subjects(settings.nats_prefix)
    bus = await NatsBus.connect(
        settings.nats_url.get(), stream=settings.nats_stream, subjects=subjects
    )
    handler = (
        decide_with(rl.decisions, subjects) if o.mode is Mode.DECIDE else store_with(rl.ingestor)
    )
    consumer = Consumer(
        bus,
        handler,
        subjects=subjects,
        durable=o.durable,
        concurrency=o.concurrency,
        batch=o.batch,
        dead_after=o.dead_after,
        ack_wait=o.ack_wait,
        retry_delay=o.retry_delay,
        max_messages=o.max_messages,
        idle_exit=o.idle_exit,
        dead_letters=dead_letter_table(rl.ingestor),
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, consumer.stop)
    try:
        return await consumer.run()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await bus.close()


def _print(summary: ConsumeSummary, mode: Mode) -> None:
    s = summary
    done = (
        f"decided {s.decided:,}, replayed {s.replayed:,}"
        if mode is Mode.DECIDE
        else f"stored {s.stored:,}, duplicates {s.duplicates:,}"
    )
    out.print(
        f"processed {s.processed:,} ({done}); dead-lettered {s.dead_lettered:,}, "
        f"retried {s.retried:,}, redelivered {s.redelivered:,}; "
        f"{s.rate:,.0f}/s over {s.busy_seconds:.1f} s",
        markup=False,
        soft_wrap=True,
    )
    if s.outages:
        out.print(
            f"  paused {s.outages:,} times for a shared service, {s.paused_seconds:,.1f} s",
            markup=False,
        )
    for reason, n in s.reasons.most_common():
        out.print(f"  dead-lettered {reason}: {n:,}", markup=False)


def consume_command(
    mode: Annotated[Mode, typer.Option(help="decide each event, or only store it")] = Mode.DECIDE,
    durable: Annotated[
        str | None,
        typer.Option(help="the worker group (durable consumer); default riskloop-<mode>"),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=256, help="events in flight [RISKLOOP_CONSUME_CONCURRENCY]"),
    ] = None,
    batch: Annotated[int, typer.Option(min=1, max=1000, help="most messages per fetch")] = 32,
    max_messages: Annotated[
        int | None, typer.Option(min=1, help="stop after this many deliveries")
    ] = None,
    idle_exit: Annotated[
        float | None, typer.Option(min=0.1, help="stop after this many seconds without messages")
    ] = None,
    ack_wait: Annotated[
        float, typer.Option(min=1.0, help="seconds before an unacknowledged message comes back")
    ] = 30.0,
    retry_delay: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="first retry's delay in seconds, doubled each time; the first pause in an outage",
        ),
    ] = 1.0,
    json_summary: Annotated[
        bool, typer.Option("--json", help="print the summary as one JSON object")
    ] = False,
) -> None:
    """Decide (or store) the events of a NATS JetStream stream, as one worker of a group."""
    settings = settings_or_exit()
    if settings.bus != "nats":
        err.print(
            "riskloop consume reads a NATS JetStream stream: set RISKLOOP_BUS=nats "
            "(and RISKLOOP_NATS_URL if the server is not on 127.0.0.1:4222)"
        )
        raise typer.Exit(2)
    rl = app_or_exit(rebuild_features=mode is Mode.DECIDE)
    o = _Options(
        mode=mode,
        durable=durable or f"riskloop-{mode}",
        concurrency=concurrency or settings.consume_concurrency,
        batch=batch,
        dead_after=settings.consume_dead_after,
        ack_wait=ack_wait,
        retry_delay=retry_delay,
        max_messages=max_messages,
        idle_exit=idle_exit,
    )
    err.print(
        f"consuming {Subjects(settings.nats_prefix).events} from stream "
        f"{settings.nats_stream} at {redacted(settings.nats_url.get())} as {o.durable} "
        f"({mode}, {o.concurrency} in flight)",
        markup=False,
        soft_wrap=True,
    )
    try:
        summary = asyncio.run(_run(rl, o))
    except BusError as exc:
        err.print(f"[red]stream error:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        rl.close()
    if json_summary:
        out.print(orjson.dumps(summary.as_dict()).decode(), markup=False, soft_wrap=True)
    else:
        _print(summary, mode)


if __name__ == "__main__":  # `python -m riskloop.entrypoints.cli_consume` runs the command alone
    typer.run(consume_command)
