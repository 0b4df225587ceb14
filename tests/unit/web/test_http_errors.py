"""The HTTP error mapping: a bus that did not confirm is a 503 that names no server."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from riskloop.entrypoints.http.errors import install
from riskloop.errors import BusError
from riskloop.service import bus


def test_bus_error_is_503_bus_unavailable_without_detail() -> None:
    app = FastAPI()
    install(app)

    @app.get("/publish")
    async def publish() -> None:
        raise BusError("cannot reach NATS at nats://10.0.0.7:4222: TimeoutError")

    response = TestClient(app).get("/publish")
    assert response.status_code == 503
    assert response.json() == {
        "error": {"code": "bus_unavailable", "message": "event bus unavailable"}
    }


def test_bus_error_is_one_class_from_errors_and_the_bus_port() -> None:
    assert bus.BusError is BusError
