"""``/v1/features``: register feature views, push rows, point-in-time training sets, device snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from frugalstack.cloud.db.tables_security import Device
from frugalstack.cloud.deps import AnyKey, Reader, StateDep, Writer
from frugalstack.cloud.features import materialize as mat
from frugalstack.cloud.features import offline
from frugalstack.cloud.features.tables import FeatureSnapshotRecord, FeatureViewRecord
from frugalstack.cloud.services import audit
from frugalstack.cloud.services.auth import READ_ROLES
from frugalstack.edge.features.definitions import Repo
from frugalstack.shared.errors import NotFoundError, PermissionDeniedError

router = APIRouter(prefix="/v1/features", tags=["features"])


class ViewPublic(BaseModel):
    id: str
    name: str
    version: int
    entity: str
    owner: str
    definition: dict[str, Any]


class RowsIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "rows": [
                        {"entity_key": "Toys > Puzzles", "event_ts": 1767225600, "values": {"answer_quality": 0.82}}
                    ],
                    "source_ref": "eval-2026-01-01",
                }
            ]
        },
    )

    rows: list[dict[str, Any]] = Field(max_length=offline.MAX_ROWS)
    source_ref: str | None = Field(default=None, max_length=64, description="dataset version or batch id")


class HistoricalIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "entity_rows": [{"product": "p-00001", "event_timestamp": 1767225600}],
                    "features": ["product_stats:popularity", "product_stats:in_stock"],
                    "as_of": "2026-01-02T00:00:00Z",
                }
            ]
        },
    )

    entity_rows: list[dict[str, Any]] = Field(max_length=100_000)
    features: list[str] = Field(min_length=1, max_length=200)
    as_of: float | str | None = None


class SnapshotPublic(BaseModel):
    id: str
    profile: str
    device_id: str | None
    slice: dict[str, Any]
    views: list[Any]
    row_count: int
    sha256: str
    size_bytes: int


def _view_public(r: FeatureViewRecord) -> ViewPublic:
    return ViewPublic(id=r.id, name=r.name, version=r.version, entity=r.entity, owner=r.owner, definition=r.definition)


@router.post("/apply", response_model=list[ViewPublic])
def apply_repo(body: Repo, state: StateDep, who: Writer) -> list[ViewPublic]:
    """Register entities and views; a changed definition gets the next version (the old stays readable)."""
    with state.db.write() as s:
        recs = offline.apply(s, body, who.key_id)
        for r in recs:
            audit.record(
                s, who, "feature_view.apply", "feature_view", r.id, None, r, {"name": r.name, "version": r.version}
            )
        return [_view_public(r) for r in recs]


@router.get("/views", response_model=list[ViewPublic])
def list_views(state: StateDep, who: Reader) -> list[ViewPublic]:
    with state.db.read() as s:
        rows = s.scalars(select(FeatureViewRecord).order_by(FeatureViewRecord.name, FeatureViewRecord.version))
        return [_view_public(r) for r in rows]


@router.post("/views/{name}/rows")
def push_rows(name: str, body: RowsIn, state: StateDep, who: Writer) -> dict[str, int]:
    """Append timestamped rows (``entity_key``, ``event_ts``, optional ``created_ts``, ``values``)."""
    with state.db.write() as s:
        n = offline.ingest(s, offline.get_view(s, name), body.rows, source_ref=body.source_ref)
        audit.record(
            s, who, "feature_rows.ingest", "feature_view", name, None, None, {"rows": n, "source_ref": body.source_ref}
        )
    return {"ingested": n}


@router.post("/historical")
def historical(body: HistoricalIn, state: StateDep, who: Reader) -> dict[str, Any]:
    """A point-in-time correct training set for the given entity rows (see docs/features.md)."""
    with state.db.read() as s:
        return {"rows": offline.get_historical_features(s, body.entity_rows, body.features, body.as_of)}


@router.post("/materialize", status_code=201, response_model=SnapshotPublic)
def materialize(body: mat.SliceSpec, state: StateDep, who: Writer) -> SnapshotPublic:
    """Build and sign the slice's snapshot; devices of that profile get it in their next manifest."""
    with state.db.write() as s:
        rec = mat.materialize(s, state.signer, state.blobs, who.key_id, body)
        audit.record(
            s,
            who,
            "feature_snapshot.create",
            "feature_snapshot",
            rec.id,
            None,
            rec,
            {"sha256": rec.sha256, "rows": rec.row_count, "profile": rec.profile},
        )
        return SnapshotPublic.model_validate(rec, from_attributes=True)


@router.get(
    "/snapshots/{snapshot_id}/content", response_class=Response, responses={200: {"content": {"application/gzip": {}}}}
)
def snapshot_content(snapshot_id: str, state: StateDep, who: AnyKey) -> Response:
    """The signed snapshot file; a device key may fetch only a snapshot addressed to it or its profile."""
    with state.db.read() as s:
        rec = s.get(FeatureSnapshotRecord, snapshot_id)
        if rec is None:
            raise NotFoundError(f"feature snapshot {snapshot_id} not found")
        if who.role == "device":
            dev = s.get(Device, who.device_id)
            if dev is None or dev.profile != rec.profile or rec.device_id not in (None, dev.id):
                raise PermissionDeniedError("this snapshot is not for this device")
        elif who.role not in READ_ROLES:
            raise PermissionDeniedError("reading feature snapshots needs a reader key")
        path = Path(rec.storage_path)
    return Response(path.read_bytes(), media_type="application/gzip")
