"""Per-key token buckets: a burst, then a steady rate per minute.

``RateLimiter`` keeps the buckets in process memory: right for the embedded SQLite deployment, which is
one server process. Several workers (``uvicorn --workers N``, several hosts) behind one PostgreSQL would
each grant the full rate with it, so ``DatabaseRateLimiter`` keeps the buckets in the ``rate_buckets``
table instead: one atomic ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` per check, so concurrent
workers see one bucket per key. ``make_limiter`` picks by ``rate_limit_store`` (``auto``: database on
PostgreSQL, memory on SQLite).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

from sqlalchemy import case, delete, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from frugalstack.cloud.db.tables_ops import RateBucket
from frugalstack.shared.errors import RateLimitError


class Limiter(Protocol):
    def check(self, key: str) -> None: ...


def _refuse(tokens: float, rate: float) -> RateLimitError:
    wait = (1.0 - tokens) / rate
    return RateLimitError(
        f"rate limit exceeded for this key; retry in {wait:.1f} s", details={"retry_after_s": round(wait, 2)}
    )


class RateLimiter:
    """In-process buckets (one server process)."""

    def __init__(self, per_minute: int, burst: int, max_keys: int = 100_000):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                raise _refuse(tokens, self.rate)
            if len(self._buckets) >= self.max_keys and key not in self._buckets:
                self._buckets.clear()  # bounded memory; a flood of keys resets everyone's bucket
            self._buckets[key] = (tokens - 1.0, now)


class DatabaseRateLimiter:
    """Buckets in the database, shared by every worker and host that uses it.

    Time is the workers' wall clock (epoch seconds): hosts behind one database should run NTP; a skew
    of s seconds changes a bucket by at most s x rate tokens. Each check is its own short transaction
    (the row lock is held for one statement), outside the audit-serialised write path.
    """

    def __init__(self, engine: Any, per_minute: int, burst: int, *, purge_every: int = 1000):
        self.engine = engine
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.purge_every = purge_every
        self._checks = 0
        dialect = engine.dialect.name
        if dialect not in ("postgresql", "sqlite"):
            raise ValueError(f"no database rate limiter for {dialect}")
        self._insert = pg_insert if dialect == "postgresql" else sqlite_insert
        self._least = func.least if dialect == "postgresql" else func.min  # SQLite's scalar min()
        self._greatest = func.greatest if dialect == "postgresql" else func.max

    def _statement(self, key: str, now: float) -> Any:
        t = RateBucket.__table__.c
        stmt = self._insert(RateBucket).values(key=key, tokens=self.burst - 1.0, updated=now, allowed=True)
        # Concurrent checks commit out of order: a ``now`` older than the stored one must add nothing (a
        # negative refill times a high rate emptied the bucket by thousands of tokens, so bursts got 429).
        elapsed = self._greatest(0.0, now - t.updated)
        refilled = self._least(self.burst, t.tokens + elapsed * self.rate)
        return stmt.on_conflict_do_update(
            index_elements=[t.key],
            set_={
                "tokens": case((refilled >= 1.0, refilled - 1.0), else_=refilled),
                "updated": self._greatest(t.updated, now),
                "allowed": refilled >= 1.0,
            },
        ).returning(t.tokens, t.allowed)

    def check(self, key: str) -> None:
        now = time.time()
        with self.engine.begin() as conn:
            tokens, allowed = conn.execute(self._statement(key[:80], now)).one()
        self._checks += 1
        if self._checks % self.purge_every == 0:
            self.purge(now)
        if not allowed:
            raise _refuse(float(tokens), self.rate)

    def purge(self, now: float | None = None) -> int:
        """Drop buckets idle long enough to be full again (they start full anyway): bounded table."""
        idle_s = self.burst / self.rate
        cutoff = (now or time.time()) - idle_s
        with self.engine.begin() as conn:
            return int(conn.execute(delete(RateBucket).where(RateBucket.updated < cutoff)).rowcount or 0)


def make_limiter(store: str, engine: Any, per_minute: int, burst: int) -> Limiter:
    """``memory``, ``database``, or ``auto`` (database when the engine is PostgreSQL)."""
    if store == "database" or (store == "auto" and engine.dialect.name == "postgresql"):
        return DatabaseRateLimiter(engine, per_minute, burst)
    return RateLimiter(per_minute, burst)
