"""``riskloop relay``: publish the outbox (new decisions and alerts, written with their
records) to NATS JetStream, in order, each once in effect (docs/streams.md).

``riskloop serve`` runs a relay itself when ``RISKLOOP_BUS=nats``; this command runs one on
its own (a host without a server, or ``--once`` from a timer). Any number may run: one holds
the lease and publishes, the others stand by. SIGTERM or SIGINT finishes the message being
published, gives the lease up and exits 0; after ``kill -9`` the lease lapses and the next
relay publishes again what was published but not yet deleted (dropped by JetStream as a
duplicate within its window).
"""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import orjson
import typer

from riskloop.adapters.nats_bus import redacted
from riskloop.bootstrap import outbox_relay
from riskloop.entrypoints.cli_common import app_or_exit, err, out, settings_or_exit
from riskloop.errors import RiskloopError
from riskloop.service.outbox import OutboxRelay, RelayStats


async def _run(relay: OutboxRelay, once: bool) -> RelayStats:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, relay.stop)
    try:
        return await relay.run(once=once)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def relay_command(
    once: Annotated[
        bool, typer.Option("--once", help="publish what is waiting, then exit (1 on a failure)")
    ] = False,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="rows read at a time")] = 100,
    lease: Annotated[
        float,
        typer.Option(min=1.0, help="seconds another relay waits after this one dies; keep above 5"),
    ] = 15.0,
    poll: Annotated[
        float, typer.Option(min=0.01, max=60.0, help="seconds between looks at an empty outbox")
    ] = 0.2,
    json_summary: Annotated[
        bool, typer.Option("--json", help="print the summary as one JSON object")
    ] = False,
) -> None:
    """Publish the outbox (decisions, alerts) to NATS JetStream; one relay at a time."""
    settings = settings_or_exit()
    if settings.bus != "nats":
        err.print(
            "riskloop relay publishes to NATS JetStream: set RISKLOOP_BUS=nats (with "
            "RISKLOOP_BUS=memory nothing is written to the outbox)"
        )
        raise typer.Exit(2)
    rl = app_or_exit()
    try:
        relay = outbox_relay(rl, batch=batch, lease_s=lease, poll_s=poll)
        err.print(
            f"relaying the outbox to stream {settings.nats_stream} at "
            f"{redacted(settings.nats_url.get())} as {relay.owner}",
            markup=False,
            soft_wrap=True,
        )
        try:
            stats = asyncio.run(_run(relay, once))
        except RiskloopError as exc:  # --once: the bus or the database failed
            err.print(f"[red]relay failed:[/red] {exc}")
            raise typer.Exit(1) from None
        try:
            waiting = relay.store.depth()
        except RiskloopError:
            waiting = -1  # unknown: the database went away
    finally:
        rl.close()
    if json_summary:
        body = {"published": stats.published, "failures": stats.failures, "waiting": waiting}
        out.print(orjson.dumps(body).decode(), markup=False, soft_wrap=True)
    else:
        out.print(
            f"published {stats.published:,}; {waiting:,} waiting; {stats.failures:,} failed passes",
            markup=False,
        )


if __name__ == "__main__":  # `python -m riskloop.entrypoints.cli_relay` runs the command alone
    typer.run(relay_command)
