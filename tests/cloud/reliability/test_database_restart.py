"""PostgreSQL goes away under a running cloud app and comes back: fast 503s, then recovery, no app restart.

The app reaches PostgreSQL through a TCP proxy; "restart" cuts every open connection and refuses new ones
for a while, which is what the app sees when the server restarts. (``pg_ctlcluster ... restart`` would do
the same but also break every other test run using the shared server on this machine.)
"""

from __future__ import annotations

import time
from typing import Any

import pytest


@pytest.mark.postgres
def test_requests_fail_fast_while_down_and_recover(start_cloud: Any, pg_schema_factory: Any,
                                                   fault_proxy: Any, telemetry_batch: Any,
                                                   assert_database_down: Any) -> None:
    proxy = fault_proxy(5432)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/test?options=-csearch_path%3D{pg_schema_factory()}"
    cloud = start_cloud("sqlite", database_url=url)  # kind only picks the default URL; this one is PostgreSQL
    device_id, key = cloud.device()
    dev = cloud.client(key)

    assert dev.post("/v1/telemetry/batches", json=telemetry_batch("pg-restart", 3)).status_code == 200

    proxy.mode = "refuse"
    proxy.cut_all()
    assert_database_down(dev, device_id, "pg-restart")

    proxy.mode = "pass"  # the database is back; the same app process recovers by itself
    for _ in range(50):
        if dev.get("/healthz").status_code == 200:
            break
        time.sleep(0.1)
    assert dev.get(f"/v1/devices/{device_id}/manifest").status_code == 200
    assert dev.post("/v1/telemetry/batches", json=telemetry_batch("pg-restart", 4)).status_code == 200
    with cloud.admin() as c:
        rows = c.get("/v1/telemetry/aggregates").json()
    assert sum(r["requests"] for r in rows if r["model"] == "pg-restart") == 7
    dev.close()
