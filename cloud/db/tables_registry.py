"""Model registry: models, versions, artifacts, evaluations, approvals, runs and deployments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frugalstack.cloud.db.base import Base, created_column, id_column


class Model(Base):
    __tablename__ = "models"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    intended_use: Mapped[str] = mapped_column(Text, default="")
    limitations: Mapped[str] = mapped_column(Text, default="")
    use_case_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("use_cases.id"), nullable=True)
    created_at: Mapped[datetime] = created_column()


class Run(Base):
    """A training / fine-tuning / optimisation run: the edge between data and a model version."""

    __tablename__ = "runs"

    id: Mapped[str] = id_column()
    kind: Mapped[str] = mapped_column(String(50))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dataset_version_ids: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = created_column()


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version", name="uq_model_versions_model_version"),)

    id: Mapped[str] = id_column()
    model_id: Mapped[str] = mapped_column(String(32), ForeignKey("models.id"), index=True)
    version: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(20), default="candidate")
    base_model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("runs.id"), nullable=True)
    optimize_report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    quantization_losses: Mapped[dict[str, Any]] = mapped_column(default=dict)
    energy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_column()


class Artifact(Base):
    __tablename__ = "artifacts"

    id: Mapped[str] = id_column()
    model_version_id: Mapped[str] = mapped_column(String(32), ForeignKey("model_versions.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(30))
    quantization: Mapped[str | None] = mapped_column(String(50), nullable=True)
    profiles: Mapped[list[Any]] = mapped_column(default=list)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    signature: Mapped[str | None] = mapped_column(String(200), nullable=True)
    storage_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = created_column()


class Evaluation(Base):
    __tablename__ = "evaluations"

    id: Mapped[str] = id_column()
    model_version_id: Mapped[str] = mapped_column(String(32), ForeignKey("model_versions.id"), index=True)
    suite: Mapped[str] = mapped_column(String(200))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    thresholds: Mapped[dict[str, Any]] = mapped_column(default=dict)
    passed: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_column()


class Approval(Base):
    __tablename__ = "approvals"

    id: Mapped[str] = id_column()
    model_version_id: Mapped[str] = mapped_column(String(32), ForeignKey("model_versions.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    approver: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = created_column()


class Deployment(Base):
    """What a device profile should run: model version, prompt versions, guard policy, router version."""

    __tablename__ = "deployments"

    id: Mapped[str] = id_column()
    profile: Mapped[str] = mapped_column(String(100), index=True)
    model_version_id: Mapped[str] = mapped_column(String(32), ForeignKey("model_versions.id"))
    prompt_versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    guard_policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    router_version: Mapped[str] = mapped_column(String(50), default="1")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_column()


class LineageEdge(Base):
    __tablename__ = "lineage_edges"

    id: Mapped[str] = id_column()
    src_kind: Mapped[str] = mapped_column(String(30), index=True)
    src_id: Mapped[str] = mapped_column(String(32), index=True)
    dst_kind: Mapped[str] = mapped_column(String(30), index=True)
    dst_id: Mapped[str] = mapped_column(String(32), index=True)
    relation: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = created_column()
