"""Content-addressed file storage for artifacts and dataset versions (local data directory)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path


class BlobStore:
    def __init__(self, root: Path):
        self.root = root
        (root / "tmp").mkdir(parents=True, exist_ok=True)

    def temp_path(self) -> Path:
        fd, name = tempfile.mkstemp(dir=self.root / "tmp")
        os.close(fd)
        return Path(name)

    def write(self, chunks: Iterable[bytes]) -> tuple[Path, str, int]:
        tmp = self.temp_path()
        h, size = hashlib.sha256(), 0
        with tmp.open("wb") as f:
            for chunk in chunks:
                h.update(chunk)
                size += len(chunk)
                f.write(chunk)
        return tmp, h.hexdigest(), size

    def keep(self, tmp: Path, sha256: str, suffix: str = "") -> Path:
        """Move a finished upload to its content address (same content: one file)."""
        dest = self.root / sha256[:2] / (sha256 + suffix)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            tmp.unlink(missing_ok=True)
        else:
            shutil.move(str(tmp), dest)
        return dest
