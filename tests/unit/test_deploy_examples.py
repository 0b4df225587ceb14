"""The deployment examples in deploy/ cannot be run here (no container runtime in CI), so
what can rot in them is checked: every RISKLOOP_* setting they set exists and parses, and
every command they run is a riskloop command with options it accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.main import get_command
from typer.testing import CliRunner

from riskloop.config import Settings
from riskloop.entrypoints.cli import app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
K8S = list(yaml.safe_load_all((DEPLOY / "kubernetes" / "riskloop.yaml").read_text()))
# What the Secret the Kubernetes example expects would hold.
K8S_SECRET = {
    "RISKLOOP_DATABASE_URL": "postgresql://riskloop:x@postgres:5432/riskloop",
    "RISKLOOP_REDIS_URL": "redis://redis:6379/0",
    "RISKLOOP_NATS_URL": "nats://nats:4222",
}


def _compose_services() -> dict[str, tuple[dict[str, str], list[str]]]:
    return {
        name: ({k: str(v) for k, v in s.get("environment", {}).items()}, s["command"])
        for name, s in COMPOSE["services"].items()
        if s.get("image") == "riskloop:latest"
    }


def _k8s_containers() -> dict[str, tuple[dict[str, str], list[str]]]:
    config = next(d for d in K8S if d["kind"] == "ConfigMap")["data"]
    out = {}
    for doc in K8S:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        for c in doc["spec"]["template"]["spec"]["containers"]:
            env = {**config, **K8S_SECRET, **{e["name"]: e["value"] for e in c.get("env", [])}}
            out[f"{doc['metadata']['name']}/{c['name']}"] = (env, c["args"])
    return out


CASES = {**_compose_services(), **_k8s_containers()}


def test_the_examples_run_the_api_the_workers_and_the_migration() -> None:
    assert {args[0] for _, args in CASES.values()} == {"serve", "consume", "db"}
    assert all(args[:2] == ["db", "upgrade"] for _, args in CASES.values() if args[0] == "db")
    assert len(CASES) == 6  # init, api, consume; migrate, api, consume


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_setting_exists_and_parses(name: str, tmp_path: Path) -> None:
    env, _ = CASES[name]
    assert all(k.startswith("RISKLOOP_") for k in env)
    settings = Settings.from_env({**env, "RISKLOOP_DATA_DIR": str(tmp_path)})
    assert settings.feature_store == "redis" and settings.bus == "nats"
    assert not settings.is_sqlite and settings.auto_migrate is False


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_command_is_a_riskloop_command_with_its_options(name: str) -> None:
    _, args = CASES[name]
    group: Any = get_command(app)
    assert args[0] in group.commands, args
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
