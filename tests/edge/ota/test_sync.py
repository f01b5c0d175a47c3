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
