"""Send a benchmark run to the cloud as telemetry aggregates (operation ``benchmark``).

The cloud's dashboard then shows fleet energy and cost over time beside real traffic. The batch id is a
hash of the run, so uploading the same results twice is counted once.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

import httpx

from frugalstack.shared.errors import AuthenticationError, UpstreamError
from frugalstack.shared.telemetry import (
    DURATION_BUCKETS_S,
    INPUT_LENGTH_BUCKETS,
    TTFT_BUCKETS_S,
    TelemetryAggregate,
    TelemetryBatch,
)


def _hist(values: list[float], bounds: tuple[float, ...]) -> list[int]:
    counts = [0] * (len(bounds) + 1)
    for v in values:
        counts[next((i for i, b in enumerate(bounds) if v <= b), len(bounds))] += 1
    return counts


def to_batch(results: dict[str, Any], device_id: str | None = None) -> TelemetryBatch:
    day = date.fromisoformat(results["environment"]["started_at"][:10])
    aggregates = []
    for cell in results["cells"]:
        if not cell.get("ok"):
            continue
        reqs, s = cell["requests"], cell["summary"]
        energy_wh = (cell.get("energy", {}).get("kwh") or 0.0) * 1000
        edge_cost = (s["cost"]["edge_per_1k"] or 0.0) * len(reqs) / 1000
        aggregates.append(TelemetryAggregate.model_validate({
            "day": day,
            "gen_ai.operation.name": "benchmark",
            "gen_ai.request.model": cell["spec"]["model_label"][:200],
            "requests": len(reqs),
            "gen_ai.usage.input_tokens": sum(r["input_tokens"] for r in reqs),
            "gen_ai.usage.output_tokens": sum(r["output_tokens"] for r in reqs),
            "duration_sum_s": sum(r["latency_ms"] for r in reqs) / 1000,
            "gen_ai.client.operation.duration": _hist([r["latency_ms"] / 1000 for r in reqs], DURATION_BUCKETS_S),
            "gen_ai.server.time_to_first_token": _hist([r["ttft_ms"] / 1000 for r in reqs], TTFT_BUCKETS_S),
            "frugal.input_length": _hist([r["input_tokens"] for r in reqs], INPUT_LENGTH_BUCKETS),
            "frugal.route.decision": {"edge": len(reqs)},
            "energy_wh": energy_wh,
            "cost_usd": edge_cost,
        }))
    digest = hashlib.sha256(json.dumps(results["environment"], sort_keys=True, default=str).encode()).hexdigest()
    return TelemetryBatch(batch_id=f"bench-{digest[:40]}", device_id=device_id, aggregates=aggregates)


def upload_results(
    results: dict[str, Any], url: str, api_key: str, *, device_id: str | None = None, timeout_s: float = 30.0
) -> dict[str, Any]:
    """Post the run; a device key reports as itself, an operator key must name the ``device_id``."""
    batch = to_batch(results, device_id)
    try:
        r = httpx.post(url.rstrip("/") + "/v1/telemetry/batches", json=batch.model_dump(mode="json", by_alias=True),
                       headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise UpstreamError(f"cannot reach the cloud at {url}: {exc}") from exc
    if r.status_code in (401, 403):
        if "device_id" in r.text:
            raise AuthenticationError("an operator key must name the device the benchmark ran on (--device-id)")
        raise AuthenticationError(f"the cloud refused the key ({r.status_code}): {r.text[:200]}")
    if r.status_code >= 400:
        raise UpstreamError(f"the cloud answered {r.status_code}: {r.text[:300]}")
    out: dict[str, Any] = r.json()
    return out
