"""``/v1/audit``: read and verify the hash-chained audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from frugalstack.cloud.db.tables_security import AuditEntry
from frugalstack.cloud.deps import Reader, StateDep
from frugalstack.cloud.schemas.audit import AuditEntryPublic, AuditVerification
from frugalstack.cloud.services import audit

router = APIRouter(prefix="/v1/audit", tags=["security"])


@router.get("", response_model=list[AuditEntryPublic])
def list_entries(
    state: StateDep,
    who: Reader,
    after_seq: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntryPublic]:
    with state.db.read() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.seq > after_seq).order_by(AuditEntry.seq).limit(limit))
        return [AuditEntryPublic.model_validate(r) for r in rows]


@router.get("/verify", response_model=AuditVerification)
def verify(state: StateDep, who: Reader) -> AuditVerification:
    """Recompute the whole chain; ``ok`` is false with the first bad entry if anything was altered."""
    with state.db.read() as s:
        result = audit.verify(s)
    return AuditVerification(**result.__dict__)
