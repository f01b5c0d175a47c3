"""A/B experiments of prompt or model versions, and their significance test."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from frugalstack.cloud.schemas.common import Name, Public, ShortText


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortText = Field(min_length=1)
    weight: float = Field(1.0, gt=0, le=1e6)
    config: dict[str, Any] = Field(default_factory=dict, description="e.g. prompt version or model_version_id")


class ExperimentCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "prompt-v3-vs-v4", "kind": "prompt",
                                         "variants": [{"name": "control", "weight": 1}, {"name": "v4", "weight": 1}]}]},
    )

    name: Name
    kind: Literal["prompt", "model"]
    variants: list[Variant] = Field(min_length=2, max_length=10, description="the first is the control")
    profile: Name | None = Field(None, description="only devices of this profile take part; None: all")

    @field_validator("variants")
    @classmethod
    def _unique(cls, v: list[Variant]) -> list[Variant]:
        if len({x.name for x in v}) != len(v):
            raise ValueError("variant names must be unique")
        return v


class ExperimentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"status": "stopped"}]})

    status: Literal["running", "stopped"]


class ExperimentPublic(Public):
    id: str
    name: str
    kind: str
    variants: list[dict[str, Any]]
    status: str
    profile: str | None
    created_at: datetime


class VariantResult(BaseModel):
    variant: str
    trials: int
    successes: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None


class Comparison(BaseModel):
    variant: str
    control: str
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    z: float | None
    p_value: float | None
    significant: bool


class ExperimentResults(BaseModel):
    experiment_id: str
    metric: str = "feedback positive rate"
    confidence: float
    variants: list[VariantResult]
    comparisons: list[Comparison]


class Assignment(BaseModel):
    experiment_id: str
    device_id: str
    variant: str
