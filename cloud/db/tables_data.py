"""Datasets with immutable versions, and the governance records (use cases, retention, deletions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frugalstack.cloud.db.base import Base, created_column, id_column


class UseCase(Base):
    """One EU AI Act record: what the system is for and which obligations follow."""

    __tablename__ = "use_cases"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    risk_class: Mapped[str] = mapped_column(String(20))
    transparency_obligations: Mapped[str] = mapped_column(Text, default="")
    human_oversight: Mapped[str] = mapped_column(Text, default="")
    logging: Mapped[str] = mapped_column(Text, default="")
    allow_raw_prompts: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    license: Mapped[str] = mapped_column(String(100), default="")
    pii_status: Mapped[str] = mapped_column(String(20), default="unknown")
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    use_case_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("use_cases.id"), nullable=True)
    created_at: Mapped[datetime] = created_column()


class DatasetVersion(Base):
    """Immutable: content, hash, schema and row count never change after upload."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_dataset_version"),)

    id: Mapped[str] = id_column()
    dataset_id: Mapped[str] = mapped_column(String(32), ForeignKey("datasets.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(10))
    content_hash: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    row_count: Mapped[int] = mapped_column(Integer)
    schema_: Mapped[dict[str, Any]] = mapped_column("schema", default=dict)
    storage_path: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_column()


class RetentionPolicy(Base):
    __tablename__ = "retention_policies"

    id: Mapped[str] = id_column()
    resource: Mapped[str] = mapped_column(String(30), unique=True)
    days: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_column()


class DeletionRequest(Base):
    """A data subject's erasure request; devices learn it from their manifest and acknowledge it."""

    __tablename__ = "deletion_requests"

    id: Mapped[str] = id_column()
    subject_id: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    acked_by: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = created_column()
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
