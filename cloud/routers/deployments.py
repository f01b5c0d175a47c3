"""``/v1/deployments``: which model version, prompts, guard policy and router version a profile runs."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from frugalstack.cloud.db.tables_registry import Deployment
from frugalstack.cloud.deps import Reader, StateDep, Writer
from frugalstack.cloud.schemas.registry import DeploymentCreate, DeploymentPublic
from frugalstack.cloud.services import crud, registry

router = APIRouter(prefix="/v1/deployments", tags=["registry"])


@router.post("", status_code=201, response_model=DeploymentPublic)
def deploy(body: DeploymentCreate, state: StateDep, who: Writer) -> DeploymentPublic:
    """Replaces the profile's active deployment; devices pick it up from their next manifest."""
    with state.db.write() as s:
        return DeploymentPublic.model_validate(registry.deploy(s, who, body.model_dump()))


@router.get("", response_model=list[DeploymentPublic])
def list_deployments(state: StateDep, who: Reader) -> list[DeploymentPublic]:
    with state.db.read() as s:
        rows = s.scalars(select(Deployment).order_by(Deployment.created_at))
        return [DeploymentPublic.model_validate(d) for d in rows]


@router.get("/{deployment_id}", response_model=DeploymentPublic)
def get_deployment(deployment_id: str, state: StateDep, who: Reader) -> DeploymentPublic:
    with state.db.read() as s:
        return DeploymentPublic.model_validate(crud.get_or_404(s, Deployment, deployment_id, "deployment"))
