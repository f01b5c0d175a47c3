"""``/v1/artifacts``: upload model files once (hashed, signed) and download them with HTTP Range resume."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from frugalstack.cloud.db.tables_registry import Artifact, Deployment
from frugalstack.cloud.db.tables_security import Device
from frugalstack.cloud.deps import AnyKey, StateDep, Writer
from frugalstack.cloud.schemas.registry import ArtifactPublic
from frugalstack.cloud.services import crud, manifest, registry
from frugalstack.cloud.services.auth import READ_ROLES, Principal
from frugalstack.cloud.uploads import receive
from frugalstack.shared.errors import NotFoundError, PermissionDeniedError

router = APIRouter(prefix="/v1/artifacts", tags=["registry"])
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 1 << 20


def _check_access(s: object, who: Principal, art: Artifact) -> None:
    if who.role in READ_ROLES:
        return
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    device = s.get(Device, who.device_id or "")
    if device is None:
        raise PermissionDeniedError("unknown device")
    deployed = s.scalars(select(Deployment).where(
        Deployment.profile == device.profile, Deployment.model_version_id == art.model_version_id)).first()
    planned = manifest.unsigned(s, device).model
    if not deployed and not (planned and planned.artifact and planned.artifact.id == art.id):
        raise PermissionDeniedError("this artifact is neither deployed to the device's profile nor in its manifest")


@router.get("/{artifact_id}", response_model=ArtifactPublic)
def get_artifact(artifact_id: str, state: StateDep, who: AnyKey) -> ArtifactPublic:
    with state.db.read() as s:
        art = crud.get_or_404(s, Artifact, artifact_id, "artifact")
        _check_access(s, who, art)
        return ArtifactPublic.model_validate(art)


@router.put("/{artifact_id}/content", response_model=ArtifactPublic, openapi_extra={
    "requestBody": {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
async def upload_content(
    artifact_id: str,
    request: Request,
    state: StateDep,
    who: Writer,
    x_content_sha256: Annotated[str | None, Header(max_length=64)] = None,
) -> ArtifactPublic:
    """Raw bytes in the body; the server hashes and signs them. Content is immutable once uploaded."""
    with state.db.read() as s:
        crud.get_or_404(s, Artifact, artifact_id, "artifact")
    tmp, sha, size = await receive(request, state.blobs)

    def _store() -> ArtifactPublic:
        try:
            with state.db.write() as s:
                art = crud.get_or_404(s, Artifact, artifact_id, "artifact")
                registry.check_content(art, sha, x_content_sha256)
                path = state.blobs.keep(tmp, sha, Path(art.filename).suffix)
                signature = state.signer.sign_artifact(sha, size)
                return ArtifactPublic.model_validate(
                    registry.attach_content(s, who, art, path, sha, size, signature, x_content_sha256))
        finally:
            tmp.unlink(missing_ok=True)

    return await run_in_threadpool(_store)


def _read(path: Path, start: int, end: int) -> Iterator[bytes]:
    with path.open("rb") as f:
        f.seek(start)
        left = end - start + 1
        while left > 0 and (chunk := f.read(min(CHUNK, left))):
            left -= len(chunk)
            yield chunk


@router.get("/{artifact_id}/content", response_class=StreamingResponse, responses={
    200: {"content": {"application/octet-stream": {}}}, 206: {"description": "partial content (Range)"},
    416: {"description": "range not satisfiable"}})
def download_content(
    artifact_id: str, state: StateDep, who: AnyKey, range: Annotated[str | None, Header(max_length=100)] = None
) -> Response:
    """The artifact's bytes; send ``Range: bytes=N-`` to resume an interrupted download."""
    with state.db.read() as s:
        art = crud.get_or_404(s, Artifact, artifact_id, "artifact")
        _check_access(s, who, art)
    if art.storage_path is None or art.size_bytes is None or not Path(art.storage_path).is_file():
        raise NotFoundError("this artifact has no uploaded content yet")
    size, path = art.size_bytes, Path(art.storage_path)
    headers = {"Accept-Ranges": "bytes", "ETag": f'"{art.sha256}"', "X-Content-SHA256": art.sha256 or "",
               "X-Signature": art.signature or "",
               "Content-Disposition": f'attachment; filename="{art.filename}"'}
    start, end, status = 0, size - 1, 200
    if range:
        m = _RANGE.match(range.strip())
        if m is None or (not m.group(1) and not m.group(2)):
            return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
        if m.group(1):
            start = int(m.group(1))
            end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
        else:
            start = max(0, size - int(m.group(2)))
        if start >= size or start > end:
            return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    return StreamingResponse(_read(path, start, end), status_code=status, media_type="application/octet-stream",
                             headers=headers)
