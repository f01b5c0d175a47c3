"""Append-only, hash-chained audit log: each entry's hash covers the previous hash and its own fields.

Appending locks the single ``audit_head`` row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite writes are
serialised by the Database), so the chain stays linear even with concurrent writers. Any edit,
deletion or reordering of past entries breaks ``verify``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from frugalstack.cloud.db.base import Base, utcnow
from frugalstack.cloud.db.tables_security import AuditEntry, AuditHead
from frugalstack.shared.manifest import canonical_json

GENESIS = "0" * 64


class _Actor:  # structural: anything with key_id and role (avoids an import cycle with auth)
    key_id: str
    role: str


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return _ts(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _ts(dt: datetime) -> str:
    """Timestamps as naive UTC ISO text, identical before and after a database round trip."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt.isoformat(timespec="microseconds")


def entity_state(row: Base) -> dict[str, Any]:
    mapper = inspect(type(row))
    return {c.key: _plain(getattr(row, c.key)) for c in mapper.column_attrs}


def state_hash(row: Base | None) -> str | None:
    return None if row is None else hashlib.sha256(canonical_json(entity_state(row))).hexdigest()


def _entry_hash(prev: str, e: AuditEntry) -> str:
    body = {
        "seq": e.seq, "at": _ts(e.at), "actor": e.actor, "actor_role": e.actor_role, "action": e.action,
        "entity_kind": e.entity_kind, "entity_id": e.entity_id, "before_hash": e.before_hash,
        "after_hash": e.after_hash, "details": e.details,
    }
    return hashlib.sha256(prev.encode() + canonical_json(body)).hexdigest()


def ensure_head(session: Session) -> None:
    if session.get(AuditHead, 1) is None:
        try:
            with session.begin_nested():
                session.add(AuditHead(id=1, seq=0, hash=GENESIS))
        except IntegrityError:  # another process created it first
            pass


def record(
    session: Session,
    actor: Any,
    action: str,
    kind: str,
    entity_id: str,
    before: Base | str | None,
    after: Base | str | None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits or rolls back with the change)."""
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
    if head is None:
        ensure_head(session)
        head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
    entry = AuditEntry(
        seq=head.seq + 1, at=utcnow(), actor=actor.key_id, actor_role=actor.role, action=action,
        entity_kind=kind, entity_id=str(entity_id)[:200],
        before_hash=before if isinstance(before, str) or before is None else state_hash(before),
        after_hash=after if isinstance(after, str) or after is None else state_hash(after),
        details=details or {}, prev_hash=head.hash, hash="",
    )
    entry.hash = _entry_hash(head.hash, entry)
    session.add(entry)
    head.seq, head.hash = entry.seq, entry.hash
    session.flush()
    return entry


@dataclass
class Verification:
    ok: bool
    entries: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None


def verify(session: Session, batch: int = 5000) -> Verification:
    """Walk the chain from the start; report the first entry whose hash or link does not hold."""
    prev, expected_seq, count = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last_seq).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            break
        for e in rows:
            if e.seq != expected_seq:
                return Verification(False, count, prev, expected_seq, f"entry {expected_seq} is missing")
            if e.prev_hash != prev:
                return Verification(False, count, prev, e.seq, "link to the previous entry is broken")
            if _entry_hash(prev, e) != e.hash:
                return Verification(False, count, prev, e.seq, "entry content does not match its hash")
            prev, expected_seq, count, last_seq = e.hash, e.seq + 1, count + 1, e.seq
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != count or head.hash != prev):
        return Verification(False, count, prev, count + 1, "entries after the last one were removed")
    return Verification(True, count, prev)
