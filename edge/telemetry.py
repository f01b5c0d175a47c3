"""The local trace store: one row per request, no raw text unless the app opts in.

Later stages aggregate these rows and ship only the aggregates to the cloud.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from frugalstack.edge.sqlite import connect
from frugalstack.shared.schemas import TraceRecord

SCHEMA_VERSION = 1
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
    attributes TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS traces_ts ON traces(ts);
"""


class TelemetryStore:
    """Append-only SQLite table of trace records (WAL, safe across threads of one process)."""

    def __init__(self, path: str | Path, *, record_text: bool = False):
        self.path = Path(path)
        self.record_text = record_text
        self._lock = threading.Lock()
        self._conn = connect(self.path)
        with self._lock:
            self._conn.executescript(_DDL)
            row = self._conn.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                self._conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))

    def record(self, trace: TraceRecord) -> None:
        prompt = trace.prompt if self.record_text else None
        completion = trace.completion if self.record_text else None
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO traces VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    trace.trace_id, trace.timestamp, trace.operation, trace.model, trace.backend,
                    trace.device_profile, trace.input_tokens, trace.output_tokens, trace.duration_ms,
                    trace.ttft_ms, trace.tokens_per_s, trace.finish_reason, trace.status, trace.error_type,
                    prompt, completion, json.dumps(trace.attributes, default=str),
                ),
            )

    def recent(self, limit: int = 100) -> list[TraceRecord]:
        with self._lock:
            cur = self._conn.execute("SELECT * FROM traces ORDER BY ts DESC LIMIT ?", (limit,))
            cols = [c[0] for c in cur.description]
            rows = cur.fetchall()
        out = []
        for row in rows:
            data: dict[str, Any] = dict(zip(cols, row, strict=True))
            data["timestamp"] = data.pop("ts")
            data["attributes"] = json.loads(data["attributes"] or "{}")
            out.append(TraceRecord.model_validate(data))
        return out

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM traces").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
