"""The device's online store: materialized snapshots in SQLite plus local features, one lookup call.

``get_online_features(entities, refs)`` returns every requested value with its age; a value older than
its view's TTL is reported in ``stale`` and returned as ``None`` (never silently used), an unknown
entity is reported in ``missing``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frugalstack.edge.features.definitions import DEVICE_HISTORY, FeatureView, group_refs
from frugalstack.edge.features.local import LocalHistory
from frugalstack.edge.features.snapshot import Snapshot, decode
from frugalstack.edge.sqlite import connect
from frugalstack.shared.errors import ValidationError

SCHEMA = """
CREATE TABLE IF NOT EXISTS feature_views (
    name TEXT PRIMARY KEY, definition TEXT NOT NULL, snapshot_id TEXT NOT NULL, loaded_at REAL NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feature_values (
    view TEXT NOT NULL, entity_key TEXT NOT NULL, event_ts REAL NOT NULL, vals TEXT NOT NULL,
    PRIMARY KEY (view, entity_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feature_snapshots (
    snapshot_id TEXT PRIMARY KEY, created_at REAL NOT NULL, loaded_at REAL NOT NULL, slice TEXT NOT NULL,
    rows INTEGER NOT NULL) WITHOUT ROWID;
"""


@dataclass
class OnlineFeatures:
    """Values by ``"view:feature"``; stale and missing ones are ``None`` and listed, with the reason."""

    values: dict[str, Any] = field(default_factory=dict)
    age_s: dict[str, float] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def get(self, ref: str, default: Any = None) -> Any:
        v = self.values.get(ref)
        return default if v is None else v

    def to_dict(self) -> dict[str, Any]:
        return {"values": self.values, "age_s": self.age_s, "stale": self.stale, "missing": self.missing}


class OnlineStore:
    """One SQLite file (WAL) on the device; safe to open from several processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.conn = connect(path)
        self.conn.executescript(SCHEMA)
        self.history = LocalHistory(self.conn)
        self._views: dict[str, FeatureView] = {}
        self._version = -1

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> OnlineStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ loading
    def load_snapshot(self, data: bytes | Snapshot) -> Snapshot:
        """Replace the snapshot's views in one transaction: readers see the old or the new, never a mix."""
        snap = data if isinstance(data, Snapshot) else decode(data)
        now = time.time()
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for sv in snap.views:
                v = sv.view
                self.conn.execute("DELETE FROM feature_values WHERE view = ?", (v.name,))
                self.conn.executemany(
                    "INSERT OR REPLACE INTO feature_values VALUES (?, ?, ?, ?)",
                    ((v.name, str(r[0]), float(r[1]), json.dumps(r[2:], separators=(",", ":"))) for r in sv.rows),
                )
                self.conn.execute(
                    "INSERT OR REPLACE INTO feature_views VALUES (?, ?, ?, ?)",
                    (v.name, v.model_dump_json(), snap.snapshot_id, now),
                )
            self.conn.execute(
                "INSERT OR REPLACE INTO feature_snapshots VALUES (?, ?, ?, ?, ?)",
                (snap.snapshot_id, snap.created_at, now, json.dumps(snap.slice), snap.row_count),
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self._version = -1
        return snap

    def snapshot_id(self) -> str | None:
        row = self.conn.execute("SELECT snapshot_id FROM feature_snapshots ORDER BY loaded_at DESC LIMIT 1").fetchone()
        return str(row[0]) if row else None

    def views(self) -> dict[str, FeatureView]:
        version = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
        if version != self._version or not self._views:
            self._views = {
                str(n): FeatureView.model_validate_json(d)
                for n, d in self.conn.execute("SELECT name, definition FROM feature_views")
            }
            self._views[DEVICE_HISTORY.name] = DEVICE_HISTORY
            self._version = version
        return self._views

    # ------------------------------------------------------------------ lookup
    def get_online_features(
        self, entities: dict[str, str], features: list[str], now: float | None = None
    ) -> OnlineFeatures:
        """Look up ``features`` (``"view:feature"``) for the given entity keys (``{"product": "p-1"}``)."""
        now = time.time() if now is None else now
        out = OnlineFeatures()
        views = self.views()
        for view_name, feats in group_refs(features).items():
            view = views.get(view_name)
            if view is None:
                raise ValidationError(
                    f"unknown feature view {view_name!r} on this device", details={"views": sorted(views)}
                )
            idx = [view.index(f) for f in feats]
            refs = [f"{view_name}:{f}" for f in feats]
            if view.source.kind == "device":
                local = self.history.compute(now)
                for ref, f in zip(refs, feats, strict=True):
                    out.values[ref], out.age_s[ref] = local[f], 0.0
                continue
            key = entities.get(view.entity)
            row = (
                None
                if key is None
                else self.conn.execute(
                    "SELECT event_ts, vals FROM feature_values WHERE view = ? AND entity_key = ?", (view_name, key)
                ).fetchone()
            )
            if row is None:
                for ref in refs:
                    out.values[ref] = None
                out.missing.extend(refs)
                continue
            age = now - float(row[0])
            fresh = age <= view.ttl_s
            vals = json.loads(row[1]) if fresh else None
            for ref, i in zip(refs, idx, strict=True):
                out.age_s[ref] = round(age, 3)
                out.values[ref] = vals[i] if vals is not None else None
                if not fresh:
                    out.stale.append(ref)
        return out


_DEFAULT: dict[str, OnlineStore] = {}


def get_online_features(
    entities: dict[str, str], features: list[str], *, store: OnlineStore | str | Path, now: float | None = None
) -> OnlineFeatures:
    """The one call the router and RAG ranking use; ``store`` is an open store or its path (opened once)."""
    if not isinstance(store, OnlineStore):
        key = str(Path(store).resolve())
        if key not in _DEFAULT:
            _DEFAULT[key] = OnlineStore(key)
        store = _DEFAULT[key]
    return store.get_online_features(entities, features, now=now)
