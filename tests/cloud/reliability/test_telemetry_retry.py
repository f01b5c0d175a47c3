"""Telemetry uploads through a network that refuses, and one that loses the cloud's answer after the write.

The device retries with the same records; the batch id (a hash of device and trace ids) makes the cloud
count them exactly once, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from frugalstack.shared.errors import UpstreamError
from frugalstack.shared.schemas import TraceRecord


def _records(n: int, model: str) -> list[TraceRecord]:
    now = time.time()
    return [TraceRecord(trace_id=uuid.uuid4().hex, timestamp=now, model=model, backend="llama_cpp",
                        device_profile="laptop-x86", input_tokens=10, output_tokens=5, duration_ms=120.0)
            for _ in range(n)]


def _aggregated(cloud: Any, model: str) -> int:
    with cloud.admin() as c:
        rows = c.get("/v1/telemetry/aggregates", params={"limit": 5000}).json()
    return sum(r["requests"] for r in rows if r["model"] == model)


def test_retries_after_refusal_and_lost_answers_count_once(cloud: Any, fault_proxy: Any) -> None:
    from frugalstack.edge.ota.sync import upload

    device_id, key = cloud.device()
    proxy = fault_proxy(int(cloud.url.rsplit(":", 1)[1]))
    via = f"http://127.0.0.1:{proxy.port}"
    model = f"retry-{uuid.uuid4().hex[:8]}"
    first, second = _records(7, model), _records(5, model)

    proxy.mode = "refuse"  # the cloud is unreachable
    with pytest.raises(UpstreamError):
        upload(via, key, device_id, first, timeout=5)
    proxy.mode = "drop_response"  # the cloud stores the batch, the answer is lost on the way back
    with pytest.raises(UpstreamError):
        upload(via, key, device_id, second, timeout=5)
    assert _aggregated(cloud, model) == 5

    proxy.mode = "pass"  # later: the device re-sends both
    again_first = upload(via, key, device_id, first, timeout=10)
    again_second = upload(via, key, device_id, second, timeout=10)
    assert (again_first.accepted, again_first.duplicate) == (True, False)
    assert (again_second.accepted, again_second.duplicate) == (False, True)
    assert _aggregated(cloud, model) == 12  # each record counted once
    with httpx.Client(base_url=cloud.url, headers={"Authorization": f"Bearer {key}"}, timeout=10) as c:
        assert c.get(f"/v1/devices/{device_id}/manifest").status_code == 200
