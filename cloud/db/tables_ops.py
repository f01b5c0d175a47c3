"""Telemetry batches and daily aggregates, drift alerts, experiments and gateway usage."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frugalstack.cloud.db.base import Base, created_column, id_column


class TelemetryBatch(Base):
    """Seen batch ids: a retried upload hits the primary key and is not counted twice."""

    __tablename__ = "telemetry_batches"

    batch_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(32), index=True)
    aggregates: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = created_column()


class DailyAggregate(Base):
    """Fleet figures per model version x device profile x day."""

    __tablename__ = "daily_aggregates"
    __table_args__ = (UniqueConstraint("day", "model_version_id", "model", "profile", name="uq_daily_key"),)

    id: Mapped[str] = id_column()
    day: Mapped[date] = mapped_column(Date, index=True)
    model_version_id: Mapped[str] = mapped_column(String(32), default="")
    model: Mapped[str] = mapped_column(String(200))
    profile: Mapped[str] = mapped_column(String(100))
    requests: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    duration_sum_s: Mapped[float] = mapped_column(Float, default=0.0)
    duration_hist: Mapped[list[Any]] = mapped_column(default=list)
    ttft_hist: Mapped[list[Any]] = mapped_column(default=list)
    input_len_hist: Mapped[list[Any]] = mapped_column(default=list)
    routes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    guard_verdicts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    intents: Mapped[dict[str, Any]] = mapped_column(default=dict)
    feedback_positive: Mapped[int] = mapped_column(Integer, default=0)
    feedback_negative: Mapped[int] = mapped_column(Integer, default=0)
    energy_wh: Mapped[float] = mapped_column(Float, default=0.0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)


class DriftAlert(Base):
    __tablename__ = "drift_alerts"
    __table_args__ = (UniqueConstraint("day", "model_version_id", "profile", "metric", name="uq_drift_key"),)

    id: Mapped[str] = id_column()
    day: Mapped[date] = mapped_column(Date)
    model_version_id: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(200))
    profile: Mapped[str] = mapped_column(String(100))
    metric: Mapped[str] = mapped_column(String(30))
    psi: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = created_column()


class Experiment(Base):
    __tablename__ = "experiments"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    variants: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="running")
    profile: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = created_column()


class ExperimentOutcome(Base):
    __tablename__ = "experiment_outcomes"
    __table_args__ = (UniqueConstraint("experiment_id", "variant", name="uq_outcome_key"),)

    id: Mapped[str] = id_column()
    experiment_id: Mapped[str] = mapped_column(String(32), ForeignKey("experiments.id"), index=True)
    variant: Mapped[str] = mapped_column(String(100))
    trials: Mapped[int] = mapped_column(Integer, default=0)
    successes: Mapped[int] = mapped_column(Integer, default=0)


class UsageRecord(Base):
    """One gateway call: tokens and cost charged to the calling key."""

    __tablename__ = "usage_records"

    id: Mapped[str] = id_column()
    key_id: Mapped[str] = mapped_column(String(64), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    model: Mapped[str] = mapped_column(String(200))
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    cost_usd: Mapped[float] = mapped_column(Float)
    latency_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = created_column()
    use_case_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    # The request's messages, only when the caller asked (store=true) and its use case's governance record
    # allows raw prompts; otherwise NULL. Deleted with the row by the "usage" retention policy.
    prompt_text: Mapped[str | None] = mapped_column(Text, nullable=True)


class RateBucket(Base):
    """A token bucket per API key (or client IP) shared by every worker (PostgreSQL deployments)."""

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated: Mapped[float] = mapped_column(Float, index=True)  # epoch seconds of the last check
    allowed: Mapped[bool] = mapped_column(Boolean)  # the outcome of the last check (RETURNING reads it)
