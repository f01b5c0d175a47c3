"""Build and sign a device's over-the-air manifest from deployments, experiments and deletion requests."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frugalstack.cloud.db.tables_data import DeletionRequest, UseCase
from frugalstack.cloud.db.tables_ops import Experiment
from frugalstack.cloud.db.tables_registry import Artifact, Deployment, Model, ModelVersion
from frugalstack.cloud.db.tables_security import Device
from frugalstack.cloud.services.experiments import assign
from frugalstack.cloud.services.signing import Signer
from frugalstack.shared.manifest import (
    Manifest,
    ManifestArtifact,
    ManifestDeletion,
    ManifestExperiment,
    ManifestModel,
    SignedManifest,
)


def _artifact_for(session: Session, mv_id: str, profile: str) -> Artifact | None:
    arts = session.scalars(select(Artifact).where(Artifact.model_version_id == mv_id, Artifact.sha256.is_not(None))
                           .order_by(Artifact.created_at)).all()
    exact = [a for a in arts if profile in (a.profiles or [])]
    generic = [a for a in arts if not a.profiles]
    found = exact or generic
    return found[-1] if found else None


def _model_entry(session: Session, mv_id: str, profile: str) -> tuple[ManifestModel, Model] | None:
    mv = session.get(ModelVersion, mv_id)
    model = session.get(Model, mv.model_id) if mv else None
    if mv is None or model is None:
        return None
    art = _artifact_for(session, mv.id, profile)
    entry = ManifestModel(
        model_id=model.id, name=model.name, model_version_id=mv.id, version=mv.version,
        artifact=ManifestArtifact(
            id=art.id, url=f"/v1/artifacts/{art.id}/content", filename=art.filename, format=art.format,
            quantization=art.quantization, sha256=art.sha256 or "", size_bytes=art.size_bytes or 0,
            signature=art.signature or "") if art else None)
    return entry, model


def _apply_experiment(session: Session, fields: dict[str, Any], kind: str, config: dict[str, Any],
                      profile: str) -> None:
    """A variant's config overrides what the deployment says: its model version or prompt versions."""
    if kind == "model" and isinstance(config.get("model_version_id"), str):
        mv = session.get(ModelVersion, config["model_version_id"])
        found = _model_entry(session, mv.id, profile) if mv and mv.stage in ("staging", "production") else None
        if found and found[0].artifact is not None:
            fields["model"] = found[0]
    if kind == "prompt" and isinstance(config.get("prompt_versions"), dict):
        fields["prompt_versions"] = {**fields.get("prompt_versions", {}),
                                     **{str(k): str(v) for k, v in config["prompt_versions"].items()}}


def build(session: Session, device: Device, signer: Signer, ttl_s: int) -> SignedManifest:
    manifest = unsigned(session, device, ttl_s)
    return SignedManifest(manifest=manifest, signature=signer.sign_json(manifest), key_id=signer.key_id)


def unsigned(session: Session, device: Device, ttl_s: int = 3600) -> Manifest:
    """The device's manifest before signing (also used to decide which artifacts it may download)."""
    now = time.time()
    fields: dict[str, Any] = {"device_id": device.id, "profile": device.profile, "issued_at": round(now, 3),
                              "expires_at": round(now + ttl_s, 3)}
    dep = session.scalars(select(Deployment).where(Deployment.profile == device.profile, Deployment.active.is_(True))
                          .order_by(Deployment.created_at.desc())).first()
    if dep is not None:
        found = _model_entry(session, dep.model_version_id, device.profile)
        if found is not None:
            fields["model"], model = found
            use_case = session.get(UseCase, model.use_case_id) if model.use_case_id else None
            fields["allow_raw_prompts"] = bool(use_case and use_case.allow_raw_prompts)
        fields.update(deployment_id=dep.id, prompt_versions=dict(dep.prompt_versions), guard_policy=dep.guard_policy,
                      router_version=dep.router_version)
    experiments = []
    for e in session.scalars(select(Experiment).where(Experiment.status == "running").order_by(Experiment.name)):
        if e.profile not in (None, device.profile):
            continue
        variant = assign(e.id, device.id, e.variants)
        config = next(x.get("config", {}) for x in e.variants if x["name"] == variant)
        experiments.append(ManifestExperiment(experiment_id=e.id, name=e.name, variant=variant, config=config))
        _apply_experiment(session, fields, e.kind, config, device.profile)
    fields["experiments"] = experiments
    fields["deletion_requests"] = [
        ManifestDeletion(id=r.id, subject_id=r.subject_id)
        for r in session.scalars(select(DeletionRequest).where(DeletionRequest.status == "pending"))
        if device.id not in (r.acked_by or [])
    ]
    from frugalstack.cloud.features.materialize import for_device, manifest_entry

    snap = for_device(session, device.id, device.profile)
    fields["features"] = manifest_entry(snap) if snap is not None else None
    return Manifest(**fields)
