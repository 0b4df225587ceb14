"""The keyring as a file (mode 0600), written atomically so a crash never leaves half a key.

In production put the file on a secret mount shared by every worker (or swap this adapter for
a KMS); riskloop only needs ``load`` and ``save``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from riskloop.errors import VaultError


class FileKeyStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None

    def _current_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def load(self) -> dict[str, Any] | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise VaultError(f"cannot read keyring {self.path}: {exc.strerror}") from None
        self._stamp = self._current_stamp()
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise VaultError(f"keyring {self.path} is not valid JSON") from None
        if not isinstance(data, dict):
            raise VaultError(f"keyring {self.path} is not a JSON object")
        return data

    def save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".keyring-", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._stamp = self._current_stamp()

    def changed_since_load(self) -> bool:
        return self._current_stamp() != self._stamp
