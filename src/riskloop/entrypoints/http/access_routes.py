"""Users, API keys and the audit chain over HTTP. The actor of every change is the
authenticated principal, never a name in the body."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from riskloop.access import ROLES, Principal
from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.http.responses import Json
from riskloop.errors import FieldError, InvalidInput

_Name = Annotated[str, Field(min_length=1, max_length=100)]
_KeyId = Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, Field(min_length=2, max_length=64)]
    role: Literal["analyst", "senior_analyst", "risk_admin", "compliance", "auditor", "admin"]
    password: Annotated[str, Field(min_length=12, max_length=1000)]


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: (
        Literal["analyst", "senior_analyst", "risk_admin", "compliance", "auditor", "admin"] | None
    ) = None
    disabled: Literal[True] | None = None
    password: Annotated[str, Field(min_length=12, max_length=1000)] | None = None


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: _Name
    scopes: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(min_length=1)]
    expires_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class Rotation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grace_hours: Annotated[float, Field(ge=0, le=720)] = 24.0


def _who(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


def router(rl: Riskloop) -> APIRouter:
    api = APIRouter(tags=["access"])
    access = rl.access

    @api.get("/v1/me")
    async def me(request: Request) -> dict[str, Any]:
        """Who this request acts as, and what it may do."""
        p = _who(request)
        return {
            "name": p.name,
            "kind": p.kind,
            "role": p.role,
            "mfa": p.mfa,
            "permissions": sorted(p.permissions),
        }

    @api.get("/v1/users")
    async def list_users() -> dict[str, Any]:
        users = await run_in_threadpool(access.users)
        return {"users": [u.as_dict() for u in users], "roles": sorted(ROLES)}

    @api.post("/v1/users", status_code=201)
    async def add_user(body: NewUser, request: Request) -> dict[str, Any]:
        """Create a user. The answer carries the TOTP secret and its otpauth:// URI once:
        give them to the user to enrol an authenticator app."""
        from riskloop.access.credentials import totp_uri

        actor = _who(request).name
        secret = await run_in_threadpool(
            lambda: access.add_user(body.username, body.role, body.password, actor=actor)
        )
        return {
            "username": body.username,
            "role": body.role,
            "totp_secret": secret,
            "totp_uri": totp_uri(secret, body.username),
        }

    @api.patch("/v1/users/{username}")
    async def change_user(username: str, body: UserChange, request: Request) -> dict[str, Any]:
        actor = _who(request).name
        if body.role is None and body.disabled is None and body.password is None:
            raise InvalidInput([FieldError("body", "give role, disabled or password")])

        def run() -> None:
            if body.role is not None:
                access.set_role(username, body.role, actor=actor)
            if body.password is not None:
                access.set_password(username, body.password, actor=actor)
            if body.disabled:
                access.disable(username, actor=actor)

        await run_in_threadpool(run)
        return {"username": username, "changed": sorted(body.model_dump(exclude_none=True))}

    @api.get("/v1/apikeys")
    async def list_keys() -> dict[str, Any]:
        keys = await run_in_threadpool(access.keys)
        return {"keys": [k.as_dict() for k in keys]}

    @api.post("/v1/apikeys", status_code=201)
    async def create_key(body: NewKey, request: Request) -> dict[str, Any]:
        """A new key. ``secret`` is shown once; riskloop keeps only its digest."""
        actor = _who(request).name
        key, secret = await run_in_threadpool(
            lambda: access.create_key(
                body.name, body.scopes, actor=actor, expires_days=body.expires_days
            )
        )
        return {**key.as_dict(), "secret": secret}

    @api.post("/v1/apikeys/{key_id}/rotate", status_code=201)
    async def rotate_key(key_id: _KeyId, request: Request, body: Rotation | None = None) -> Any:
        actor = _who(request).name
        grace = (body or Rotation()).grace_hours
        key, secret = await run_in_threadpool(
            lambda: access.rotate_key(key_id, actor=actor, grace_hours=grace)
        )
        return {**key.as_dict(), "secret": secret, "replaces": key_id}

    @api.post("/v1/apikeys/{key_id}/revoke")
    async def revoke_key(key_id: _KeyId, request: Request) -> dict[str, Any]:
        actor = _who(request).name
        await run_in_threadpool(lambda: access.revoke_key(key_id, actor=actor))
        return {"key_id": key_id, "revoked": True}

    @api.get("/v1/audit/verify", tags=["audit"])
    async def verify() -> Json:
        """Walk the chain, the decision seals and the signed checkpoints."""
        report = await run_in_threadpool(rl.audit.verify)
        return Json(report.as_dict(), status_code=200)

    @api.get("/v1/audit/export", tags=["audit"])
    async def export(
        request: Request,
        since: Annotated[datetime, Query()],
        until: Annotated[datetime, Query()],
    ) -> StreamingResponse:
        """The audit entries in ``[since, until)`` as NDJSON, each with its hashes so the
        export can be checked against the chain. The export itself is audited."""
        actor = _who(request).name
        entries = await run_in_threadpool(lambda: rl.audit.export(since, until, actor=actor))

        def lines() -> Iterator[bytes]:
            for e in entries:
                yield orjson.dumps(e.as_dict()) + b"\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    return api
