"""Model registry: models, versions, artifacts, evaluations, approvals, stage changes, runs, deployments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from frugalstack.cloud.schemas.common import Id, JsonDict, Name, Public, ShortText, Text

FileName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Stage = Literal["candidate", "staging", "production", "archived"]
ArtifactFormat = Literal["gguf", "onnx", "openvino", "tflite", "safetensors", "transformers", "other"]


class ModelCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "shop-assistant", "intended_use": "answer product questions"}]},
    )

    name: Name
    description: Text = ""
    intended_use: Text = ""
    limitations: Text = ""
    use_case_id: Id | None = None


class ModelUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"limitations": "English only"}]})

    description: Text | None = None
    intended_use: Text | None = None
    limitations: Text | None = None
    use_case_id: Id | None = None


class ModelPublic(Public):
    id: str
    name: str
    description: str
    intended_use: str
    limitations: str
    use_case_id: str | None
    created_at: datetime


class RunCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"kind": "fine-tune", "dataset_version_ids": []}]}
    )

    kind: ShortText = "fine-tune"
    params: JsonDict = Field(default_factory=dict)
    metrics: JsonDict = Field(default_factory=dict)
    dataset_version_ids: list[Id] = Field(default_factory=list, max_length=100)


class RunPublic(Public):
    id: str
    kind: str
    params: JsonDict
    metrics: JsonDict
    dataset_version_ids: list[str]
    created_at: datetime


class ModelVersionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"version": "1.0.0"}]})

    version: Name
    base_model: Name | None = None
    run_id: Id | None = None
    optimize_report: JsonDict = Field(default_factory=dict)
    quantization_losses: JsonDict = Field(default_factory=dict, description="e.g. perplexity delta vs fp16")
    energy: JsonDict = Field(default_factory=dict, description="e.g. Wh per 1k requests (estimates)")


class ModelVersionPublic(Public):
    id: str
    model_id: str
    version: str
    stage: Stage
    base_model: str | None
    run_id: str | None
    optimize_report: JsonDict
    quantization_losses: JsonDict
    energy: JsonDict
    created_by: str
    created_at: datetime


class StageChange(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"stage": "staging"}]})

    stage: Stage


class ApprovalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"stage": "production"}]})

    stage: Stage = "production"
    comment: Text = ""


class ApprovalPublic(Public):
    id: str
    model_version_id: str
    stage: str
    approver: str
    comment: str
    created_at: datetime


class EvaluationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [
            {"suite": "faq-v1", "metrics": {"accuracy": 0.82}, "thresholds": {"accuracy": 0.8}}]},
    )

    suite: Name
    metrics: dict[str, float] = Field(default_factory=dict, max_length=100)
    thresholds: dict[str, float] = Field(default_factory=dict, max_length=100, description="metric >= threshold passes")
    run_id: Id | None = Field(None, description="the evaluation run holding the full record (linked in lineage)")


class EvaluationPublic(Public):
    id: str
    model_version_id: str
    suite: str
    metrics: JsonDict
    thresholds: JsonDict
    passed: bool
    created_by: str
    created_at: datetime


class ArtifactCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"filename": "model.gguf", "format": "gguf", "quantization": "Q4_1",
                                         "profiles": ["laptop-x86"]}]},
    )

    filename: FileName = Field(description="plain file name, no directories")
    format: ArtifactFormat
    quantization: ShortText | None = None
    profiles: list[Name] = Field(default_factory=list, max_length=50, description="compatible device profiles")


class ArtifactPublic(Public):
    id: str
    model_version_id: str
    filename: str
    format: str
    quantization: str | None
    profiles: list[str]
    sha256: str | None
    size_bytes: int | None
    signature: str | None
    created_at: datetime


class DeploymentCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"profile": "laptop-x86", "model_version_id": "…",
                                         "prompt_versions": {"support": "3"}, "router_version": "2"}]},
    )

    profile: Name
    model_version_id: Id
    prompt_versions: dict[str, str] = Field(default_factory=dict, max_length=100)
    guard_policy: JsonDict = Field(default_factory=dict)
    router_version: ShortText = "1"


class DeploymentPublic(Public):
    id: str
    profile: str
    model_version_id: str
    prompt_versions: dict[str, str]
    guard_policy: JsonDict
    router_version: str
    active: bool
    created_by: str
    created_at: datetime


class ModelCard(BaseModel):
    """Auto-generated from the registry, lineage, evaluations and the use case's governance record."""

    model: str
    version: str
    stage: Stage
    base_model: str | None
    intended_use: str
    limitations: str
    eu_ai_act_risk_class: str
    use_case: str | None
    training_run: JsonDict | None
    data_lineage: list[JsonDict]
    evaluations: list[JsonDict]
    quantization_losses: JsonDict
    energy: JsonDict
    artifacts: list[JsonDict]
    markdown: str
