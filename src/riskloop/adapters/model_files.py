"""Model artifacts on the filesystem: ``<root>/<name>/<version>-<random>/<file>``. A folder is
written aside and renamed into place, so it is whole or absent; the random part means two
trainers racing for one version number never touch each other's files (the loser's folder
is left unreferenced)."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path

from riskloop.errors import NotFound, StorageError


class FileArtifacts:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, location: str) -> str:
        return str(self.root / location)

    def put(self, name: str, version: int, files: Mapping[str, bytes]) -> str:
        location = f"{name}/{version}-{secrets.token_hex(4)}"
        final = self.root / location
        tmp = final.with_name(f".{final.name}.tmp")
        try:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            for file, data in files.items():
                if "/" in file or file.startswith("."):
                    raise StorageError(f"artifact file name {file!r} is not a plain name")
                with open(tmp / file, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, final)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise StorageError(f"cannot write model artifacts: {exc.strerror}") from exc
        return location

    def get(self, location: str, file: str) -> bytes:
        path = self.root / location / file
        if "/" in file or not path.is_file():
            raise NotFound("model file", f"{location}/{file}")
        return path.read_bytes()
