"""A TestClient that authenticates as an admin API key, for tests of features other than
access control (tests/e2e/test_access.py tests that)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient


class AdminClient(TestClient):
    def __init__(self, app: FastAPI, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        rl = app.state.rl
        _key, secret = rl.access.create_key("tests", ["*"], actor="tests")
        self.headers["Authorization"] = f"Bearer {secret}"


def cli_key(env: dict[str, str], scopes: str = "*") -> str:
    """An API key made the way an operator makes one: ``riskloop apikeys create``."""
    exe = Path(sys.executable).with_name("riskloop")
    done = subprocess.run(
        [str(exe), "apikeys", "create", "tests", "--scopes", scopes],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def authed_schema(rl: Any, app: FastAPI) -> Any:
    """The app's OpenAPI document for schemathesis, every call made with an admin key."""
    import schemathesis

    _key, secret = rl.access.create_key("fuzz", ["*"], actor="tests")
    headers = {"Authorization": f"Bearer {secret}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=headers)
    schema.config.update(headers=headers)
    return schema
