"""A durable outbox for the telemetry aggregates a device ships to the cloud.

Why: an upload can fail (cloud down, network cut, 429) or the process can die mid-upload. Each batch is
committed to SQLite (WAL) with its batch id *before* it is sent and deleted only once the cloud answered
200 (``accepted`` or ``duplicate``); the cloud counts a batch id once, so a batch re-sent after a crash is
counted exactly once. The outbox is bounded: over ``max_batches`` / ``max_bytes`` the oldest batches are
dropped and counted, never grown without end. Batches hold aggregates only (``TelemetryBatch`` forbids any
other field); trace text columns are never read.

By default the outbox lives in the trace database itself (``FRUGAL_HOME/telemetry.db``), so folding
unbatched traces into a batch and marking them is one transaction.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx

from frugalstack.edge.sqlite import connect
from frugalstack.edge.telemetry import AGGREGATE_COLUMNS, migrate, row_to_record
from frugalstack.shared.errors import AuthenticationError, NotFoundError
from frugalstack.shared.telemetry import IngestResult, TelemetryBatch, aggregate, batch_id_for

DEFAULT_MAX_BATCHES = 1000
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 300.0
RETRY_AFTER_MAX_S = 3600.0
_COUNTERS = ("delivered", "duplicates", "dropped_batches", "dropped_records", "rejected_batches",
             "rejected_records", "failures", "consecutive_failures", "retry_at")

_DDL = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    records INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value REAL NOT NULL);
CREATE TABLE IF NOT EXISTS outbox_text (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass
class FlushResult:
    """What one ``flush`` did; ``stopped`` says why it ended early (``retry_later``, ``deadline``, ``auth``...)."""

    delivered: int = 0
    duplicates: int = 0
    rejected: int = 0
    failures: int = 0
    pending: int = 0
    stopped: str | None = None
    retry_in_s: float | None = None
    errors: list[str] = field(default_factory=list)


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Seconds from an HTTP ``Retry-After`` header (delta seconds or HTTP date), capped; None if absent/bad."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError, IndexError):
            return None
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_S)


def backoff_s(failures: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter (half fixed, half random): 1 s, 2 s, 4 s ... capped at 300 s."""
    step = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(failures - 1, 0))
    return step / 2 + (rng or random).uniform(0, step / 2)


class Outbox:
    """Telemetry batches waiting for the cloud's acknowledgement (one SQLite table, safe across processes)."""

    def __init__(self, path: str | Path, *, max_batches: int = DEFAULT_MAX_BATCHES,
                 max_bytes: int = DEFAULT_MAX_BYTES):
        if max_batches < 1 or max_bytes < 1:
            raise ValueError("max_batches and max_bytes must be positive")
        self.path = Path(path)
        self.max_batches, self.max_bytes = max_batches, max_bytes
        self._lock = threading.Lock()
        self._conn = connect(self.path)
        with self._lock:
            self._conn.executescript(_DDL)

    # -- writing ------------------------------------------------------------------------------------------
    def put(self, batch: TelemetryBatch) -> bool:
        """Store one batch durably (a batch id already here is ignored); False if it was a duplicate."""
        with self._lock, self._tx():
            return self._insert(batch, sum(a.requests for a in batch.aggregates))

    def enqueue_traces(self, device_id: str, *, model_version_id: str | None = None,
                       max_records: int = 5000) -> TelemetryBatch | None:
        """Fold trace rows not yet batched into one batch, store it and mark the rows, in one transaction."""
        with self._lock:
            migrate(self._conn)
            with self._tx():
                cur = self._conn.execute(
                    f"SELECT {', '.join(AGGREGATE_COLUMNS)} FROM traces WHERE batch_id IS NULL ORDER BY ts LIMIT ?",
                    (max_records,))
                cols = [c[0] for c in cur.description]
                records = [row_to_record(cols, row) for row in cur.fetchall()]
                if not records:
                    return None
                batch = TelemetryBatch(batch_id=batch_id_for(device_id, (r.trace_id for r in records)),
                                       device_id=device_id,
                                       aggregates=aggregate(records, model_version_id=model_version_id))
                self._insert(batch, len(records))
                self._conn.executemany("UPDATE traces SET batch_id = ? WHERE trace_id = ?",
                                       [(batch.batch_id, r.trace_id) for r in records])
                return batch

    def _insert(self, batch: TelemetryBatch, records: int) -> bool:
        body = json.dumps(batch.model_dump(by_alias=True, mode="json"), separators=(",", ":"))
        cur = self._conn.execute(
            "INSERT OR IGNORE INTO outbox (batch_id, created, records, bytes, body) VALUES (?,?,?,?,?)",
            (batch.batch_id, time.time(), records, len(body), body))
        if cur.rowcount:
            self._enforce_cap()
        return bool(cur.rowcount)

    def _enforce_cap(self) -> None:
        """Drop the oldest batches (never the newest) until the outbox fits; count what was dropped."""
        while True:
            n, size = self._conn.execute("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM outbox").fetchone()
            if n <= 1 or (n <= self.max_batches and size <= self.max_bytes):
                return
            seq, records = self._conn.execute("SELECT seq, records FROM outbox ORDER BY seq LIMIT 1").fetchone()
            self._conn.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            self._bump({"dropped_batches": 1, "dropped_records": records})

    # -- sending ------------------------------------------------------------------------------------------
    def flush(self, base_url: str, api_key: str, *, deadline_s: float = 30.0, attempt_timeout_s: float = 10.0,
              on_sending: Callable[[str], None] | None = None, on_acked: Callable[[str, bool], None] | None = None,
              client: httpx.Client | None = None) -> FlushResult:
        """Send pending batches oldest first until none is left or ``deadline_s`` is spent.

        A transport error, 5xx, 408 or 429 pauses the whole outbox (``Retry-After`` when the cloud gave
        one, else exponential backoff) and the pass waits for it if the deadline allows; 401/403/404
        stop the pass and keep every batch (the key or device is wrong, not the data); another 4xx means
        the cloud will never take that batch: it is deleted and counted as rejected.
        """
        end = time.monotonic() + deadline_s
        result = FlushResult()
        own = client is None
        http = client or httpx.Client(headers={"Authorization": f"Bearer {api_key}"})
        url = f"{base_url.rstrip('/')}/v1/telemetry/batches"
        try:
            while True:
                wait = self._meta("retry_at") - time.time()
                if wait > 0:
                    if time.monotonic() + wait >= end:
                        result.stopped, result.retry_in_s = "retry_later", wait
                        break
                    time.sleep(wait)
                row = self._next()
                if row is None:
                    break
                seq, batch_id, body = row
                remaining = end - time.monotonic()
                if remaining <= 0.05:
                    result.stopped = "deadline"
                    break
                if on_sending:
                    on_sending(batch_id)
                try:
                    r = http.post(url, content=body, headers={"Authorization": f"Bearer {api_key}",
                                                              "Content-Type": "application/json"},
                                  timeout=min(attempt_timeout_s, remaining))
                except httpx.HTTPError as exc:
                    self._failed(seq, f"{type(exc).__name__}: {exc}", None, result)
                    continue
                if r.status_code == 200:
                    ack = _acknowledgement(r, batch_id)
                    if ack is None:  # a 200 that is not the cloud's answer (a captive portal, a wrong URL)
                        self._failed(seq, f"HTTP 200 without an acknowledgement of {batch_id}", None, result)
                        continue
                    self._acked(seq, ack.duplicate, result)
                    if on_acked:
                        on_acked(batch_id, ack.duplicate)
                elif r.status_code in (408, 429) or r.status_code >= 500:
                    self._failed(seq, f"HTTP {r.status_code}", retry_after_s(r.headers.get("Retry-After")), result)
                elif r.status_code in (401, 403, 404):
                    self._note(seq, f"HTTP {r.status_code}: {r.text[:200]}")
                    result.stopped = "auth" if r.status_code != 404 else "unknown_device"
                    result.errors.append(f"HTTP {r.status_code}")
                    break
                else:
                    self._rejected(seq, f"HTTP {r.status_code}: {r.text[:200]}", result)
        finally:
            if own:
                http.close()
        result.pending = self.pending()
        return result

    def _next(self) -> tuple[int, str, str] | None:
        with self._lock:
            row = self._conn.execute("SELECT seq, batch_id, body FROM outbox ORDER BY seq LIMIT 1").fetchone()
        return None if row is None else (int(row[0]), str(row[1]), str(row[2]))

    def _acked(self, seq: int, duplicate: bool, result: FlushResult) -> None:
        with self._lock, self._tx():
            self._conn.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            self._bump({"duplicates" if duplicate else "delivered": 1})
            self._set({"consecutive_failures": 0, "retry_at": 0})
        if duplicate:
            result.duplicates += 1
        else:
            result.delivered += 1

    def _failed(self, seq: int, error: str, retry_after: float | None, result: FlushResult) -> None:
        with self._lock, self._tx():
            self._conn.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?", (error, seq))
            failures = int(self._meta_unlocked("consecutive_failures")) + 1
            delay = retry_after if retry_after is not None else backoff_s(failures)
            self._bump({"failures": 1})
            self._set({"consecutive_failures": failures, "retry_at": time.time() + delay})
            self._text("last_error", error)
        result.failures += 1
        result.errors.append(error)

    def _rejected(self, seq: int, error: str, result: FlushResult) -> None:
        with self._lock, self._tx():
            (records,) = self._conn.execute("SELECT records FROM outbox WHERE seq = ?", (seq,)).fetchone()
            self._conn.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            self._bump({"rejected_batches": 1, "rejected_records": records})
            self._text("last_error", error)
        result.rejected += 1
        result.errors.append(error)

    def _note(self, seq: int, error: str) -> None:
        with self._lock, self._tx():
            self._conn.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?", (error, seq))
            self._text("last_error", error)

    # -- state --------------------------------------------------------------------------------------------
    def pending(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def state(self) -> dict[str, Any]:
        """Pending batches/records/bytes, oldest age, counters (dropped, rejected, delivered...), last error."""
        now = time.time()
        with self._lock:
            n, records, size, oldest = self._conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(records), 0), COALESCE(SUM(bytes), 0), MIN(created) FROM outbox"
            ).fetchone()
            counters = {k: self._meta_unlocked(k) for k in _COUNTERS}
            row = self._conn.execute("SELECT value FROM outbox_text WHERE key = 'last_error'").fetchone()
            has_traces = self._conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'traces'").fetchone()
            cols = {r[1] for r in self._conn.execute("PRAGMA table_info(traces)")} if has_traces else set()
            unbatched = (self._conn.execute("SELECT COUNT(*) FROM traces WHERE batch_id IS NULL").fetchone()[0]
                         if "batch_id" in cols else
                         self._conn.execute("SELECT COUNT(*) FROM traces").fetchone()[0] if has_traces else 0)
        retry_at = counters.pop("retry_at")
        return {
            "path": str(self.path), "pending_batches": int(n), "pending_records": int(records),
            "pending_bytes": int(size), "oldest_age_s": None if oldest is None else round(now - oldest, 1),
            "unbatched_traces": int(unbatched), "max_batches": self.max_batches, "max_bytes": self.max_bytes,
            **{k: int(v) for k, v in counters.items()},
            "retry_in_s": round(retry_at - now, 1) if retry_at > now else 0.0,
            "last_error": row[0] if row else None,
        }

    # -- plumbing -----------------------------------------------------------------------------------------
    def _tx(self) -> Any:
        return _Transaction(self._conn)

    def _meta(self, key: str) -> float:
        with self._lock:
            return self._meta_unlocked(key)

    def _meta_unlocked(self, key: str) -> float:
        row = self._conn.execute("SELECT value FROM outbox_meta WHERE key = ?", (key,)).fetchone()
        return float(row[0]) if row else 0.0

    def _bump(self, deltas: dict[str, float]) -> None:
        for key, delta in deltas.items():
            self._conn.execute("INSERT INTO outbox_meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                               "value = value + excluded.value", (key, delta))

    def _set(self, values: dict[str, float]) -> None:
        self._conn.executemany("INSERT INTO outbox_meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                               "value = excluded.value", list(values.items()))

    def _text(self, key: str, value: str) -> None:
        self._conn.execute("INSERT INTO outbox_text VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                           "value = excluded.value", (key, value[:500]))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rollback on error): the connection runs in autocommit mode."""

    def __init__(self, conn: Any):
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _acknowledgement(response: httpx.Response, batch_id: str) -> IngestResult | None:
    """The cloud's ``IngestResult`` for this very batch, or None: only that may delete a batch."""
    try:
        ack = IngestResult.model_validate(response.json())
    except ValueError:  # not JSON, or not an IngestResult (pydantic's ValidationError is a ValueError)
        return None
    return ack if ack.batch_id == batch_id else None


def auth_error(result: FlushResult) -> Exception | None:
    """The exception a caller should raise for a pass stopped by the cloud refusing the key or device."""
    if result.stopped == "auth":
        return AuthenticationError("the cloud refused this device key; the batches stay in the outbox")
    if result.stopped == "unknown_device":
        return NotFoundError("the cloud does not know this device; the batches stay in the outbox")
    return None


def as_dict(result: FlushResult) -> dict[str, Any]:
    return asdict(result)
