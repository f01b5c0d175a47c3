"""Datasets (metadata, mutable) and their versions (content, immutable), plus the data card."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from frugalstack.cloud.schemas.common import Id, Name, Public, ShortText, Text

PiiStatus = Literal["none", "redacted", "contains_pii", "unknown"]


class DatasetCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "support-faq", "source": "generated", "license": "CC-BY-4.0",
                                         "pii_status": "none", "retention_days": 365}]},
    )

    name: Name
    description: Text = ""
    source: Text = ""
    license: ShortText = ""
    pii_status: PiiStatus = "unknown"
    retention_days: int | None = Field(None, ge=1, le=36500)
    use_case_id: Id | None = None


class DatasetUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"pii_status": "redacted"}]})

    description: Text | None = None
    source: Text | None = None
    license: ShortText | None = None
    pii_status: PiiStatus | None = None
    retention_days: int | None = Field(None, ge=1, le=36500)


class DatasetPublic(Public):
    id: str
    name: str
    description: str
    source: str
    license: str
    pii_status: str
    retention_days: int | None
    use_case_id: str | None
    created_at: datetime


class DatasetVersionPublic(Public):
    id: str
    dataset_id: str
    version: int
    format: str
    content_hash: str
    size_bytes: int
    row_count: int
    schema_: dict[str, Any] = Field(serialization_alias="schema")
    created_by: str
    created_at: datetime


class DataCard(BaseModel):
    dataset: DatasetPublic
    version: DatasetVersionPublic
    columns: dict[str, Any]
    used_by_runs: list[str]
    markdown: str


class LineageNode(BaseModel):
    kind: str
    id: str
    label: str


class LineageEdgePublic(Public):
    src_kind: str
    src_id: str
    dst_kind: str
    dst_id: str
    relation: str


class LineageGraph(BaseModel):
    root: LineageNode
    nodes: list[LineageNode]
    edges: list[LineageEdgePublic]
