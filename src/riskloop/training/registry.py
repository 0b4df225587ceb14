"""The model registry: numbered versions of each named model with their artifacts, metrics,
lineage and model card, and aliases (``champion``, ``challenger``) that say which version
serves. Every alias change is appended to a history (who, when, why, from which version) and
to the audit chain; nothing is ever overwritten, so a rollback is one more change.

Artifacts live in an :class:`ArtifactStore` (a folder per version by default) and are
checked against the SHA-256 recorded at registration when they are loaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from riskloop.errors import ConflictError, FieldError, InvalidInput, NotFound, StorageError
from riskloop.ledger.audit import AuditEntry

ALIASES = ("champion", "challenger")
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    kind: str  # lightgbm | logistic
    event_type: str
    features: tuple[str, ...]
    artifact: str  # the model file's name inside the version's folder
    sha256: str
    location: str  # the version's folder in the artifact store
    created_at: datetime
    created_by: str
    metrics: Mapping[str, Any] = field(default_factory=dict)
    lineage: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def ref(self) -> str:
        """What a decision record names: ``fraud@3``."""
        return f"{self.name}@{self.version}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "event_type": self.event_type,
            "features": list(self.features),
            "artifact": self.artifact,
            "sha256": self.sha256,
            "location": self.location,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "metrics": dict(self.metrics),
            "lineage": dict(self.lineage),
            "params": dict(self.params),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelVersion:
        return cls(
            name=d["name"],
            version=int(d["version"]),
            kind=d["kind"],
            event_type=d["event_type"],
            features=tuple(d["features"]),
            artifact=d["artifact"],
            sha256=d["sha256"],
            location=d["location"],
            created_at=datetime.fromisoformat(d["created_at"]),
            created_by=d["created_by"],
            metrics=d.get("metrics", {}),
            lineage=d.get("lineage", {}),
            params=d.get("params", {}),
            note=d.get("note", ""),
        )


@dataclass(frozen=True)
class AliasChange:
    name: str
    alias: str
    version: int | None  # None: the alias was removed
    previous: int | None
    at: datetime
    actor: str
    reason: str
    seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "name": self.name,
            "alias": self.alias,
            "version": self.version,
            "previous": self.previous,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "reason": self.reason,
        }


class ModelStore(Protocol):
    """Versions and alias history; each change is written with its audit entry."""

    def next_version(self, name: str) -> int: ...

    def add_version(self, version: ModelVersion, audit: AuditEntry) -> None:
        """Conflict if the number is taken (another trainer registered first)."""
        ...

    def versions(self, name: str | None = None) -> list[ModelVersion]: ...

    def alias_history(self, name: str | None = None) -> list[AliasChange]: ...

    def change_alias(self, change: AliasChange, audit: AuditEntry) -> AliasChange:
        """Append ``change`` unless the alias moved since ``change.previous`` was read."""
        ...


class ArtifactStore(Protocol):
    def put(self, name: str, version: int, files: Mapping[str, bytes]) -> str:
        """All files or none, in a new folder; returns where."""
        ...

    def get(self, location: str, file: str) -> bytes: ...

    def path(self, location: str) -> str: ...


def check_name(name: str) -> str:
    if not name or len(name) > 64 or not set(name) <= NAME_CHARS or not name[0].isalpha():
        raise InvalidInput(
            [FieldError("name", "1-64 characters: lowercase letters, digits, '-' or '_'")]
        )
    return name


def check_text(value: Any, where: str, *, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > 500:
        raise InvalidInput([FieldError(where, "required text, at most 500 characters")])
    return value.strip()


class ModelRegistry:
    def __init__(
        self,
        store: ModelStore,
        artifacts: ArtifactStore,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.artifacts = artifacts
        self.clock = clock

    def register(
        self,
        *,
        name: str,
        kind: str,
        event_type: str,
        features: Sequence[str],
        artifact_name: str,
        files: Callable[[str], Mapping[str, bytes]],
        author: str,
        metrics: Mapping[str, Any],
        lineage: Mapping[str, Any],
        params: Mapping[str, Any],
        note: str = "",
    ) -> ModelVersion:
        """Store the files (``files(ref)`` renders them for the version's ``name@number``),
        then the version row: a version that exists always has its files (a crash in
        between leaves an unreferenced folder, never a dangling row)."""
        check_name(name)
        author = check_text(author, "author")
        for _ in range(3):  # a concurrent trainer may take the number first
            number = self.store.next_version(name)
            rendered = files(f"{name}@{number}")
            location = self.artifacts.put(name, number, rendered)
            version = ModelVersion(
                name=name,
                version=number,
                kind=kind,
                event_type=event_type,
                features=tuple(features),
                artifact=artifact_name,
                sha256=hashlib.sha256(rendered[artifact_name]).hexdigest(),
                location=location,
                created_at=self.clock(),
                created_by=author,
                metrics=metrics,
                lineage=lineage,
                params=params,
                note=note,
            )
            audit = AuditEntry(
                author, "model.register", "model", version.ref, {"kind": kind}, self.clock()
            )
            try:
                self.store.add_version(version, audit)
            except ConflictError:
                continue
            return version
        raise ConflictError("model", name, "version numbers keep being taken; retry")

    def versions(self, name: str | None = None) -> list[ModelVersion]:
        return self.store.versions(name)

    def version(self, name: str, version: int) -> ModelVersion:
        for v in self.store.versions(name):
            if v.version == version:
                return v
        raise NotFound("model", f"{name}@{version}")

    def aliases(self) -> dict[tuple[str, str], int]:
        """``(name, alias) -> version`` as of now."""
        current: dict[tuple[str, str], int] = {}
        for change in self.store.alias_history():
            if change.version is None:
                current.pop((change.name, change.alias), None)
            else:
                current[(change.name, change.alias)] = change.version
        return current

    def history(self, name: str | None = None) -> list[AliasChange]:
        return self.store.alias_history(name)

    def set_alias(
        self, name: str, alias: str, version: int | None, *, author: str, reason: str
    ) -> AliasChange:
        if alias not in ALIASES:
            raise InvalidInput([FieldError("alias", f"one of {', '.join(ALIASES)}")])
        author = check_text(author, "author")
        reason = check_text(reason, "reason")
        if version is not None:
            self.version(name, version)  # NotFound for a version that does not exist
        previous = self.aliases().get((name, alias))
        if previous == version:
            raise ConflictError("model", f"{name}:{alias}", f"already at version {version}")
        change = AliasChange(name, alias, version, previous, self.clock(), author, reason)
        action = "model.alias.remove" if version is None else f"model.{alias}"
        audit = AuditEntry(
            author,
            action,
            "model",
            f"{name}:{alias}",
            {"version": version, "previous": previous, "reason": reason},
            self.clock(),
        )
        return self.store.change_alias(change, audit)

    def promote(
        self, name: str, version: int, *, alias: str = "champion", author: str, reason: str
    ) -> AliasChange:
        return self.set_alias(name, alias, version, author=author, reason=reason)

    def rollback(
        self, name: str, *, alias: str = "champion", author: str, reason: str
    ) -> AliasChange:
        """Point the alias back at the version it held before its latest change."""
        history = [c for c in self.store.alias_history(name) if c.alias == alias]
        if not history or history[-1].previous is None:
            raise ConflictError("model", f"{name}:{alias}", "no earlier version to roll back to")
        return self.set_alias(name, alias, history[-1].previous, author=author, reason=reason)

    def artifact(self, version: ModelVersion) -> bytes:
        data = self.artifacts.get(version.location, version.artifact)
        if hashlib.sha256(data).hexdigest() != version.sha256:
            raise StorageError(f"artifact of {version.ref} does not match its recorded hash")
        return data

    def file(self, version: ModelVersion, file: str) -> bytes:
        return self.artifacts.get(version.location, file)
