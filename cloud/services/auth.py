"""API keys and roles: keys are random, shown once, stored as sha256 hashes and looked up by prefix."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from frugalstack.cloud.db.base import new_id, utcnow
from frugalstack.cloud.db.tables_security import ApiKey, Device, EnrolmentToken
from frugalstack.cloud.services import audit
from frugalstack.shared.errors import AuthenticationError, NotFoundError, PermissionDeniedError

ROLES = ("admin", "operator", "auditor", "device")
READ_ROLES = frozenset({"admin", "operator", "auditor"})
WRITE_ROLES = frozenset({"admin", "operator"})


@dataclass(frozen=True)
class Principal:
    """Who is calling: the audit actor is the key id (never the secret)."""

    key_id: str
    role: str
    name: str
    device_id: str | None = None

    def require(self, roles: frozenset[str] | set[str] | tuple[str, ...]) -> None:
        if self.role not in roles:
            raise PermissionDeniedError(f"role {self.role!r} may not do this; needs one of {sorted(roles)}")


SYSTEM = Principal(key_id="system", role="admin", name="system")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def make_key(kind: str = "fsk") -> tuple[str, str]:
    """(prefix, full key); the prefix is the public lookup handle."""
    prefix = f"{kind}_{secrets.token_hex(6)}"
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


def create_key(session: Session, actor: Principal, name: str, role: str, device_id: str | None = None) -> tuple[
    ApiKey, str
]:
    prefix, full = make_key()
    row = ApiKey(id=new_id(), name=name, role=role, prefix=prefix, secret_hash=_hash(full), device_id=device_id,
                 created_by=actor.key_id)
    session.add(row)
    session.flush()
    audit.record(session, actor, "api_key.create", "api_key", row.id, None, row, {"role": role, "name": name})
    return row, full


def revoke_key(session: Session, actor: Principal, key_id: str) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFoundError(f"API key {key_id} not found")
    before = audit.state_hash(row)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    session.flush()
    audit.record(session, actor, "api_key.revoke", "api_key", row.id, before, row)
    return row


def authenticate(session: Session, token: str, admin_secret: str) -> Principal:
    if hmac.compare_digest(token.encode(), admin_secret.encode()):
        return Principal(key_id="admin-secret", role="admin", name="bootstrap admin")
    parts = token.split("_", 2)  # fsk_<hex>_<secret>; the secret itself may contain "_"
    prefix = f"{parts[0]}_{parts[1]}" if len(parts) == 3 and len(token) <= 200 else ""
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first() if prefix else None
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(token)):
        raise AuthenticationError("invalid API key", hint="send Authorization: Bearer <key>")
    if row.revoked_at is not None:
        raise AuthenticationError("this API key was revoked")
    return Principal(key_id=row.id, role=row.role, name=row.name, device_id=row.device_id)


def create_enrolment_token(session: Session, actor: Principal, profile: str, ttl_s: int) -> tuple[
    EnrolmentToken, str
]:
    token = "fet_" + secrets.token_urlsafe(32)
    row = EnrolmentToken(id=new_id(), token_hash=_hash(token), profile=profile, created_by=actor.key_id,
                         expires_at=utcnow() + timedelta(seconds=ttl_s))
    session.add(row)
    session.flush()
    audit.record(session, actor, "enrolment_token.create", "enrolment_token", row.id, None, row, {"profile": profile})
    return row, token


def enrol_device(session: Session, token: str, name: str) -> tuple[Device, str]:
    """Trade a one-time token for a device record and its device key."""
    row = session.scalars(
        select(EnrolmentToken).where(EnrolmentToken.token_hash == _hash(token)).with_for_update()
    ).first()
    if row is None:
        raise AuthenticationError("unknown enrolment token")
    if row.used_at is not None:
        raise AuthenticationError("this enrolment token was already used")
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    if expires < datetime.now(UTC):
        raise AuthenticationError("this enrolment token has expired")
    device = Device(id=new_id(), name=name, profile=row.profile)
    session.add(device)
    session.flush()
    row.used_at = utcnow()
    row.device_id = device.id
    actor = Principal(key_id=f"enrolment:{row.id}", role="device", name=name, device_id=device.id)
    audit.record(session, actor, "device.enrol", "device", device.id, None, device, {"profile": row.profile})
    _, full = create_key(session, actor, f"device:{name}", "device", device_id=device.id)
    return device, full
