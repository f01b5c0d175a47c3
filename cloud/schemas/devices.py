"""Devices and their one-time enrolment tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from frugalstack.cloud.schemas.common import Id, Name, Public


class EnrolmentTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"profile": "laptop-x86"}]})

    profile: Name
    ttl_s: int = Field(3600, ge=60, le=30 * 86400, description="seconds the token stays valid")


class EnrolmentTokenPublic(Public):
    id: str
    profile: str
    expires_at: datetime
    token: str = Field(description="give this to the device; usable once")


class DeviceEnrol(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"token": "fet_...", "name": "shop-kiosk-1"}]}
    )

    token: Name
    name: Name


class DevicePublic(Public):
    id: str
    name: str
    profile: str
    created_at: datetime
    last_seen_at: datetime | None
    current_model_version_id: str | None


class DeviceEnrolled(BaseModel):
    device: DevicePublic
    api_key: str = Field(description="the device's key (role device); shown once")


class DeletionAck(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"request_ids": ["3f2a..."]}]})

    request_ids: list[Id] = Field(min_length=1, max_length=1000)
