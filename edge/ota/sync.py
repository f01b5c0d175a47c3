"""Upload the device's telemetry to the cloud as aggregates (never raw prompts), idempotently.

Records are folded into per-day aggregates with OTel GenAI names; the batch id is a hash of the device
id and the trace ids, so a retry after a network failure is recognised by the cloud and counted once.

``sync_telemetry`` is the durable path: traces not yet shipped become a batch in the outbox
(``edge/outbox.py``) before anything is sent, and leave it only once the cloud acknowledged them; a crash
or an outage delays them, never loses or double-counts them. ``TelemetrySync`` runs it in the background.
``upload`` is the one-shot path for a caller that keeps its own records.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from frugalstack.edge.outbox import FlushResult, Outbox, auth_error
from frugalstack.edge.telemetry import TelemetryStore
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


log = logging.getLogger(__name__)


def sync_telemetry(db: str | Path, base_url: str, api_key: str, device_id: str, *,
                   model_version_id: str | None = None, deadline_s: float = 30.0, attempt_timeout_s: float = 10.0,
                   max_batches: int | None = None, raise_on_auth: bool = True,
                   keep_shipped_days: float | None = None) -> FlushResult:
    """Move unshipped traces of ``db`` into the outbox (one batch), then send pending batches until the deadline.

    Transient failures leave the batches in the outbox for the next call; a refused key raises. With
    ``keep_shipped_days``, trace rows the cloud acknowledged longer ago than that are deleted afterwards.
    """
    kwargs: dict[str, Any] = {} if max_batches is None else {"max_batches": max_batches}
    with Outbox(db, **kwargs) as outbox:
        outbox.enqueue_traces(device_id, model_version_id=model_version_id)
        result = outbox.flush(base_url, api_key, deadline_s=deadline_s, attempt_timeout_s=attempt_timeout_s)
    if keep_shipped_days is not None:
        store = TelemetryStore(db)
        try:
            store.purge_shipped(keep_shipped_days)
        finally:
            store.close()
    error = auth_error(result)
    if error is not None and raise_on_auth:
        raise error
    return result


class TelemetrySync:
    """Call ``sync_telemetry`` on a daemon thread, ``interval_s`` after each pass ends (for a long-running
    edge process); each pass stops after ``deadline_s``."""

    def __init__(self, db: str | Path, base_url: str, api_key: str, device_id: str, *, interval_s: float = 60.0,
                 deadline_s: float = 20.0, model_version_id: str | None = None):
        self.args = (db, base_url, api_key, device_id)
        self.interval_s, self.deadline_s = interval_s, deadline_s  # a pause between passes, not a time limit
        self.model_version_id = model_version_id
        self.last: FlushResult | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="telemetry-sync", daemon=True)

    def start(self) -> TelemetrySync:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.last = sync_telemetry(*self.args, model_version_id=self.model_version_id,
                                           deadline_s=self.deadline_s, raise_on_auth=False)
                if self.last.stopped in ("auth", "unknown_device"):
                    log.warning("telemetry sync stopped: %s (batches kept)", self.last.stopped)
            except Exception:  # keep the thread alive: the batches are safe in the outbox
                log.exception("telemetry sync pass failed")
            self._stop.wait(self.interval_s)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
