"""``/healthz`` and the public signing key (devices pin it at enrolment)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from frugalstack.cloud.deps import StateDep
from frugalstack.shared.manifest import SigningKey

router = APIRouter(tags=["meta"])


class Health(BaseModel):
    status: str
    database: str
    mode: str


@router.get("/healthz", response_model=Health)
def health(state: StateDep) -> Health:
    with state.db.read() as s:
        s.execute(text("SELECT 1"))
    return Health(status="ok", database=state.db.dialect, mode=state.settings.mode)


@router.get("/v1/signing-key", response_model=SigningKey)
def signing_key(state: StateDep) -> SigningKey:
    """The Ed25519 public key that signs manifests and artifacts."""
    return state.signer.public()
