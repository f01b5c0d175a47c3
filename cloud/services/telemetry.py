"""Telemetry ingestion: idempotent batches folded into per model version x profile x day aggregates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from frugalstack.cloud.db.base import new_id, utcnow
from frugalstack.cloud.db.tables_ops import DailyAggregate, TelemetryBatch
from frugalstack.cloud.db.tables_security import Device
from frugalstack.cloud.services import audit, crud, drift, experiments
from frugalstack.shared.errors import PermissionDeniedError
from frugalstack.shared.telemetry import IngestResult
from frugalstack.shared.telemetry import TelemetryBatch as Batch


def _add_lists(a: list[Any], b: list[int]) -> list[Any]:
    if not b:
        return a
    if not a:
        return list(b)
    return [x + y for x, y in zip(a, b, strict=True)]


def _add_counts(a: dict[str, Any], b: dict[str, int]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


def ingest(session: Session, actor: Any, batch: Batch, drift_threshold: float) -> IngestResult:
    device_id = batch.device_id or actor.device_id
    if actor.role == "device" and device_id != actor.device_id:
        raise PermissionDeniedError("a device key may only report its own telemetry")
    if device_id is None:
        raise PermissionDeniedError("device_id is required when the caller is not a device")
    device = crud.get_or_404(session, Device, device_id, "device")
    profile = batch.profile or device.profile
    try:
        with session.begin_nested():
            session.add(TelemetryBatch(batch_id=batch.batch_id, device_id=device.id, aggregates=len(batch.aggregates)))
    except IntegrityError:
        return IngestResult(batch_id=batch.batch_id, accepted=False, duplicate=True, aggregates=0)
    touched = set()
    for agg in batch.aggregates:
        key = (agg.day, agg.model_version_id or "", agg.model, profile)
        row = session.scalars(select(DailyAggregate).where(
            DailyAggregate.day == key[0], DailyAggregate.model_version_id == key[1], DailyAggregate.model == key[2],
            DailyAggregate.profile == key[3])).first()
        if row is None:
            row = DailyAggregate(id=new_id(), day=key[0], model_version_id=key[1], model=key[2], profile=key[3],
                                 requests=0, errors=0, input_tokens=0, output_tokens=0, duration_sum_s=0.0,
                                 duration_hist=[], ttft_hist=[], input_len_hist=[], routes={}, guard_verdicts={},
                                 intents={}, feedback_positive=0, feedback_negative=0, energy_wh=0.0, cost_usd=0.0)
            session.add(row)
        row.requests += agg.requests
        row.errors += agg.errors
        row.input_tokens += agg.input_tokens
        row.output_tokens += agg.output_tokens
        row.duration_sum_s += agg.duration_sum_s
        row.duration_hist = _add_lists(row.duration_hist, agg.duration_histogram)
        row.ttft_hist = _add_lists(row.ttft_hist, agg.ttft_histogram)
        row.input_len_hist = _add_lists(row.input_len_hist, agg.input_length_histogram)
        row.routes = _add_counts(row.routes, agg.routes)
        row.guard_verdicts = _add_counts(row.guard_verdicts, agg.guard_verdicts)
        row.intents = _add_counts(row.intents, agg.intents)
        row.feedback_positive += agg.feedback_positive
        row.feedback_negative += agg.feedback_negative
        row.energy_wh += agg.energy_wh
        row.cost_usd += agg.cost_usd
        if agg.experiment_id and agg.variant:
            experiments.record_outcome(session, agg.experiment_id, agg.variant,
                                       agg.feedback_positive + agg.feedback_negative, agg.feedback_positive)
        touched.add(key)
    session.flush()
    alerts = sum(drift.check(session, *key, drift_threshold) for key in sorted(touched))
    device.last_seen_at = utcnow()
    audit.record(session, actor, "telemetry.ingest", "telemetry_batch", batch.batch_id, None, None,
                 {"device_id": device.id, "aggregates": len(batch.aggregates), "drift_alerts": alerts})
    return IngestResult(batch_id=batch.batch_id, accepted=True, duplicate=False, aggregates=len(batch.aggregates),
                        drift_alerts=alerts)
