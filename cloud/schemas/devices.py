"""Devices and their one-time enrolment tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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
    ota_status: str | None = None
    ota_error: str | None = None
    ota_reported_at: datetime | None = None


class DeviceStatus(BaseModel):
    """What the device runs after an over-the-air check (reported by the device itself)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"model_version_id": "9b2c...", "ota_status": "updated"}]})

    model_version_id: Id | None = None
    ota_status: Literal["updated", "up_to_date", "rolled_back", "no_model", "failed"]
    ota_error: Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00]*$")] | None = None


class DeviceEnrolled(BaseModel):
    device: DevicePublic
    api_key: str = Field(description="the device's key (role device); shown once")


class DeletionAck(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"request_ids": ["3f2a..."]}]})

    request_ids: list[Id] = Field(min_length=1, max_length=1000)
