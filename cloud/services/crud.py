"""Small helpers the services share: fetch-or-404, audited create and update."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from frugalstack.cloud.db.base import Base
from frugalstack.cloud.services import audit
from frugalstack.shared.errors import NotFoundError

T = TypeVar("T", bound=Base)


def get_or_404(session: Session, table: type[T], row_id: str, what: str | None = None) -> T:
    row = session.get(table, row_id) if len(row_id) <= 64 else None
    if row is None:
        raise NotFoundError(f"{what or table.__tablename__} {row_id!r} not found")
    return row


def create(session: Session, actor: Any, row: T, kind: str, details: dict[str, Any] | None = None) -> T:
    session.add(row)
    session.flush()
    audit.record(session, actor, f"{kind}.create", kind, str(getattr(row, "id", "")), None, row, details)
    return row


def update(session: Session, actor: Any, row: T, kind: str, changes: dict[str, Any]) -> T:
    before = audit.state_hash(row)
    for key, value in changes.items():
        setattr(row, key, value)
    session.flush()
    audit.record(session, actor, f"{kind}.update", kind, str(getattr(row, "id", "")), before, row,
                 {"fields": sorted(changes)})
    return row
