"""``/v1/telemetry``: devices upload aggregate batches; operators read the daily aggregates and drift alerts."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from frugalstack.cloud.db.tables_ops import DailyAggregate, DriftAlert
from frugalstack.cloud.deps import Reader, StateDep, require
from frugalstack.cloud.schemas.telemetry import DailyAggregatePublic, DriftAlertPublic
from frugalstack.cloud.services import telemetry
from frugalstack.cloud.services.auth import Principal
from frugalstack.shared.telemetry import IngestResult, TelemetryBatch

router = APIRouter(tags=["observability"])
# a dependency (not a check in the handler), so a wrong role gets 403 before its body is validated
Uploader = Annotated[Principal, Depends(require({"device", "operator", "admin"}))]


@router.post("/v1/telemetry/batches", response_model=IngestResult)
def ingest(batch: TelemetryBatch, state: StateDep, who: Uploader) -> IngestResult:
    """Idempotent: a batch id seen before is acknowledged with ``duplicate: true`` and not counted again."""
    with state.db.write() as s:
        return telemetry.ingest(s, who, batch, state.settings.drift_psi_threshold)


@router.get("/v1/telemetry/aggregates", response_model=list[DailyAggregatePublic])
def aggregates(
    state: StateDep,
    who: Reader,
    since: Annotated[date | None, Query()] = None,
    profile: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> list[DailyAggregatePublic]:
    """Per model version x device profile x day."""
    q = select(DailyAggregate).order_by(DailyAggregate.day, DailyAggregate.profile).limit(limit)
    if since:
        q = q.where(DailyAggregate.day >= since)
    if profile:
        q = q.where(DailyAggregate.profile == profile)
    with state.db.read() as s:
        return [DailyAggregatePublic.model_validate(r) for r in s.scalars(q)]


@router.get("/v1/drift/alerts", response_model=list[DriftAlertPublic])
def drift_alerts(state: StateDep, who: Reader,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[DriftAlertPublic]:
    """Population stability index above the threshold, per day x model version x profile x metric."""
    with state.db.read() as s:
        return [DriftAlertPublic.model_validate(a) for a in s.scalars(
            select(DriftAlert).order_by(DriftAlert.day.desc(), DriftAlert.metric).limit(limit))]
