"""The local trace store: one row per request, no raw text unless the app opts in.

The outbox (``edge/outbox.py``) folds rows not yet batched into aggregates, in the same database file, and
marks them with their batch id in the same transaction: a row is shipped in exactly one batch.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from frugalstack.edge.sqlite import connect
from frugalstack.shared.schemas import TraceRecord

SCHEMA_VERSION = 2
_DDL = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS traces (
    trace_id TEXT PRIMARY KEY,
    ts REAL NOT NULL,
    operation TEXT NOT NULL,
    model TEXT NOT NULL,
    backend TEXT NOT NULL,
    device_profile TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    ttft_ms REAL,
    tokens_per_s REAL,
    finish_reason TEXT,
    status TEXT NOT NULL,
    error_type TEXT,
    prompt TEXT,
    completion TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    batch_id TEXT
);
CREATE INDEX IF NOT EXISTS traces_ts ON traces(ts);
"""
_COLUMNS = ("trace_id", "ts", "operation", "model", "backend", "device_profile", "input_tokens", "output_tokens",
            "duration_ms", "ttft_ms", "tokens_per_s", "finish_reason", "status", "error_type", "prompt", "completion",
            "attributes")
# an update of a trace already batched keeps its batch id: it is never shipped twice
_UPSERT = (f"INSERT INTO traces ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
           f"ON CONFLICT(trace_id) DO UPDATE SET {', '.join(f'{c}=excluded.{c}' for c in _COLUMNS[1:])}")
# what leaves the device is built from these columns only: never prompt or completion
AGGREGATE_COLUMNS = tuple(c for c in _COLUMNS if c not in ("prompt", "completion"))


def migrate(conn: Any) -> None:
    """Create or upgrade the traces schema (v1 -> v2 adds ``batch_id``); idempotent, safe on every open."""
    conn.executescript(_DDL)
    if "batch_id" not in {r[1] for r in conn.execute("PRAGMA table_info(traces)")}:
        try:
            conn.execute("ALTER TABLE traces ADD COLUMN batch_id TEXT")
        except Exception as exc:  # another process added it between the check and the ALTER
            if "duplicate column" not in str(exc):
                raise
    conn.execute("CREATE INDEX IF NOT EXISTS traces_unbatched ON traces(ts) WHERE batch_id IS NULL")
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    if row is None:
        conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
    elif row[0] < SCHEMA_VERSION:
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))


def row_to_record(cols: list[str], row: tuple[Any, ...]) -> TraceRecord:
    """A ``traces`` row as a ``TraceRecord`` (``ts`` -> ``timestamp``, attributes parsed)."""
    data: dict[str, Any] = dict(zip(cols, row, strict=True))
    data.pop("batch_id", None)
    data["timestamp"] = data.pop("ts")
    data["attributes"] = json.loads(data["attributes"] or "{}")
    return TraceRecord.model_validate(data)


class TelemetryStore:
    """Append-only SQLite table of trace records (WAL, safe across threads of one process)."""

    def __init__(self, path: str | Path, *, record_text: bool = False):
        self.path = Path(path)
        self.record_text = record_text
        self._lock = threading.Lock()
        self._conn = connect(self.path)
        with self._lock:
            migrate(self._conn)

    def record(self, trace: TraceRecord) -> None:
        prompt = trace.prompt if self.record_text else None
        completion = trace.completion if self.record_text else None
        with self._lock:
            self._conn.execute(
                _UPSERT,
                (
                    trace.trace_id, trace.timestamp, trace.operation, trace.model, trace.backend,
                    trace.device_profile, trace.input_tokens, trace.output_tokens, trace.duration_ms,
                    trace.ttft_ms, trace.tokens_per_s, trace.finish_reason, trace.status, trace.error_type,
                    prompt, completion, json.dumps(trace.attributes, default=str),
                ),
            )

    def recent(self, limit: int = 100) -> list[TraceRecord]:
        with self._lock:
            cur = self._conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM traces ORDER BY ts DESC LIMIT ?", (limit,))
            cols = [c[0] for c in cur.description]
            rows = cur.fetchall()
        return [row_to_record(cols, row) for row in rows]

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM traces").fetchone()[0])

    def purge_shipped(self, older_than_days: float, *, now: float | None = None) -> int:
        """Delete rows older than ``older_than_days`` whose batch the cloud acknowledged (no longer in the
        outbox); unshipped rows are never deleted here. Returns how many rows went."""
        cutoff = (time.time() if now is None else now) - older_than_days * 86400
        with self._lock:
            has_outbox = self._conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").fetchone()
            pending = " AND batch_id NOT IN (SELECT batch_id FROM outbox)" if has_outbox else ""
            cur = self._conn.execute(f"DELETE FROM traces WHERE batch_id IS NOT NULL AND ts < ?{pending}", (cutoff,))
            return int(cur.rowcount)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
