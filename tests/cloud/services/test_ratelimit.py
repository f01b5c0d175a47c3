"""Rate limiting across workers: buckets in PostgreSQL (and SQLite) are shared; in-memory ones are not.

"Workers" here are separate SQLAlchemy engines (own connection pools), as separate uvicorn worker
processes would have, hammered from threads at the same time.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from frugalstack.cloud.db import Database
from frugalstack.cloud.services.ratelimit import DatabaseRateLimiter, RateLimiter, make_limiter
from frugalstack.shared.errors import RateLimitError

BURST = 20


def _hammer(limiters: list[Any], key: str, calls_each: int) -> int:
    """Every limiter (worker) checks ``calls_each`` times concurrently; returns how many were allowed."""
    allowed = [0] * len(limiters)

    def run(i: int) -> None:
        for _ in range(calls_each):
            try:
                limiters[i].check(key)
                allowed[i] += 1
            except RateLimitError:
                pass

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(limiters))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return sum(allowed)


def _urls(tmp_path: Path, pg_schema_factory: Any) -> dict[str, str]:
    from urllib.parse import quote

    schema = pg_schema_factory()
    pg = "postgresql+psycopg://postgres@127.0.0.1:5432/test?options=" + quote(f"-csearch_path={schema}")
    return {"postgresql": pg, "sqlite": f"sqlite:///{tmp_path / 'cloud.db'}"}


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_database_buckets_are_shared_by_workers(kind: str, tmp_path: Path, pg_schema_factory: Any) -> None:
    url = _urls(tmp_path, pg_schema_factory)[kind]
    first = Database(url)
    first.migrate()
    workers = [first, *(Database(url) for _ in range(3))]
    try:
        # 1 token per minute: no refill worth counting during the test, so exactly BURST calls pass in all.
        limiters = [DatabaseRateLimiter(db.engine, per_minute=1, burst=BURST) for db in workers]
        assert _hammer(limiters, "key:shared", calls_each=BURST) == BURST
        with pytest.raises(RateLimitError, match="retry in") as err:
            limiters[2].check("key:shared")
        assert err.value.details["retry_after_s"] > 0
        limiters[1].check("key:other")  # buckets are per key
        # Idle buckets are full again after burst/rate seconds: purge drops them, the table stays bounded.
        import time

        assert limiters[0].purge(time.time() + BURST * 60 + 1) == 2
        limiters[3].check("key:shared")  # a purged bucket starts full
    finally:
        for db in workers:
            db.dispose()


def test_memory_buckets_are_per_process_and_auto_picks_the_database_on_postgres(
    tmp_path: Path, pg_schema_factory: Any
) -> None:
    # The documented limit of the in-memory limiter: each worker grants the full burst.
    two = [RateLimiter(per_minute=1, burst=BURST), RateLimiter(per_minute=1, burst=BURST)]
    assert _hammer(two, "key:k", calls_each=BURST) == 2 * BURST
    urls = _urls(tmp_path, pg_schema_factory)
    sqlite, pg = Database(urls["sqlite"]), Database(urls["postgresql"])
    try:
        assert isinstance(make_limiter("auto", sqlite.engine, 60, 10), RateLimiter)
        assert isinstance(make_limiter("auto", pg.engine, 60, 10), DatabaseRateLimiter)
        assert isinstance(make_limiter("database", sqlite.engine, 60, 10), DatabaseRateLimiter)
        assert isinstance(make_limiter("memory", pg.engine, 60, 10), RateLimiter)
    finally:
        sqlite.dispose()
        pg.dispose()
