"""API keys: roles admin, operator, auditor (read-only) and device."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from frugalstack.cloud.schemas.common import Name, Public

Role = Literal["admin", "operator", "auditor", "device"]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "alice", "role": "operator"}]})

    name: Name
    role: Literal["admin", "operator", "auditor"] = Field(description="device keys come from enrolment")


class ApiKeyPublic(Public):
    id: str
    name: str
    role: Role
    prefix: str
    device_id: str | None
    created_by: str | None
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="the secret; shown once, stored only as a hash")
