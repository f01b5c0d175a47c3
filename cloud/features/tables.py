"""Offline store tables: versioned view definitions, timestamped feature rows, materialized snapshots.

Times are epoch seconds (float) so SQLite and PostgreSQL compare them the same way. ``event_ts`` is when
the value was true in the shop; ``created_ts`` is when the cloud learned it (a late row has
``created_ts`` well after ``event_ts``); point-in-time joins use both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frugalstack.cloud.db.base import Base, created_column, id_column


class FeatureViewRecord(Base):
    """One version of a view definition; applying a changed definition adds a version."""

    __tablename__ = "feature_views"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_feature_views_name_version"),)

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(63), index=True)
    version: Mapped[int] = mapped_column(Integer)
    entity: Mapped[str] = mapped_column(String(63))
    definition: Mapped[dict[str, Any]] = mapped_column()
    definition_hash: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_column()


class FeatureRow(Base):
    __tablename__ = "feature_rows"
    __table_args__ = (Index("ix_feature_rows_view_entity_event", "view_name", "entity_key", "event_ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    view_name: Mapped[str] = mapped_column(String(63))
    entity_key: Mapped[str] = mapped_column(String(200))
    event_ts: Mapped[float] = mapped_column(Float)
    created_ts: Mapped[float] = mapped_column(Float)
    values: Mapped[dict[str, Any]] = mapped_column()
    source_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)  # dataset version id, batch id


class FeatureSnapshotRecord(Base):
    """A signed snapshot for one slice (a device profile, optionally one device), served to the device."""

    __tablename__ = "feature_snapshots"

    id: Mapped[str] = id_column()
    profile: Mapped[str] = mapped_column(String(100), index=True)
    device_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("devices.id"), nullable=True)
    slice: Mapped[dict[str, Any]] = mapped_column()
    views: Mapped[list[Any]] = mapped_column()
    row_count: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[str] = mapped_column(Text)
    storage_path: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_column()
