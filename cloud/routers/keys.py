"""``/v1/keys``: API keys (admin only)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from frugalstack.cloud.db.tables_security import ApiKey
from frugalstack.cloud.deps import Admin, StateDep
from frugalstack.cloud.schemas.keys import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from frugalstack.cloud.services import auth

router = APIRouter(prefix="/v1/keys", tags=["security"])


@router.post("", status_code=201, response_model=ApiKeyCreated)
def create_key(body: ApiKeyCreate, state: StateDep, who: Admin) -> ApiKeyCreated:
    """Create a key; the secret is in the response only."""
    with state.db.write() as s:
        row, secret = auth.create_key(s, who, body.name, body.role)
        return ApiKeyCreated.model_validate({**ApiKeyPublic.model_validate(row).model_dump(), "key": secret})


@router.get("", response_model=list[ApiKeyPublic])
def list_keys(state: StateDep, who: Admin) -> list[ApiKeyPublic]:
    with state.db.read() as s:
        return [ApiKeyPublic.model_validate(r) for r in s.scalars(select(ApiKey).order_by(ApiKey.created_at))]


@router.delete("/{key_id}", response_model=ApiKeyPublic)
def revoke_key(key_id: str, state: StateDep, who: Admin) -> ApiKeyPublic:
    """Revoke a key (it stays listed, marked revoked)."""
    with state.db.write() as s:
        return ApiKeyPublic.model_validate(auth.revoke_key(s, who, key_id))
