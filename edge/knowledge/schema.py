"""Schema of a knowledge DB and its migrations, tracked in a ``schema_version`` table.

Each migration runs once, in order, inside one transaction; a DB written by a newer frugalstack is refused
instead of being silently misread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from frugalstack.shared.errors import ConfigError


def _v1(conn: Any, dim: int, dtype: str) -> None:
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute(
        """CREATE TABLE items (
            rowid INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('product', 'doc')),
            doc_id TEXT NOT NULL,
            title TEXT NOT NULL,
            text TEXT NOT NULL,
            category TEXT NOT NULL DEFAULT '',
            brand TEXT,
            price REAL,
            currency TEXT,
            in_stock INTEGER,
            attributes TEXT NOT NULL DEFAULT '{}',
            record TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            record_hash TEXT NOT NULL,
            updated_at REAL NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX items_category ON items(category)")
    conn.execute("CREATE INDEX items_price ON items(price)")
    conn.execute(
        "CREATE TABLE item_attrs (key TEXT NOT NULL, value TEXT NOT NULL, item INTEGER NOT NULL"
        " REFERENCES items(rowid) ON DELETE CASCADE, PRIMARY KEY (key, value, item)) WITHOUT ROWID"
    )
    conn.execute("CREATE INDEX item_attrs_item ON item_attrs(item)")
    conn.execute("CREATE VIRTUAL TABLE items_fts USING fts5(title, body, tokenize='porter unicode61')")
    # vec0 metadata columns let KNN filter inside the query; docs use '' / -1 since vec0 metadata has no NULL.
    conn.execute(
        f"CREATE VIRTUAL TABLE items_vec USING vec0(embedding {dtype}[{dim}] distance_metric=cosine,"
        " kind text, category text, price float, in_stock integer)"
    )


def _v2(conn: Any, dim: int, dtype: str) -> None:
    conn.execute(
        """CREATE TABLE prompts (
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            template TEXT NOT NULL,
            variables TEXT NOT NULL,
            created_at REAL NOT NULL,
            hash TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (name, version)
        )"""
    )


MIGRATIONS: list[Callable[[Any, int, str], None]] = [_v1, _v2]
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: Any) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at REAL NOT NULL)")
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: Any, *, dim: int, dtype: str) -> int:
    """Bring the DB to ``SCHEMA_VERSION``; returns the version it was at before."""
    before = current_version(conn)
    if before > SCHEMA_VERSION:
        raise ConfigError(
            f"knowledge DB schema v{before} is newer than this frugalstack (v{SCHEMA_VERSION})",
            hint="upgrade frugalstack",
        )
    for version in range(before + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[version - 1](conn, dim, dtype)
            conn.execute("INSERT INTO schema_version VALUES (?, ?)", (version, time.time()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return before
