"""Governance: EU AI Act records per use case, retention policies, data-subject deletion requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from frugalstack.cloud.schemas.common import Name, Public, Text

RiskClass = Literal["minimal", "limited", "high", "unacceptable"]
RetentionResource = Literal["telemetry", "usage", "drift_alerts"]


class UseCaseCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "shop-assistant", "risk_class": "limited",
                                         "transparency_obligations": "tell users they talk to an AI"}]},
    )

    name: Name
    description: Text = ""
    risk_class: RiskClass
    transparency_obligations: Text = ""
    human_oversight: Text = ""
    logging: Text = ""
    allow_raw_prompts: bool = False


class UseCaseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"risk_class": "high"}]})

    description: Text | None = None
    risk_class: RiskClass | None = None
    transparency_obligations: Text | None = None
    human_oversight: Text | None = None
    logging: Text | None = None
    allow_raw_prompts: bool | None = None


class UseCasePublic(Public):
    id: str
    name: str
    description: str
    risk_class: RiskClass
    transparency_obligations: str
    human_oversight: str
    logging: str
    allow_raw_prompts: bool
    created_at: datetime
    updated_at: datetime | None


class RetentionPolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"resource": "telemetry", "days": 90}]})

    resource: RetentionResource
    days: int = Field(ge=1, le=36500)


class RetentionPolicyPublic(Public):
    id: str
    resource: str
    days: int
    created_at: datetime


class RetentionRun(BaseModel):
    deleted: dict[str, int]


class DeletionRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"subject_id": "customer-42"}]})

    subject_id: Name
    reason: Text = ""


class DeletionRequestPublic(Public):
    id: str
    subject_id: str
    reason: str
    status: str
    acked_by: list[str]
    created_at: datetime
    completed_at: datetime | None


class GovernanceExport(BaseModel):
    generated_at: datetime
    use_cases: list[UseCasePublic]
    models: list[dict[str, Any]]
    datasets: list[dict[str, Any]]
    retention_policies: list[RetentionPolicyPublic]
    deletion_requests: list[DeletionRequestPublic]
    audit: dict[str, Any]
