"""``riskloop rules|lists|policies``: the catalogue from the command line."""

from __future__ import annotations

import csv
import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from riskloop.entrypoints.cli_common import app_or_exit, err, out
from riskloop.errors import FieldError, InvalidInput, RiskloopError
from riskloop.service.catalog import PlaybookLoader

rules_app = typer.Typer(no_args_is_help=True, help="Rules in CEL: validate, load, list.")
lists_app = typer.Typer(no_args_is_help=True, help="Block, allow and watch lists.")
policies_app = typer.Typer(no_args_is_help=True, help="Policies: rules and thresholds to outcomes.")

File = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]
Author = Annotated[str, typer.Option(help="who makes the change (default: your user name)")]


def _default_author() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _read(path: Path) -> Any:
    text = path.read_text("utf-8")
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        err.print(
            f"[red]{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}[/red]: {exc}"
        )
        raise typer.Exit(2) from None


def _print_errors(errors: list[FieldError]) -> None:
    for e in errors:
        err.print(f"[red]✗[/red] {e.field}: {e.reason}")


@contextmanager
def refusals(label: str = "not loaded", *, bad_input: int = 1) -> Iterator[None]:
    """Bad input: every problem, exit ``bad_input``; any other refusal: ``label`` and its
    reason, exit 1."""
    try:
        yield
    except InvalidInput as exc:
        _print_errors(exc.errors)
        raise typer.Exit(bad_input) from None
    except RiskloopError as exc:
        err.print(f"[red]{label}:[/red] {exc}")
        raise typer.Exit(1) from None


@rules_app.command("validate")
def rules_validate(file: File) -> None:
    """Type-check a playbook file (lists, rules, policies) without saving anything."""
    rl = app_or_exit()
    try:
        errors = PlaybookLoader(rl.catalog).check(_read(file))
    except InvalidInput as exc:
        errors = exc.errors
    finally:
        rl.close()
    if errors:
        _print_errors(errors)
        err.print(f"{len(errors)} problem(s) in {file}")
        raise typer.Exit(1)
    out.print(f"[green]✓[/green] {file} is valid")


@rules_app.command("load")
def rules_load(file: File, author: Author = "") -> None:
    """Apply a playbook file: new lists, rules and policies, and new versions of changed ones
    (unchanged ones are left alone, so re-running is safe)."""
    rl = app_or_exit()
    try:
        with refusals():
            counts = PlaybookLoader(rl.catalog).apply(_read(file), author or _default_author())
    finally:
        rl.close()
    out.print(json.dumps(counts))


@rules_app.command("list")
def rules_list() -> None:
    """The latest version of every rule."""
    rl = app_or_exit()
    try:
        rules = rl.catalog.rules()
    finally:
        rl.close()
    table = Table("id", "v", "status", "action", "reason", "event types", "expression")
    for r in rules:
        table.add_row(
            r.id,
            str(r.version),
            r.status,
            r.action,
            r.reason,
            ",".join(r.event_types),
            r.expression,
        )
    out.print(table)


def _entries(path: Path, reason: str, expires: str | None) -> list[dict[str, Any]]:
    """One value per line, or a CSV with a ``value`` column (and ``reason``, ``expires_at``)."""
    rows: list[dict[str, Any]] = []
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                entry: dict[str, Any] = {
                    "value": row.get("value", ""),
                    "reason": row.get("reason") or reason,
                }
                if row.get("expires_at") or expires:
                    entry["expires_at"] = row.get("expires_at") or expires
                rows.append(entry)
        return rows
    for line in path.read_text("utf-8").splitlines():
        value = line.split("#", 1)[0].strip()
        if value:
            entry = {"value": value, "reason": reason}
            if expires:
                entry["expires_at"] = expires
            rows.append(entry)
    return rows


@lists_app.command("load")
def lists_load(
    file: Annotated[Path, typer.Argument(exists=True, readable=True)],
    name: Annotated[
        str | None,
        typer.Option(
            "--list",
            help="a block/allow/watch list to add the file's entries to; without it, the "
            "file is a sanctions/PEP list (see --format)",
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="sanctions list format: ofac (a directory with sdn.csv, alt.csv, add.csv), "
            "un (consolidated XML) or ftm (OpenSanctions JSON lines); detected if left out",
        ),
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="sanctions list name (default: by format)")
    ] = None,
    rescreen: Annotated[
        bool, typer.Option(help="re-screen every customer against a changed sanctions list")
    ] = True,
    kind: Annotated[str | None, typer.Option(help="create the list: block, allow or watch")] = None,
    type_: Annotated[
        str | None, typer.Option("--type", help="create the list: device, ip, card_token, ...")
    ] = None,
    reason: Annotated[str, typer.Option(help="reason for entries without one")] = "",
    expires: Annotated[str | None, typer.Option(help="ISO 8601 expiry for every entry")] = None,
    author: Author = "",
) -> None:
    """Bulk-load entries of a block/allow/watch list (``--list``; all or none: card numbers
    and e-mails are stored only as tokens and keyed hashes), or load a sanctions/PEP list
    (a new version when any entry changed; its customers are then re-screened)."""
    who = author or _default_author()
    if name is None:
        from riskloop.entrypoints.cli_screening import load_sanctions

        load_sanctions(file, fmt=fmt, source=source, author=who, rescreen=rescreen)
        return
    if file.is_dir():
        err.print(f"[red]{file}: a directory[/red]: --list loads one CSV or text file")
        raise typer.Exit(2)
    rl = app_or_exit()
    try:
        with refusals():
            if name not in {d.name for d in rl.catalog.lists()}:
                if not (kind and type_):
                    err.print(f"[red]no list {name!r}[/red]: give --kind and --type to create it")
                    raise typer.Exit(1)
                rl.catalog.save_list({"name": name, "kind": kind, "type": type_, "author": who})
            n = rl.catalog.add_entries(name, _entries(file, reason, expires), who)
    finally:
        rl.close()
    out.print(json.dumps({"list": name, "added": n}))


@lists_app.command("list")
def lists_list() -> None:
    rl = app_or_exit()
    try:
        defs = rl.catalog.lists()
        counts = {d.name: len(rl.catalog.entries(d.name)) for d in defs}
    finally:
        rl.close()
    table = Table("name", "kind", "type", "fields", "entries")
    for d in defs:
        table.add_row(d.name, d.kind, d.type, ",".join(d.fields), str(counts[d.name]))
    out.print(table)


@policies_app.command("list")
def policies_list() -> None:
    rl = app_or_exit()
    try:
        policies = rl.catalog.policies()
    finally:
        rl.close()
    table = Table("policy", "status", "event types", "mode", "thresholds", "rules")
    for p in policies:
        t = ", ".join(f"{k}≥{v}" for k, v in p.thresholds.as_dict().items() if v is not None)
        rules = "all by priority" if p.rules is None else ",".join(p.rules)
        table.add_row(p.version_id, p.status, ",".join(p.event_types), p.mode, t, rules)
    out.print(table)
