"""Upload the device's telemetry to the cloud as aggregates (never raw prompts), idempotently.

Records are folded into per-day aggregates with OTel GenAI names; the batch id is a hash of the device
id and the trace ids, so a retry after a network failure is recognised by the cloud and counted once.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from frugalstack.shared.errors import AuthenticationError, UpstreamError
from frugalstack.shared.schemas import TraceRecord
from frugalstack.shared.telemetry import IngestResult, TelemetryBatch, aggregate, batch_id_for


def build_batch(device_id: str, records: Sequence[TraceRecord], model_version_id: str | None = None) -> TelemetryBatch:
    return TelemetryBatch(batch_id=batch_id_for(device_id, (r.trace_id for r in records)), device_id=device_id,
                          aggregates=aggregate(records, model_version_id=model_version_id))


def upload(base_url: str, api_key: str, device_id: str, records: Sequence[TraceRecord], *,
           model_version_id: str | None = None, timeout: float = 30.0) -> IngestResult:
    """POST one batch; raises on refusal, returns the cloud's verdict (``duplicate`` for a retry)."""
    batch = build_batch(device_id, records, model_version_id)
    try:
        r = httpx.post(f"{base_url.rstrip('/')}/v1/telemetry/batches",
                       json=batch.model_dump(by_alias=True, mode="json"),
                       headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout)
    except httpx.HTTPError as exc:
        raise UpstreamError(f"telemetry upload failed; retry later with the same records: {exc}") from exc
    if r.status_code in (401, 403):
        raise AuthenticationError(f"the cloud refused this device key ({r.status_code})")
    if r.status_code != 200:
        raise UpstreamError(f"telemetry upload failed with HTTP {r.status_code}: {r.text[:200]}")
    return IngestResult.model_validate(r.json())
