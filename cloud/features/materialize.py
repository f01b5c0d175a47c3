"""Materialize the offline store to a device slice: a compact signed snapshot the manifest names.

A slice is a device profile (optionally one device) plus filters: product rows only for the slice's
categories, locale rows only for its locale. Values past their TTL are left out, so a device never
receives something already stale.
"""

from __future__ import annotations

import time
from datetime import UTC
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from frugalstack.cloud.db.base import new_id
from frugalstack.cloud.db.tables_security import Device
from frugalstack.cloud.features.offline import get_view, latest_values
from frugalstack.cloud.features.tables import FeatureSnapshotRecord
from frugalstack.cloud.services.blobs import BlobStore
from frugalstack.cloud.services.signing import Signer
from frugalstack.edge.features.snapshot import Snapshot, SnapshotView, encode
from frugalstack.shared.errors import NotFoundError, ValidationError
from frugalstack.shared.manifest import ManifestArtifact, ManifestFeatures


class SliceSpec(BaseModel):
    """Which devices a snapshot is for and which rows it carries."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"views": ["product_stats", "category_quality"], "profile": "phone-arm", "categories": ["Apparel"]}
            ]
        },
    )

    views: list[str] = Field(min_length=1, max_length=50)
    profile: str = Field(min_length=1, max_length=100)
    categories: list[str] = Field(
        default_factory=list, max_length=200, description="category prefixes (product/category rows)"
    )
    locale: str | None = Field(default=None, max_length=35)
    device_id: str | None = Field(
        default=None, max_length=32, description="address one device instead of the whole profile"
    )

    def keep(self, view_entity: str, key: str, values: dict[str, Any]) -> bool:
        if view_entity == "product" and self.categories:
            return any(str(values.get("category", "")).startswith(c) for c in self.categories)
        if view_entity == "category" and self.categories:
            return any(key.startswith(c) for c in self.categories)
        if view_entity == "locale" and self.locale:
            return key == self.locale
        return True


def build_snapshot(session: Session, spec: SliceSpec, now: float | None = None) -> Snapshot:
    now = time.time() if now is None else now
    out = []
    for name in spec.views:
        view = get_view(session, name)
        if view.source.kind == "device":
            raise ValidationError(f"view {name!r} is computed on the device; it is never materialized")
        rows = [
            [k, round(ev, 3), *[vals.get(f) for f in view.feature_names]]
            for k, ev, vals in latest_values(session, view, None, now)
            if spec.keep(view.entity, k, vals)
        ]
        out.append(SnapshotView(view=view, rows=rows))
    return Snapshot(snapshot_id=new_id(), created_at=round(now, 3), views=out, slice=spec.model_dump(exclude={"views"}))


def materialize(
    session: Session, signer: Signer, blobs: BlobStore, actor: str, spec: SliceSpec, now: float | None = None
) -> FeatureSnapshotRecord:
    """Build, store (content-addressed) and sign a snapshot; the newest one for a slice is what ships."""
    if spec.device_id is not None and session.get(Device, spec.device_id) is None:
        raise NotFoundError(f"device {spec.device_id} not found")
    snap = build_snapshot(session, spec, now)
    tmp, sha, size = blobs.write([encode(snap)])
    path = blobs.keep(tmp, sha, ".json.gz")
    rec = FeatureSnapshotRecord(
        id=snap.snapshot_id,
        profile=spec.profile,
        device_id=spec.device_id,
        slice=snap.slice,
        views=[{"name": sv.view.name, "version": sv.view.version, "rows": len(sv.rows)} for sv in snap.views],
        row_count=snap.row_count,
        sha256=sha,
        size_bytes=size,
        signature=signer.sign_artifact(sha, size),
        storage_path=str(path),
        created_by=actor,
    )
    session.add(rec)
    session.flush()
    return rec


def for_device(session: Session, device_id: str, profile: str) -> FeatureSnapshotRecord | None:
    """The newest snapshot addressed to this device, else to its profile."""
    q = (
        select(FeatureSnapshotRecord)
        .where(
            FeatureSnapshotRecord.profile == profile,
            or_(FeatureSnapshotRecord.device_id.is_(None), FeatureSnapshotRecord.device_id == device_id),
        )
        .order_by(FeatureSnapshotRecord.device_id.is_(None), FeatureSnapshotRecord.created_at.desc())
    )
    return session.scalars(q).first()


def manifest_entry(rec: FeatureSnapshotRecord) -> ManifestFeatures:
    created = rec.created_at if rec.created_at.tzinfo else rec.created_at.replace(tzinfo=UTC)  # SQLite: naive UTC
    return ManifestFeatures(
        snapshot_id=rec.id,
        created_at=round(created.timestamp(), 3),
        views=[v["name"] for v in rec.views],
        artifact=ManifestArtifact(
            id=rec.id,
            url=f"/v1/features/snapshots/{rec.id}/content",
            filename=f"features-{rec.id}.json.gz",
            format="features",
            sha256=rec.sha256,
            size_bytes=rec.size_bytes,
            signature=rec.signature,
        ),
    )
