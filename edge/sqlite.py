"""SQLite connections for the edge: WAL mode, a busy timeout, and pysqlite3 when it is there.

pysqlite3 brings a modern SQLite that can load extensions (sqlite-vec); the stdlib module is the
fallback for stores that need no extension.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from frugalstack.shared.errors import ConfigError


def sqlite_module(need_extensions: bool = False) -> ModuleType:
    try:
        import pysqlite3.dbapi2 as mod  # type: ignore[import-not-found,import-untyped,unused-ignore]

        return mod
    except ImportError:
        if need_extensions:
            from frugalstack.shared.errors import MissingDependencyError

            raise MissingDependencyError("pysqlite3-binary", "edge", purpose="SQLite extensions") from None
        return sqlite3


def connect(path: str | Path, *, need_extensions: bool = False, timeout: float = 10.0) -> Any:
    """Open a database in WAL mode; a corrupt or non-SQLite file raises ``ConfigError``."""
    mod = sqlite_module(need_extensions)
    p = Path(path)
    if str(path) != ":memory:":
        p.parent.mkdir(parents=True, exist_ok=True)
    conn = mod.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        enable_wal(conn, mod, timeout)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    except mod.DatabaseError as exc:
        conn.close()
        raise ConfigError(f"{path} is not a usable SQLite database: {exc}") from exc
    return conn


def enable_wal(conn: Any, mod: Any = sqlite3, timeout: float = 10.0) -> None:
    """Switch to WAL, retrying while another process does the same.

    Two processes opening a fresh database at once (Ray workers sharing a cache) can get "database is locked"
    from the journal-mode switch without SQLite's busy handler being consulted, so retry it until ``timeout``.
    """
    end = time.monotonic() + timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except mod.OperationalError as exc:
            if not ("locked" in str(exc) or "busy" in str(exc)) or time.monotonic() > end:
                raise
            time.sleep(0.05)
