"""``/v1/models``: registered models and their versions."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from frugalstack.cloud.db.base import new_id
from frugalstack.cloud.db.tables_data import UseCase
from frugalstack.cloud.db.tables_registry import Model, ModelVersion
from frugalstack.cloud.deps import Reader, StateDep, Writer
from frugalstack.cloud.schemas.registry import (
    ModelCreate,
    ModelPublic,
    ModelUpdate,
    ModelVersionCreate,
    ModelVersionPublic,
)
from frugalstack.cloud.services import crud, registry
from frugalstack.shared.errors import ConflictError

router = APIRouter(prefix="/v1/registry/models", tags=["registry"])


@router.post("", status_code=201, response_model=ModelPublic)
def create_model(body: ModelCreate, state: StateDep, who: Writer) -> ModelPublic:
    with state.db.write() as s:
        if s.scalars(select(Model).where(Model.name == body.name)).first():
            raise ConflictError(f"a model named {body.name!r} exists")
        if body.use_case_id:
            crud.get_or_404(s, UseCase, body.use_case_id, "use case")
        return ModelPublic.model_validate(crud.create(s, who, Model(id=new_id(), **body.model_dump()), "model"))


@router.get("", response_model=list[ModelPublic])
def list_models(state: StateDep, who: Reader) -> list[ModelPublic]:
    with state.db.read() as s:
        return [ModelPublic.model_validate(m) for m in s.scalars(select(Model).order_by(Model.name))]


@router.get("/{model_id}", response_model=ModelPublic)
def get_model(model_id: str, state: StateDep, who: Reader) -> ModelPublic:
    with state.db.read() as s:
        return ModelPublic.model_validate(crud.get_or_404(s, Model, model_id, "model"))


@router.patch("/{model_id}", response_model=ModelPublic)
def update_model(model_id: str, body: ModelUpdate, state: StateDep, who: Writer) -> ModelPublic:
    with state.db.write() as s:
        row = crud.get_or_404(s, Model, model_id, "model")
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        if changes.get("use_case_id"):
            crud.get_or_404(s, UseCase, changes["use_case_id"], "use case")
        return ModelPublic.model_validate(crud.update(s, who, row, "model", changes))


@router.post("/{model_id}/versions", status_code=201, response_model=ModelVersionPublic)
def create_version(model_id: str, body: ModelVersionCreate, state: StateDep, who: Writer) -> ModelVersionPublic:
    """A new version starts as ``candidate``."""
    with state.db.write() as s:
        return ModelVersionPublic.model_validate(registry.create_version(s, who, model_id, body.model_dump()))


@router.get("/{model_id}/versions", response_model=list[ModelVersionPublic])
def list_versions(model_id: str, state: StateDep, who: Reader) -> list[ModelVersionPublic]:
    with state.db.read() as s:
        crud.get_or_404(s, Model, model_id, "model")
        rows = s.scalars(select(ModelVersion).where(ModelVersion.model_id == model_id)
                         .order_by(ModelVersion.created_at))
        return [ModelVersionPublic.model_validate(r) for r in rows]
