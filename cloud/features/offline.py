"""The offline store: register view versions, ingest timestamped rows, point-in-time correct training sets.

Point-in-time rule for an entity row at time ``t`` (and an optional knowledge cut-off ``as_of``): use the
newest feature row with ``event_ts <= t`` that the cloud had already received by then
(``created_ts <= t`` and ``created_ts <= as_of``), and only if ``t - event_ts <= ttl``. Late-arriving rows
are therefore invisible to training rows before their arrival, exactly as they were to serving.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frugalstack.cloud.db.base import new_id
from frugalstack.cloud.features.tables import FeatureRow, FeatureViewRecord
from frugalstack.edge.features.definitions import FeatureView, Repo, group_refs
from frugalstack.shared.errors import NotFoundError, ValidationError
from frugalstack.shared.manifest import canonical_json

MAX_ROWS = 200_000


def ts(value: Any) -> float:
    """Epoch seconds from a number, a datetime or an ISO string."""
    if isinstance(value, bool):
        raise ValidationError(f"not a timestamp: {value!r}")
    try:
        if isinstance(value, int | float) and math.isfinite(value):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, str):
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError, OSError):
        pass
    raise ValidationError(f"not a timestamp: {str(value)[:80]!r}")


def apply(session: Session, repo: Repo, actor: str) -> list[FeatureViewRecord]:
    """Register each view; a changed definition becomes a new version, an unchanged one is kept."""
    out = []
    for view in repo.views:
        body = view.model_dump(mode="json", exclude={"version"})
        digest = hashlib.sha256(canonical_json(body)).hexdigest()
        latest = latest_record(session, view.name)
        if latest is not None and latest.definition_hash == digest:
            out.append(latest)
            continue
        version = (latest.version + 1) if latest else 1
        rec = FeatureViewRecord(
            id=new_id(),
            name=view.name,
            version=version,
            entity=view.entity,
            definition={**body, "version": version},
            definition_hash=digest,
            owner=view.owner,
            created_by=actor,
        )
        session.add(rec)
        session.flush()
        out.append(rec)
    return out


def latest_record(session: Session, name: str) -> FeatureViewRecord | None:
    return session.scalars(
        select(FeatureViewRecord).where(FeatureViewRecord.name == name).order_by(FeatureViewRecord.version.desc())
    ).first()


def get_view(session: Session, name: str) -> FeatureView:
    rec = latest_record(session, name)
    if rec is None:
        raise NotFoundError(f"feature view {name!r} is not registered", hint="run `frugal features apply`")
    return FeatureView.model_validate(rec.definition)


def ingest(
    session: Session,
    view: FeatureView,
    rows: Sequence[dict[str, Any]],
    *,
    created_ts: float | None = None,
    source_ref: str | None = None,
) -> int:
    """Store rows ``{entity_key, event_ts, created_ts?, values}``; values must name the view's features."""
    if len(rows) > MAX_ROWS:
        raise ValidationError(f"at most {MAX_ROWS} rows per call, got {len(rows)}")
    names = set(view.feature_names)
    now = time.time() if created_ts is None else created_ts
    objs = []
    for i, r in enumerate(rows):
        vals = r.get("values")
        if not isinstance(vals, dict) or not set(vals) <= names:
            raise ValidationError(f"row {i}: values must be a mapping of {sorted(names)}")
        key = r.get("entity_key")
        if not isinstance(key, str) or not 0 < len(key) <= 200:
            raise ValidationError(f"row {i}: entity_key must be a string of 1 to 200 characters")
        if any(isinstance(v, float) and not math.isfinite(v) for v in vals.values()):
            raise ValidationError(f"row {i}: values must be finite numbers (no NaN or infinity)")
        objs.append(
            FeatureRow(
                view_name=view.name,
                entity_key=key,
                event_ts=ts(r.get("event_ts")),
                created_ts=ts(r.get("created_ts", now)),
                values=vals,
                source_ref=source_ref,
            )
        )
    session.add_all(objs)
    return len(objs)


def _history(session: Session, view: str, keys: Iterable[str], upto: float) -> dict[str, list[FeatureRow]]:
    """Rows per entity, sorted by (event_ts, created_ts)."""
    out: dict[str, list[FeatureRow]] = {}
    keys = list(dict.fromkeys(keys))
    for i in range(0, len(keys), 500):
        q = (
            select(FeatureRow)
            .where(
                FeatureRow.view_name == view, FeatureRow.entity_key.in_(keys[i : i + 500]), FeatureRow.event_ts <= upto
            )
            .order_by(FeatureRow.entity_key, FeatureRow.event_ts, FeatureRow.created_ts)
        )
        for row in session.scalars(q):
            out.setdefault(row.entity_key, []).append(row)
    return out


def _pick(rows: list[FeatureRow], event_ts: list[float], t: float, known_by: float, ttl: float) -> FeatureRow | None:
    """Newest row with event_ts <= t received by ``known_by`` and within the TTL (ties: latest received)."""
    i = bisect.bisect_right(event_ts, t)
    for row in reversed(rows[:i]):  # sorted by (event_ts, created_ts): the first visible one is the answer
        if t - row.event_ts > ttl:
            return None
        if row.created_ts <= known_by:
            return row
    return None


def get_historical_features(
    session: Session, entity_df: Sequence[dict[str, Any]], features: Sequence[str], as_of: Any = None
) -> list[dict[str, Any]]:
    """A training set: each entity row (``{<entity>: key, "event_timestamp": t}``) plus its features then.

    A value that did not exist yet, had not arrived yet, or was older than the view's TTL is ``None``.
    """
    cutoff = ts(as_of) if as_of is not None else float("inf")
    out = [dict(r) for r in entity_df]
    times = [ts(r.get("event_timestamp")) for r in out]
    for view_name, feats in group_refs(features).items():
        view = get_view(session, view_name)
        for f in feats:
            view.index(f)
        keys = [r.get(view.entity) for r in out]
        if any(not isinstance(k, str) for k in keys):
            raise ValidationError(f"every entity row needs a string {view.entity!r} for view {view_name!r}")
        hist = _history(session, view_name, [str(k) for k in keys], max(times, default=0.0))
        ev = {k: [r.event_ts for r in rows] for k, rows in hist.items()}
        for row, key, t in zip(out, keys, times, strict=True):
            rows = hist.get(str(key), [])
            hit = _pick(rows, ev.get(str(key), []), t, min(t, cutoff), view.ttl_s) if rows else None
            for f in feats:
                row[f"{view_name}:{f}"] = hit.values.get(f) if hit is not None else None
    return out


def latest_values(
    session: Session, view: FeatureView, keys: Sequence[str] | None, now: float
) -> list[tuple[str, float, dict[str, Any]]]:
    """Per entity, its newest row (by event time, then arrival) known by ``now`` and not past the TTL."""
    newest = (
        select(FeatureRow.entity_key, func.max(FeatureRow.event_ts).label("ev"))
        .where(
            FeatureRow.view_name == view.name,
            FeatureRow.event_ts <= now,
            FeatureRow.created_ts <= now,
            FeatureRow.event_ts >= now - view.ttl_s,
        )
        .group_by(FeatureRow.entity_key)
    )
    if keys is not None:
        newest = newest.where(FeatureRow.entity_key.in_(list(keys)))
    sub = newest.subquery()
    q = (
        select(FeatureRow)
        .join(sub, (FeatureRow.entity_key == sub.c.entity_key) & (FeatureRow.event_ts == sub.c.ev))
        .where(FeatureRow.view_name == view.name, FeatureRow.created_ts <= now)
        .order_by(FeatureRow.entity_key, FeatureRow.created_ts)
    )
    found: dict[str, FeatureRow] = {}
    for row in session.scalars(q):
        found[row.entity_key] = row  # later arrivals overwrite earlier corrections of the same event
    return [(k, r.event_ts, r.values) for k, r in sorted(found.items())]
