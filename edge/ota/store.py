"""On-device model store: versions side by side, ``current`` and ``previous`` swapped atomically.

Layout under ``root``: ``versions/<model_version_id>/<file>``, symlinks ``current`` and ``previous``, and
``state.json``. A swap is a rename of a symlink (atomic on POSIX), so a crash leaves either the old or
the new version active, never a half-written one.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any


class ModelStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        (self.root / "versions").mkdir(parents=True, exist_ok=True)
        (self.root / "downloads").mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ state
    def _state_path(self) -> Path:
        return self.root / "state.json"

    def state(self) -> dict[str, Any]:
        p = self._state_path()
        return json.loads(p.read_text()) if p.is_file() else {}

    def save_state(self, **changes: Any) -> None:
        state = {**self.state(), **changes}
        tmp = self.root / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        os.replace(tmp, self._state_path())

    def _link(self, name: str) -> Path | None:
        link = self.root / name
        return link.resolve() if link.is_symlink() else None

    @property
    def current_version(self) -> str | None:
        target = self._link("current")
        return target.name if target else None

    @property
    def previous_version(self) -> str | None:
        target = self._link("previous")
        return target.name if target else None

    def current_file(self) -> Path | None:
        target = self._link("current")
        if target is None:
            return None
        files = [p for p in target.iterdir() if p.is_file()]
        return files[0] if files else None

    # ------------------------------------------------------------------ changes
    def _point(self, name: str, version_dir: Path) -> None:
        tmp = self.root / f".{name}.tmp"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(version_dir.relative_to(self.root))
        os.replace(tmp, self.root / name)

    def install(self, version_id: str, verified_file: Path, filename: str) -> Path:
        """Move a verified download into place and make it current; the old current becomes previous."""
        vdir = self.root / "versions" / version_id
        if not (vdir / filename).is_file():
            staging = self.root / "versions" / f".{version_id}.staging"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            os.replace(verified_file, staging / filename)
            with (staging / filename).open("rb") as f:
                os.fsync(f.fileno())
            shutil.rmtree(vdir, ignore_errors=True)
            os.replace(staging, vdir)
        old = self._link("current")
        if old is not None and old != vdir.resolve():
            self._point("previous", old)
        self._point("current", vdir)
        return vdir / filename

    def rollback(self) -> str | None:
        """Make ``previous`` current again (after the new version failed to load); returns that version."""
        prev = self._link("previous")
        failed = self._link("current")
        if prev is None:
            (self.root / "current").unlink(missing_ok=True)
        else:
            self._point("current", prev)
            (self.root / "previous").unlink(missing_ok=True)
        if failed is not None and failed != prev:
            shutil.rmtree(failed, ignore_errors=True)
        return prev.name if prev else None

    def prune(self, keep: int = 2) -> None:
        """Delete versions other than current and previous (``keep`` is documentation: always 2)."""
        active = {self._link("current"), self._link("previous")}
        for d in (self.root / "versions").iterdir():
            if d.is_dir() and d.resolve() not in active and not d.name.startswith("."):
                shutil.rmtree(d, ignore_errors=True)
