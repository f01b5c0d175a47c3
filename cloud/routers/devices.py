"""``/v1/devices`` and ``/v1/enrolment-tokens``: enrolment, listing, signed manifests, deletion acks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from frugalstack.cloud.db.base import utcnow
from frugalstack.cloud.db.tables_security import Device
from frugalstack.cloud.deps import AnyKey, Reader, StateDep, Writer
from frugalstack.cloud.schemas.devices import (
    DeletionAck,
    DeviceEnrol,
    DeviceEnrolled,
    DevicePublic,
    DeviceStatus,
    EnrolmentTokenCreate,
    EnrolmentTokenPublic,
)
from frugalstack.cloud.schemas.governance import DeletionRequestPublic
from frugalstack.cloud.services import auth, crud, governance, manifest
from frugalstack.cloud.services.auth import READ_ROLES, Principal
from frugalstack.shared.errors import PermissionDeniedError
from frugalstack.shared.manifest import SignedManifest

router = APIRouter(tags=["devices"])


def _own_device(who: Principal, device_id: str, readers: bool = True) -> None:
    if who.role == "device":
        if who.device_id != device_id:
            raise PermissionDeniedError("a device key may only act on its own device")
    elif not readers or who.role not in READ_ROLES:
        who.require({"device"})


def _this_device(device_id: str, who: AnyKey) -> Principal:
    """A dependency, so a wrong key gets 403 before its body is validated (no 422 hints to a wrong caller)."""
    _own_device(who, device_id, readers=False)
    return who


ThisDevice = Annotated[Principal, Depends(_this_device)]


@router.post("/v1/enrolment-tokens", status_code=201, response_model=EnrolmentTokenPublic)
def create_token(body: EnrolmentTokenCreate, state: StateDep, who: Writer) -> EnrolmentTokenPublic:
    """A one-time token a device trades for its own key (``POST /v1/devices/enrol``)."""
    with state.db.write() as s:
        row, token = auth.create_enrolment_token(s, who, body.profile, body.ttl_s)
        return EnrolmentTokenPublic(id=row.id, profile=row.profile, expires_at=row.expires_at, token=token)


@router.post("/v1/devices/enrol", status_code=201, response_model=DeviceEnrolled)
def enrol(body: DeviceEnrol, request: Request, state: StateDep) -> DeviceEnrolled:
    """No API key: the one-time token is the credential. Returns the device and its key (shown once)."""
    state.limiter.check(f"ip:{request.client.host if request.client else 'unknown'}")
    with state.db.write() as s:
        device, key = auth.enrol_device(s, body.token, body.name)
        return DeviceEnrolled(device=DevicePublic.model_validate(device), api_key=key)


@router.get("/v1/devices", response_model=list[DevicePublic])
def list_devices(state: StateDep, who: Reader) -> list[DevicePublic]:
    with state.db.read() as s:
        return [DevicePublic.model_validate(d) for d in s.scalars(select(Device).order_by(Device.created_at))]


@router.get("/v1/devices/{device_id}", response_model=DevicePublic)
def get_device(device_id: str, state: StateDep, who: AnyKey) -> DevicePublic:
    _own_device(who, device_id)
    with state.db.read() as s:
        return DevicePublic.model_validate(crud.get_or_404(s, Device, device_id, "device"))


@router.get("/v1/devices/{device_id}/manifest", response_model=SignedManifest)
def get_manifest(device_id: str, state: StateDep, who: AnyKey) -> SignedManifest:
    """What the device should run, signed with the server's Ed25519 key (see ``/v1/signing-key``)."""
    _own_device(who, device_id)
    with state.db.read() as s:
        device = crud.get_or_404(s, Device, device_id, "device")
        return manifest.build(s, device, state.signer, state.settings.manifest_ttl_s)


@router.post("/v1/devices/{device_id}/deletion-acks", response_model=list[DeletionRequestPublic])
def ack_deletions(device_id: str, body: DeletionAck, state: StateDep, who: ThisDevice) -> list[DeletionRequestPublic]:
    """The device confirms it erased the subjects named in its manifest."""
    with state.db.write() as s:
        rows = governance.ack_deletions(s, who, device_id, body.request_ids)
        return [DeletionRequestPublic.model_validate(r) for r in rows]


@router.put("/v1/devices/{device_id}/status", response_model=DevicePublic)
def report_status(device_id: str, body: DeviceStatus, state: StateDep, who: ThisDevice) -> DevicePublic:
    """The device reports the model version it runs and the outcome of its last update (or rollback)."""
    with state.db.write() as s:
        device = crud.get_or_404(s, Device, device_id, "device")
        changes = {"current_model_version_id": body.model_version_id, "ota_status": body.ota_status,
                   "ota_error": body.ota_error, "ota_reported_at": utcnow(), "last_seen_at": utcnow()}
        return DevicePublic.model_validate(crud.update(s, who, device, "device", changes))
