"""The hash-chained audit log as the API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from frugalstack.cloud.schemas.common import Public


class AuditEntryPublic(Public):
    seq: int
    at: datetime
    actor: str
    actor_role: str
    action: str
    entity_kind: str
    entity_id: str
    before_hash: str | None
    after_hash: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditVerification(BaseModel):
    ok: bool
    entries: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None
