"""The app of one server process, built from the environment: what ``riskloop serve
--workers N`` gives uvicorn, which starts N such processes behind one socket."""

from __future__ import annotations

import atexit

from fastapi import FastAPI

from riskloop.bootstrap import build
from riskloop.config import Settings
from riskloop.entrypoints.http.app import create_app
from riskloop.entrypoints.logs import configure_logging


def create_from_env() -> FastAPI:
    """Migrations and the keyring were made by the parent before the workers started (it
    sets RISKLOOP_AUTO_MIGRATE=false for them); feature state is shared in Redis, so a
    worker has nothing to rebuild."""
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    rl = build(settings)
    atexit.register(rl.close)
    return create_app(rl)
