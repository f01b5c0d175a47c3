"""``/v1/model-versions``: stage changes, approvals, evaluations, artifacts and the model card."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from sqlalchemy import select

from frugalstack.cloud.db.base import new_id
from frugalstack.cloud.db.tables_registry import Approval, Artifact, Evaluation, ModelVersion
from frugalstack.cloud.deps import Reader, StateDep, Writer
from frugalstack.cloud.schemas.registry import (
    ApprovalCreate,
    ApprovalPublic,
    ArtifactCreate,
    ArtifactPublic,
    EvaluationCreate,
    EvaluationPublic,
    ModelCard,
    ModelVersionPublic,
    StageChange,
)
from frugalstack.cloud.services import cards, crud, registry

router = APIRouter(prefix="/v1/model-versions", tags=["registry"])


@router.get("/{mv_id}", response_model=ModelVersionPublic)
def get_version(mv_id: str, state: StateDep, who: Reader) -> ModelVersionPublic:
    with state.db.read() as s:
        return ModelVersionPublic.model_validate(crud.get_or_404(s, ModelVersion, mv_id, "model version"))


@router.post("/{mv_id}/stage", response_model=ModelVersionPublic)
def change_stage(mv_id: str, body: StageChange, state: StateDep, who: Writer) -> ModelVersionPublic:
    """candidate → staging → production → archived; production needs a passing evaluation, an uploaded
    artifact and an approval by another operator than the caller."""
    with state.db.write() as s:
        return ModelVersionPublic.model_validate(registry.change_stage(s, who, mv_id, body.stage))


@router.post("/{mv_id}/approvals", status_code=201, response_model=ApprovalPublic)
def approve(mv_id: str, body: ApprovalCreate, state: StateDep, who: Writer) -> ApprovalPublic:
    with state.db.write() as s:
        return ApprovalPublic.model_validate(registry.approve(s, who, mv_id, body.stage, body.comment))


@router.get("/{mv_id}/approvals", response_model=list[ApprovalPublic])
def list_approvals(mv_id: str, state: StateDep, who: Reader) -> list[ApprovalPublic]:
    with state.db.read() as s:
        crud.get_or_404(s, ModelVersion, mv_id, "model version")
        return [ApprovalPublic.model_validate(a) for a in s.scalars(
            select(Approval).where(Approval.model_version_id == mv_id))]


@router.post("/{mv_id}/evaluations", status_code=201, response_model=EvaluationPublic)
def add_evaluation(mv_id: str, body: EvaluationCreate, state: StateDep, who: Writer) -> EvaluationPublic:
    """Passes when every thresholded metric is >= its threshold (and at least one threshold is given).
    ``frugal eval`` records (suite ``frugal-eval/...``) are gated by the use case's shipped thresholds."""
    with state.db.write() as s:
        return EvaluationPublic.model_validate(
            registry.add_evaluation(s, who, mv_id, body.suite, body.metrics, body.thresholds, run_id=body.run_id))


@router.get("/{mv_id}/evaluations", response_model=list[EvaluationPublic])
def list_evaluations(mv_id: str, state: StateDep, who: Reader) -> list[EvaluationPublic]:
    with state.db.read() as s:
        crud.get_or_404(s, ModelVersion, mv_id, "model version")
        return [EvaluationPublic.model_validate(e) for e in s.scalars(
            select(Evaluation).where(Evaluation.model_version_id == mv_id))]


@router.post("/{mv_id}/artifacts", status_code=201, response_model=ArtifactPublic)
def create_artifact(mv_id: str, body: ArtifactCreate, state: StateDep, who: Writer) -> ArtifactPublic:
    """Declare an artifact; upload its bytes with ``PUT /v1/artifacts/{id}/content``."""
    with state.db.write() as s:
        crud.get_or_404(s, ModelVersion, mv_id, "model version")
        row = Artifact(id=new_id(), model_version_id=mv_id, **body.model_dump())
        return ArtifactPublic.model_validate(crud.create(s, who, row, "artifact"))


@router.get("/{mv_id}/artifacts", response_model=list[ArtifactPublic])
def list_artifacts(mv_id: str, state: StateDep, who: Reader) -> list[ArtifactPublic]:
    with state.db.read() as s:
        crud.get_or_404(s, ModelVersion, mv_id, "model version")
        return [ArtifactPublic.model_validate(a) for a in s.scalars(
            select(Artifact).where(Artifact.model_version_id == mv_id))]


@router.get("/{mv_id}/card", response_model=ModelCard)
def model_card(mv_id: str, state: StateDep, who: Reader) -> ModelCard:
    """Auto-generated model card: intended use, data lineage, evaluations, quantization losses, energy,
    limitations, EU AI Act risk class."""
    with state.db.read() as s:
        return ModelCard.model_validate(cards.model_card(s, mv_id))


@router.get("/{mv_id}/card.md", response_class=PlainTextResponse)
def model_card_markdown(mv_id: str, state: StateDep, who: Reader) -> str:
    with state.db.read() as s:
        return str(cards.model_card(s, mv_id)["markdown"])
