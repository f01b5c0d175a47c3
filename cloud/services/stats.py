"""Fleet figures for the dashboard, computed from the daily aggregates (never from raw events)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frugalstack.cloud.db.tables_ops import DailyAggregate, DriftAlert, UsageRecord
from frugalstack.cloud.db.tables_registry import Deployment, Model, ModelVersion
from frugalstack.cloud.db.tables_security import Device
from frugalstack.shared.telemetry import DURATION_BUCKETS_S


def hist_quantile(counts: list[float], q: float, bounds: tuple[float, ...] = DURATION_BUCKETS_S) -> float | None:
    """Quantile from bucket counts, interpolated linearly inside the bucket (overflow: its lower bound)."""
    total = sum(counts)
    if not counts or total <= 0:
        return None
    target, acc = q * total, 0.0
    for i, c in enumerate(counts):
        if acc + c >= target and c > 0:
            lo = bounds[i - 1] if i > 0 else 0.0
            if i >= len(bounds):
                return lo
            return lo + (bounds[i] - lo) * (target - acc) / c
        acc += c
    return bounds[-1]


def overview(session: Session, days: int = 30, today: date | None = None) -> dict[str, Any]:
    end = today or date.today()
    start = end - timedelta(days=days - 1)
    rows = session.scalars(select(DailyAggregate).where(DailyAggregate.day >= start, DailyAggregate.day <= end)).all()
    per_day: dict[date, dict[str, Any]] = defaultdict(lambda: {"requests": 0, "errors": 0, "edge": 0, "cloud": 0,
                                                                "cost_usd": 0.0, "energy_wh": 0.0, "hist": [],
                                                                "fb_pos": 0, "fb_neg": 0})
    guard: dict[str, int] = defaultdict(int)
    for r in rows:
        d = per_day[r.day]
        d["requests"] += r.requests
        d["errors"] += r.errors
        d["edge"] += int((r.routes or {}).get("edge", 0))
        d["cloud"] += int((r.routes or {}).get("cloud", 0))
        d["cost_usd"] += r.cost_usd
        d["energy_wh"] += r.energy_wh
        d["fb_pos"] += r.feedback_positive
        d["fb_neg"] += r.feedback_negative
        h = r.duration_hist or []
        d["hist"] = [x + y for x, y in zip(d["hist"], h, strict=True)] if d["hist"] and h else (d["hist"] or list(h))
        for k, v in (r.guard_verdicts or {}).items():
            guard[k] += int(v)
    for u in session.scalars(select(UsageRecord).where(UsageRecord.day >= start, UsageRecord.day <= end)):
        per_day[u.day]["cost_usd"] += u.cost_usd
    series = []
    for day in sorted(per_day):
        d = per_day[day]
        routed = d["edge"] + d["cloud"]
        fb = d["fb_pos"] + d["fb_neg"]
        series.append({
            "day": day.isoformat(), "requests": d["requests"], "errors": d["errors"],
            "edge_share": d["edge"] / routed if routed else None, "cost_usd": round(d["cost_usd"], 6),
            "energy_wh": round(d["energy_wh"], 4), "latency_p50_s": hist_quantile(d["hist"], 0.5),
            "latency_p95_s": hist_quantile(d["hist"], 0.95), "feedback_positive_rate": d["fb_pos"] / fb if fb else None,
        })
    alerts = [{"day": a.day.isoformat(), "model": a.model, "profile": a.profile, "metric": a.metric,
               "psi": round(a.psi, 4)} for a in session.scalars(
        select(DriftAlert).order_by(DriftAlert.created_at.desc()).limit(50))]
    running: dict[tuple[str, str | None], int] = defaultdict(int)
    for dev in session.scalars(select(Device)):
        running[(dev.profile, dev.current_model_version_id)] += 1
    versions = []
    for dep in session.scalars(select(Deployment).where(Deployment.active.is_(True)).order_by(Deployment.profile)):
        mv = session.get(ModelVersion, dep.model_version_id)
        m = session.get(Model, mv.model_id) if mv else None
        versions.append({"profile": dep.profile, "model": m.name if m else "?", "version": mv.version if mv else "?",
                         "devices_running": running.get((dep.profile, dep.model_version_id), 0),
                         "devices_in_profile": sum(n for (p, _), n in running.items() if p == dep.profile)})
    return {"days": series, "guard_verdicts": dict(guard), "drift_alerts": alerts, "model_versions": versions,
            "totals": {"requests": sum(s["requests"] for s in series),
                       "cost_usd": round(sum(s["cost_usd"] for s in series), 6),
                       "energy_wh": round(sum(s["energy_wh"] for s in series), 4)}}
