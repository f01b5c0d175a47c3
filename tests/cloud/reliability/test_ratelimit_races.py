"""The shared (database) rate limiter under concurrent requests whose checks commit out of order."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.postgres
def test_out_of_order_checks_do_not_drain_the_bucket(pg_schema_factory: Any) -> None:
    from frugalstack.cloud.db.engine import Database
    from frugalstack.cloud.services.ratelimit import DatabaseRateLimiter

    schema = pg_schema_factory()
    db = Database(f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}")
    db.migrate()
    limiter = DatabaseRateLimiter(db.engine, per_minute=60_000_000, burst=1000)
    with db.engine.begin() as conn:
        conn.execute(limiter._statement("k", 1000.0))
        # a second worker read the clock 1 ms earlier but commits later: it must not refill negatively
        tokens, allowed = conn.execute(limiter._statement("k", 999.999)).one()
    assert allowed and tokens == pytest.approx(998.0)
    db.dispose()
