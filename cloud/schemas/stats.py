"""The dashboard's overview: daily fleet series and current state, computed from aggregates."""

from __future__ import annotations

from pydantic import BaseModel


class DaySeries(BaseModel):
    day: str
    requests: int
    errors: int
    edge_share: float | None
    cost_usd: float
    energy_wh: float
    latency_p50_s: float | None
    latency_p95_s: float | None
    feedback_positive_rate: float | None


class AlertRow(BaseModel):
    day: str
    model: str
    profile: str
    metric: str
    psi: float


class VersionRow(BaseModel):
    profile: str
    model: str
    version: str
    devices_running: int = 0
    devices_in_profile: int = 0


class Totals(BaseModel):
    requests: int
    cost_usd: float
    energy_wh: float


class Overview(BaseModel):
    days: list[DaySeries]
    guard_verdicts: dict[str, int]
    drift_alerts: list[AlertRow]
    model_versions: list[VersionRow]
    totals: Totals
