"""``/v1/use-cases``, ``/v1/retention-policies``, ``/v1/deletion-requests``, ``/v1/governance/export``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from frugalstack.cloud.db.base import new_id, utcnow
from frugalstack.cloud.db.tables_data import DeletionRequest, RetentionPolicy, UseCase
from frugalstack.cloud.deps import Reader, StateDep, Writer
from frugalstack.cloud.schemas.governance import (
    DeletionRequestCreate,
    DeletionRequestPublic,
    GovernanceExport,
    RetentionPolicyCreate,
    RetentionPolicyPublic,
    RetentionRun,
    UseCaseCreate,
    UseCasePublic,
    UseCaseUpdate,
)
from frugalstack.cloud.services import crud, governance
from frugalstack.shared.errors import ConflictError

router = APIRouter(tags=["governance"])


@router.post("/v1/use-cases", status_code=201, response_model=UseCasePublic)
def create_use_case(body: UseCaseCreate, state: StateDep, who: Writer) -> UseCasePublic:
    """An EU AI Act record: risk class, transparency obligations, human oversight, logging."""
    with state.db.write() as s:
        if s.scalars(select(UseCase).where(UseCase.name == body.name)).first():
            raise ConflictError(f"a use case named {body.name!r} exists")
        return UseCasePublic.model_validate(crud.create(s, who, UseCase(id=new_id(), **body.model_dump()), "use_case"))


@router.get("/v1/use-cases", response_model=list[UseCasePublic])
def list_use_cases(state: StateDep, who: Reader) -> list[UseCasePublic]:
    with state.db.read() as s:
        return [UseCasePublic.model_validate(u) for u in s.scalars(select(UseCase).order_by(UseCase.name))]


@router.get("/v1/use-cases/{use_case_id}", response_model=UseCasePublic)
def get_use_case(use_case_id: str, state: StateDep, who: Reader) -> UseCasePublic:
    with state.db.read() as s:
        return UseCasePublic.model_validate(crud.get_or_404(s, UseCase, use_case_id, "use case"))


@router.patch("/v1/use-cases/{use_case_id}", response_model=UseCasePublic)
def update_use_case(use_case_id: str, body: UseCaseUpdate, state: StateDep, who: Writer) -> UseCasePublic:
    with state.db.write() as s:
        row = crud.get_or_404(s, UseCase, use_case_id, "use case")
        changes = {**body.model_dump(exclude_unset=True, exclude_none=True), "updated_at": utcnow()}
        return UseCasePublic.model_validate(crud.update(s, who, row, "use_case", changes))


@router.put("/v1/retention-policies", response_model=RetentionPolicyPublic)
def set_retention(body: RetentionPolicyCreate, state: StateDep, who: Writer) -> RetentionPolicyPublic:
    """One policy per resource (telemetry, usage, drift_alerts); setting it again replaces the days."""
    with state.db.write() as s:
        return RetentionPolicyPublic.model_validate(governance.set_retention(s, who, body.resource, body.days))


@router.get("/v1/retention-policies", response_model=list[RetentionPolicyPublic])
def list_retention(state: StateDep, who: Reader) -> list[RetentionPolicyPublic]:
    with state.db.read() as s:
        return [RetentionPolicyPublic.model_validate(p) for p in s.scalars(select(RetentionPolicy))]


@router.post("/v1/retention/apply", response_model=RetentionRun)
def apply_retention(state: StateDep, who: Writer) -> RetentionRun:
    """Delete everything older than the policies allow (run it daily, e.g. from cron)."""
    with state.db.write() as s:
        return RetentionRun(deleted=governance.apply_retention(s, who))


@router.post("/v1/deletion-requests", status_code=201, response_model=DeletionRequestPublic)
def create_deletion(body: DeletionRequestCreate, state: StateDep, who: Writer) -> DeletionRequestPublic:
    """A data subject's erasure request; every device sees it in its manifest until it acknowledges."""
    with state.db.write() as s:
        row = DeletionRequest(id=new_id(), subject_id=body.subject_id, reason=body.reason, status="pending",
                              acked_by=[])
        return DeletionRequestPublic.model_validate(crud.create(s, who, row, "deletion_request"))


@router.get("/v1/deletion-requests", response_model=list[DeletionRequestPublic])
def list_deletions(state: StateDep, who: Reader) -> list[DeletionRequestPublic]:
    with state.db.read() as s:
        return [DeletionRequestPublic.model_validate(r) for r in s.scalars(
            select(DeletionRequest).order_by(DeletionRequest.created_at))]


@router.get("/v1/governance/export", response_model=GovernanceExport)
def export_json(state: StateDep, who: Reader) -> GovernanceExport:
    """Everything an auditor needs, as JSON (the same data as the HTML report)."""
    with state.db.read() as s:
        return GovernanceExport.model_validate(governance.export(s))


@router.get("/v1/governance/export.html", response_class=HTMLResponse)
def export_html(state: StateDep, who: Reader) -> str:
    """A readable report (print it to PDF from a browser)."""
    with state.db.read() as s:
        return governance.export_html(governance.export(s))
