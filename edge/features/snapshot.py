"""The compact feature snapshot the cloud materializes for one device slice and the device loads.

Columnar-ish gzip'd JSON: per view, its definition once and then one array per entity
``[entity_key, event_ts, v1, v2, ...]``; floats are rounded to 4 decimals. The file is signed like any
artifact (sha256 + size, Ed25519) and named in the manifest, so the device checks it before loading.
"""

from __future__ import annotations

import gzip
import json
import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from frugalstack.edge.features.definitions import FeatureView
from frugalstack.shared.errors import ValidationError

FORMAT = "frugal-features/v1"


class SnapshotView(BaseModel):
    model_config = ConfigDict(extra="forbid")

    view: FeatureView
    rows: list[list[Any]] = Field(default_factory=list, description="[entity_key, event_ts, *values]")


class Snapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: str = FORMAT
    snapshot_id: str
    created_at: float
    slice: dict[str, Any] = Field(default_factory=dict)
    views: list[SnapshotView] = Field(default_factory=list)

    @property
    def row_count(self) -> int:
        return sum(len(v.rows) for v in self.views)


def _compact(v: Any) -> Any:
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else round(v, 4)
    return v


def encode(snap: Snapshot) -> bytes:
    """Deterministic bytes (sorted keys, fixed gzip mtime): the same snapshot always has the same sha256."""
    data = snap.model_dump(mode="json")
    for v in data["views"]:
        v["rows"] = [[_compact(x) for x in row] for row in v["rows"]]
    raw = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return gzip.compress(raw, compresslevel=9, mtime=0)


def decode(blob: bytes) -> Snapshot:
    """Parse a snapshot; anything malformed is a ValidationError (the device keeps its old features)."""
    try:
        data = json.loads(gzip.decompress(blob))
        snap = Snapshot.model_validate(data)
    except Exception as exc:
        raise ValidationError(f"not a feature snapshot: {exc}") from exc
    if snap.format != FORMAT:
        raise ValidationError(f"unsupported snapshot format {snap.format!r}; this device reads {FORMAT}")
    for sv in snap.views:
        width = 2 + len(sv.view.features)
        bad = next((r for r in sv.rows if len(r) != width), None)
        if bad is not None:
            raise ValidationError(f"snapshot view {sv.view.name!r}: a row has {len(bad)} fields, expected {width}")
    return snap
