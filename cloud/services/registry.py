"""Model registry rules: versions move candidate -> staging -> production -> archived; production needs a
passing evaluation, an uploaded artifact and the approval of a second operator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frugalstack.cloud.db.base import new_id
from frugalstack.cloud.db.tables_data import DatasetVersion, UseCase
from frugalstack.cloud.db.tables_registry import (
    Approval,
    Artifact,
    Deployment,
    Evaluation,
    Model,
    ModelVersion,
    Run,
)
from frugalstack.cloud.services import crud, lineage
from frugalstack.edge.evaluation import gate
from frugalstack.shared.errors import ConflictError, PermissionDeniedError, ValidationError

TRANSITIONS: dict[str, set[str]] = {
    "candidate": {"staging", "archived"},
    "staging": {"production", "archived", "candidate"},
    "production": {"archived"},
    "archived": set(),
}


def create_run(session: Session, actor: Any, kind: str, params: dict[str, Any], metrics: dict[str, Any],
               dataset_version_ids: list[str]) -> Run:
    for dv_id in dataset_version_ids:
        crud.get_or_404(session, DatasetVersion, dv_id, "dataset version")
    run = crud.create(session, actor, Run(id=new_id(), kind=kind, params=params, metrics=metrics,
                                          dataset_version_ids=list(dataset_version_ids)), "run")
    for dv_id in dataset_version_ids:
        lineage.link(session, "dataset_version", dv_id, "run", run.id, "input_of")
    return run


def create_version(session: Session, actor: Any, model_id: str, fields: dict[str, Any]) -> ModelVersion:
    crud.get_or_404(session, Model, model_id, "model")
    if fields.get("run_id"):
        crud.get_or_404(session, Run, fields["run_id"], "run")
    exists = session.scalars(select(ModelVersion).where(
        ModelVersion.model_id == model_id, ModelVersion.version == fields["version"])).first()
    if exists:
        raise ConflictError(f"version {fields['version']!r} of this model exists")
    mv = crud.create(session, actor, ModelVersion(id=new_id(), model_id=model_id, created_by=actor.key_id,
                                                  stage="candidate", **fields), "model_version")
    if mv.run_id:
        lineage.link(session, "run", mv.run_id, "model_version", mv.id, "produced")
    return mv


def check_content(artifact: Artifact, sha256: str, expected_sha256: str | None) -> None:
    """Content is immutable once set, and must match the hash the uploader announced."""
    if artifact.sha256 is not None:
        raise ConflictError("this artifact already has content; create a new artifact instead")
    if expected_sha256 and expected_sha256.lower() != sha256:
        raise ValidationError(f"uploaded content has sha256 {sha256}, not the announced {expected_sha256}")


def attach_content(session: Session, actor: Any, artifact: Artifact, path: Path, sha256: str, size: int,
                   signature: str, expected_sha256: str | None) -> Artifact:
    """Record an uploaded, hashed and signed file."""
    check_content(artifact, sha256, expected_sha256)
    return crud.update(session, actor, artifact, "artifact", {
        "sha256": sha256, "size_bytes": size, "signature": signature, "storage_path": str(path)})


def add_evaluation(session: Session, actor: Any, mv_id: str, suite: str, metrics: dict[str, float],
                   thresholds: dict[str, float], run_id: str | None = None) -> Evaluation:
    mv = crud.get_or_404(session, ModelVersion, mv_id, "model version")
    if suite.startswith(gate.RECORD_PREFIX):  # frugal eval records: the use case's shipped thresholds, only tightened
        thresholds = gate.merge(gate.thresholds_for(_use_case_name(session, mv)), thresholds)
    if run_id:
        crud.get_or_404(session, Run, run_id, "run")
        lineage.link(session, "run", run_id, "model_version", mv_id, "evaluated")
    passed = bool(thresholds) and all(metrics.get(k, float("-inf")) >= v for k, v in thresholds.items())
    ev = Evaluation(id=new_id(), model_version_id=mv_id, suite=suite, metrics=metrics, thresholds=thresholds,
                    passed=passed, created_by=actor.key_id)
    return crud.create(session, actor, ev, "evaluation", {"passed": passed})


def _use_case_name(session: Session, mv: ModelVersion) -> str | None:
    model = session.get(Model, mv.model_id)
    use_case = session.get(UseCase, model.use_case_id) if model and model.use_case_id else None
    return use_case.name if use_case else None


def approve(session: Session, actor: Any, mv_id: str, stage: str, comment: str) -> Approval:
    crud.get_or_404(session, ModelVersion, mv_id, "model version")
    row = Approval(id=new_id(), model_version_id=mv_id, stage=stage, approver=actor.key_id, comment=comment)
    return crud.create(session, actor, row, "approval", {"stage": stage})


def change_stage(session: Session, actor: Any, mv_id: str, target: str) -> ModelVersion:
    mv = crud.get_or_404(session, ModelVersion, mv_id, "model version")
    if target == mv.stage:
        return mv
    if target not in TRANSITIONS[mv.stage]:
        raise ConflictError(f"cannot move a {mv.stage} version to {target}; "
                            f"allowed: {sorted(TRANSITIONS[mv.stage]) or 'none'}")
    if target == "production":
        _check_production(session, actor, mv)
        for old in session.scalars(select(ModelVersion).where(
                ModelVersion.model_id == mv.model_id, ModelVersion.stage == "production")):
            crud.update(session, actor, old, "model_version", {"stage": "archived"})
    return crud.update(session, actor, mv, "model_version", {"stage": target})


def _check_production(session: Session, actor: Any, mv: ModelVersion) -> None:
    if not session.scalars(select(Evaluation).where(Evaluation.model_version_id == mv.id,
                                                    Evaluation.passed.is_(True))).first():
        latest = session.scalars(select(Evaluation).where(Evaluation.model_version_id == mv.id)
                                 .order_by(Evaluation.created_at.desc(), Evaluation.id.desc())).first()
        why = "none is recorded" if latest is None else f"the latest ({latest.suite}) fails: " + (
            "; ".join(gate.failures(latest.metrics, latest.thresholds)) or "no thresholds were given")
        raise ConflictError(f"production needs a passing evaluation record for this version; {why}")
    if not session.scalars(select(Artifact).where(Artifact.model_version_id == mv.id,
                                                  Artifact.sha256.is_not(None))).first():
        raise ConflictError("production needs at least one uploaded artifact")
    approvers = {a.approver for a in session.scalars(select(Approval).where(
        Approval.model_version_id == mv.id, Approval.stage == "production"))}
    if not approvers - {actor.key_id}:
        raise PermissionDeniedError("production needs an approval by a second operator (not the one promoting)")


def deploy(session: Session, actor: Any, fields: dict[str, Any]) -> Deployment:
    mv = crud.get_or_404(session, ModelVersion, fields["model_version_id"], "model version")
    if mv.stage not in ("staging", "production"):
        raise ConflictError(f"only staging or production versions can be deployed; this one is {mv.stage}")
    for old in session.scalars(select(Deployment).where(Deployment.profile == fields["profile"],
                                                        Deployment.active.is_(True))):
        crud.update(session, actor, old, "deployment", {"active": False})
    dep = crud.create(session, actor, Deployment(id=new_id(), created_by=actor.key_id, active=True, **fields),
                      "deployment")
    lineage.link(session, "model_version", mv.id, "deployment", dep.id, "deployed_as")
    return dep



