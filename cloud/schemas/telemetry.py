"""Telemetry as the API shows it: daily aggregates and drift alerts (the upload type is in shared.telemetry)."""

from __future__ import annotations

from datetime import date
from typing import Any

from frugalstack.cloud.schemas.common import Public


class DailyAggregatePublic(Public):
    day: date
    model_version_id: str
    model: str
    profile: str
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    duration_sum_s: float
    duration_hist: list[int]
    ttft_hist: list[int]
    input_len_hist: list[int]
    routes: dict[str, Any]
    guard_verdicts: dict[str, Any]
    intents: dict[str, Any]
    feedback_positive: int
    feedback_negative: int
    energy_wh: float
    cost_usd: float


class DriftAlertPublic(Public):
    id: str
    day: date
    model_version_id: str
    model: str
    profile: str
    metric: str
    psi: float
    threshold: float
