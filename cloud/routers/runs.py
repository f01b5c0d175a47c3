"""``/v1/runs``: training/optimisation runs (the lineage link between dataset versions and model versions)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from frugalstack.cloud.db.tables_registry import Run
from frugalstack.cloud.deps import Reader, StateDep, Writer
from frugalstack.cloud.schemas.registry import RunCreate, RunPublic
from frugalstack.cloud.services import crud, registry

router = APIRouter(prefix="/v1/runs", tags=["lineage"])


@router.post("", status_code=201, response_model=RunPublic)
def create_run(body: RunCreate, state: StateDep, who: Writer) -> RunPublic:
    with state.db.write() as s:
        return RunPublic.model_validate(
            registry.create_run(s, who, body.kind, body.params, body.metrics, body.dataset_version_ids))


@router.get("", response_model=list[RunPublic])
def list_runs(state: StateDep, who: Reader) -> list[RunPublic]:
    with state.db.read() as s:
        return [RunPublic.model_validate(r) for r in s.scalars(select(Run).order_by(Run.created_at))]


@router.get("/{run_id}", response_model=RunPublic)
def get_run(run_id: str, state: StateDep, who: Reader) -> RunPublic:
    with state.db.read() as s:
        return RunPublic.model_validate(crud.get_or_404(s, Run, run_id, "run"))
