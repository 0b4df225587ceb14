"""``riskloop users|apikeys|audit``: people, service keys and the tamper-evident chain.

Commands run by someone with shell access to the deployment act as ``cli:<os user>`` in the
audit chain (unless ``--actor`` names them); that is how the first admin is made.
"""

from __future__ import annotations

import getpass
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from riskloop.access import ROLES
from riskloop.access.credentials import totp_uri
from riskloop.entrypoints.cli_catalog import refusals
from riskloop.entrypoints.cli_common import app_or_exit, err, out

users_app = typer.Typer(no_args_is_help=True, help="Dashboard users and their roles.")
apikeys_app = typer.Typer(no_args_is_help=True, help="API keys for services.")
audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit chain.")

Actor = Annotated[str | None, typer.Option(help="who does this (default cli:<os user>)")]


def cli_actor(given: str | None = None) -> str:
    """Who a shell command acts as in the audit chain."""
    if given:
        return given
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")],
    password_env: Annotated[
        str, typer.Option(help="read the password from this environment variable")
    ] = "RISKLOOP_NEW_PASSWORD",  # noqa: S107 (the name of a variable, not a password)
    actor: Actor = None,
) -> None:
    """Add a user and print the TOTP secret to enrol (shown once). The password comes from
    the environment or a prompt, never the command line (shell history, ps)."""
    password = os.environ.get(password_env) or typer.prompt(
        "password", hide_input=True, confirmation_prompt=True
    )
    rl = app_or_exit()
    try:
        with refusals("refused", bad_input=2):
            secret = rl.access.add_user(username, role, password, actor=cli_actor(actor))
    finally:
        rl.close()
    out.print(f"[green]✓[/green] user {username} ({role}) added")
    out.print(f"TOTP secret: {secret}")
    out.print(f"otpauth URI: {totp_uri(secret, username)}")


@users_app.command("list")
def users_list() -> None:
    rl = app_or_exit()
    try:
        users = rl.access.users()
    finally:
        rl.close()
    table = Table("username", "role", "created", "by", "disabled")
    for u in users:
        disabled = u.disabled_at.isoformat() if u.disabled_at else ""
        table.add_row(u.username, u.role, u.created_at.isoformat(), u.created_by, disabled)
    out.print(table)


@users_app.command("set-role")
def users_set_role(username: str, role: str, actor: Actor = None) -> None:
    """Change a user's role; their sessions end at once."""
    rl = app_or_exit()
    try:
        with refusals("refused", bad_input=2):
            rl.access.set_role(username, role, actor=cli_actor(actor))
    finally:
        rl.close()
    out.print(f"[green]✓[/green] {username} is now {role}")


@users_app.command("disable")
def users_disable(username: str, actor: Actor = None) -> None:
    rl = app_or_exit()
    try:
        with refusals("refused", bad_input=2):
            rl.access.disable(username, actor=cli_actor(actor))
    finally:
        rl.close()
    out.print(f"[green]✓[/green] {username} disabled")


@apikeys_app.command("create")
def apikeys_create(
    name: str,
    scopes: Annotated[str, typer.Option(help='comma-separated permissions, or "*"')],
    expires_days: Annotated[int | None, typer.Option(min=1, max=3650)] = None,
    actor: Actor = None,
) -> None:
    """Create an API key and print its secret (shown once)."""
    rl = app_or_exit()
    try:
        with refusals("refused", bad_input=2):
            key, secret = rl.access.create_key(
                name, scopes.split(","), actor=cli_actor(actor), expires_days=expires_days
            )
    finally:
        rl.close()
    err.print(f"[green]✓[/green] key {key.key_id} ({', '.join(key.scopes)})")
    print(secret)  # alone on stdout, so scripts can capture it


@apikeys_app.command("list")
def apikeys_list() -> None:
    rl = app_or_exit()
    try:
        keys = rl.access.keys()
    finally:
        rl.close()
    table = Table("key id", "name", "scopes", "expires", "revoked", "rotated to", "last used")
    for k in keys:
        d = k.as_dict()
        table.add_row(
            k.key_id,
            k.name,
            ",".join(k.scopes),
            d["expires_at"] or "",
            d["revoked_at"] or "",
            k.rotated_to or "",
            d["last_used_at"] or "",
        )
    out.print(table)


@apikeys_app.command("rotate")
def apikeys_rotate(
    key_id: str,
    grace_hours: Annotated[float, typer.Option(min=0, max=720)] = 24.0,
    actor: Actor = None,
) -> None:
    """A new key with the same scopes; the old one works for ``--grace-hours`` more."""
    rl = app_or_exit()
    try:
        with refusals("refused", bad_input=2):
            key, secret = rl.access.rotate_key(
                key_id, actor=cli_actor(actor), grace_hours=grace_hours
            )
    finally:
        rl.close()
    err.print(f"[green]✓[/green] key {key.key_id} replaces {key_id}")
    print(secret)


@apikeys_app.command("revoke")
def apikeys_revoke(key_id: str, actor: Actor = None) -> None:
    rl = app_or_exit()
    try:
        with refusals("refused", bad_input=2):
            rl.access.revoke_key(key_id, actor=cli_actor(actor))
    finally:
        rl.close()
    out.print(f"[green]✓[/green] key {key_id} revoked")


@audit_app.command("verify")
def audit_verify(
    seal: Annotated[bool, typer.Option(help="seal pending decisions first")] = False,
) -> None:
    """Check the chain, the sealed decisions and the signed checkpoints; exit 1 on any
    change or removal."""
    rl = app_or_exit()
    try:
        if seal:
            rl.audit.seal()
        report = rl.audit.verify()
    finally:
        rl.close()
    if not report.ok:
        if report.broken_at is not None:
            err.print(
                f"[red]✗ audit chain broken at entry {report.broken_at}[/red]: {report.problem}"
            )
        for seq in report.bad_batches:
            err.print(f"[red]✗ decisions sealed by entry {seq} were changed or removed[/red]")
        for seq in report.bad_checkpoints:
            err.print(f"[red]✗ checkpoint at entry {seq} does not match the chain[/red]")
        err.print(f"({report.entries} entries checked)")
        raise typer.Exit(1)
    out.print(
        f"[green]✓[/green] audit chain intact: {report.entries} entries, "
        f"{report.sealed_decisions} decisions in {report.sealed_batches} seals, "
        f"{report.checkpoints} signed checkpoints; {report.unsealed_decisions} decisions "
        "not sealed yet"
    )
    if report.head is not None:
        out.print(f"head: {report.head[0]} {report.head[1]}")


@audit_app.command("seal")
def audit_seal() -> None:
    """Seal recorded decisions into the chain now (``serve`` does it every few seconds)."""
    rl = app_or_exit()
    try:
        n = rl.audit.seal()
    finally:
        rl.close()
    out.print(f"[green]✓[/green] {n} decisions sealed")


@audit_app.command("export")
def audit_export(
    since_text: Annotated[str, typer.Option("--since", help="from (inclusive), ISO 8601")],
    until_text: Annotated[str, typer.Option("--until", help="to (exclusive), ISO 8601")],
    out_file: Annotated[Path, typer.Option("--out", help="NDJSON file to write")],
    actor: Actor = None,
) -> None:
    """Export the entries of a time range as NDJSON (the export is audited)."""
    times = []
    for option, text in (("--since", since_text), ("--until", until_text)):
        try:
            times.append(datetime.fromisoformat(text))
        except ValueError:
            err.print(f"[red]✗[/red] {option}: not an ISO 8601 time ({text!r})")
            raise typer.Exit(2) from None
    rl = app_or_exit()
    try:
        with refusals("refused", bad_input=2):
            entries = rl.audit.export(*times, actor=cli_actor(actor))
    finally:
        rl.close()
    with out_file.open("wb") as f:
        for e in entries:
            f.write(orjson.dumps(e.as_dict()) + b"\n")
    out.print(f"[green]✓[/green] {len(entries)} entries written to {out_file}")
