"""Telemetry upload from the device: real Runtime traces folded into aggregates, retries counted once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from frugalstack.edge.ota.sync import build_batch, upload
from frugalstack.edge.runtime import Runtime
from frugalstack.edge.telemetry import TelemetryStore
from frugalstack.shared.telemetry import DURATION_BUCKETS_S, aggregate

ADMIN = "ota-admin-secret-" + "y" * 32


def _records(tmp_path: Path) -> list[Any]:
    from frugalstack.edge.profiles import get_profile

    host = get_profile("auto")  # one llama.cpp thread: the test machine is shared
    one = host.model_copy(update={"runtime": host.runtime.model_copy(update={"threads": 1})})
    store = TelemetryStore(tmp_path / "telemetry.db")
    with Runtime(profile=one, telemetry=store) as rt:
        rt.chat("Is the backpack waterproof?", max_tokens=3)
        rt.chat("Do you ship to Norway?", max_tokens=3)
        records = store.recent(10)
    records[0].attributes.update({"frugal.route.decision": "edge", "frugal.feedback": "positive",
                                  "frugal.intent": "product"})
    records[1].attributes.update({"frugal.route.decision": "cloud", "frugal.guard.verdict": "allow"})
    return records


def test_aggregate_and_upload_once(ota_cloud: Any, tmp_path: Path) -> None:
    url, _ = ota_cloud
    records = _records(tmp_path)
    aggs = aggregate(records)
    assert len(aggs) == 1
    agg = aggs[0]
    assert agg.requests == 2 and agg.output_tokens == sum(r.output_tokens for r in records)
    assert sum(agg.duration_histogram) == 2 and len(agg.duration_histogram) == len(DURATION_BUCKETS_S) + 1
    assert agg.routes == {"edge": 1, "cloud": 1} and agg.feedback_positive == 1
    assert agg.day == datetime.fromtimestamp(records[0].timestamp, UTC).date()
    dumped = build_batch("dev", records).model_dump(by_alias=True, mode="json")
    assert "prompt" not in str(dumped) and "gen_ai.usage.output_tokens" in dumped["aggregates"][0]

    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as c:
        token = c.post("/v1/enrolment-tokens", json={"profile": "laptop-x86"}).json()["token"]
        dev = c.post("/v1/devices/enrol", json={"token": token, "name": "sync"}).json()
    device_id, key = dev["device"]["id"], dev["api_key"]
    first = upload(url, key, device_id, records)
    retry = upload(url, key, device_id, list(reversed(records)))  # same records, any order: same batch id
    assert first.accepted and retry.duplicate
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as c:
        rows = [r for r in c.get("/v1/telemetry/aggregates").json() if r["model"] == agg.model]
    assert sum(r["requests"] for r in rows) == 2


def test_sync_telemetry_uses_the_same_batch_id_as_upload(ota_cloud: Any, tmp_path: Path) -> None:
    """The durable path (outbox) and the one-shot ``upload`` name the same records the same batch: no double count."""
    from frugalstack.edge.ota.sync import sync_telemetry
    from frugalstack.edge.outbox import Outbox

    url, _ = ota_cloud
    records = _records(tmp_path)
    model = f"sync-{tmp_path.name[-12:]}"
    for r in records:
        r.model = model
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as c:
        token = c.post("/v1/enrolment-tokens", json={"profile": "laptop-x86"}).json()["token"]
        dev = c.post("/v1/devices/enrol", json={"token": token, "name": "sync-outbox"}).json()
    device_id, key = dev["device"]["id"], dev["api_key"]
    assert upload(url, key, device_id, records).accepted
    db = tmp_path / "outbox.db"
    store = TelemetryStore(db)
    for r in records:
        store.record(r)
    store.close()
    result = sync_telemetry(db, url, key, device_id, deadline_s=30)
    assert (result.delivered, result.duplicates, result.pending) == (0, 1, 0)
    assert sync_telemetry(db, url, key, device_id, deadline_s=30).duplicates == 0  # nothing left to send
    with Outbox(db) as outbox:
        assert outbox.state()["unbatched_traces"] == 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as c:
        rows = [r for r in c.get("/v1/telemetry/aggregates").json() if r["model"] == model]
    assert sum(r["requests"] for r in rows) == 2


def test_a_v1_trace_database_is_migrated_in_place(tmp_path: Path) -> None:
    """A device updated from schema v1 keeps its traces; they become unbatched rows the outbox will ship;
    retention removes only shipped rows."""
    import sqlite3

    from frugalstack.edge.outbox import Outbox

    db = tmp_path / "telemetry.db"
    conn = sqlite3.connect(db)
    conn.executescript("""
        CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);
        CREATE TABLE traces (trace_id TEXT PRIMARY KEY, ts REAL NOT NULL, operation TEXT NOT NULL,
            model TEXT NOT NULL, backend TEXT NOT NULL, device_profile TEXT NOT NULL, input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL, duration_ms REAL NOT NULL, ttft_ms REAL, tokens_per_s REAL,
            finish_reason TEXT, status TEXT NOT NULL, error_type TEXT, prompt TEXT, completion TEXT,
            attributes TEXT NOT NULL DEFAULT '{}');
        INSERT INTO traces VALUES ('t-old', 1795860000.0, 'chat', 'm', 'llama_cpp', 'laptop-x86', 3, 4, 50.0,
            NULL, NULL, 'stop', 'ok', NULL, 'raw prompt', 'raw answer', '{}');""")
    conn.commit()
    conn.close()
    store = TelemetryStore(db)
    assert store.count() == 1 and store.recent(1)[0].trace_id == "t-old"
    store.close()
    with Outbox(db) as outbox:
        assert outbox.state()["unbatched_traces"] == 1
        batch = outbox.enqueue_traces("dev-1")
        assert batch is not None and batch.aggregates[0].requests == 1
        assert "raw prompt" not in batch.model_dump_json()
        assert outbox.enqueue_traces("dev-1") is None and outbox.state()["pending_batches"] == 1
    check = sqlite3.connect(db)
    assert check.execute("SELECT version FROM schema_version").fetchone() == (2,)
    check.close()

    # retention deletes only rows whose batch the cloud acknowledged: this one is still in the outbox
    store = TelemetryStore(db)
    assert store.purge_shipped(0) == 0 and store.count() == 1
    with Outbox(db) as outbox:
        outbox._conn.execute("DELETE FROM outbox")  # as an acknowledgement does
    assert store.purge_shipped(1, now=1795860000.0 + 86400 - 1) == 0  # not a day old yet
    assert store.purge_shipped(1, now=1795860000.0 + 86400 + 1) == 1 and store.count() == 0
    store.close()
