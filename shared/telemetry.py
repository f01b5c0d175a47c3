"""Telemetry aggregates a device uploads in batches; names follow the OpenTelemetry GenAI conventions.

A device never sends raw prompts here: only counts, token sums and fixed-bucket histograms. Histograms
use the bucket bounds below (upper bounds; one extra overflow bucket), so the cloud can add them up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from frugalstack.shared.schemas import TraceRecord

# upper bounds; a histogram has len(bounds) + 1 counts (the last is the overflow bucket)
DURATION_BUCKETS_S: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
TTFT_BUCKETS_S: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0)
INPUT_LENGTH_BUCKETS: tuple[float, ...] = (16, 32, 64, 128, 256, 512, 1024, 2048)

MAX_COUNT = 2**31 - 1
Count = Field(0, ge=0, le=MAX_COUNT)
Counts = dict[str, int]


def _check_hist(name: str, counts: list[int], bounds: tuple[float, ...]) -> None:
    if counts and len(counts) != len(bounds) + 1:
        raise ValueError(f"{name} needs {len(bounds) + 1} bucket counts (bounds {list(bounds)} + overflow)")
    if any(c < 0 or c > MAX_COUNT for c in counts):
        raise ValueError(f"{name} counts must be between 0 and {MAX_COUNT}")


def _check_counts(name: str, counts: Counts) -> None:
    if len(counts) > 100:
        raise ValueError(f"{name} has more than 100 keys")
    for key, value in counts.items():
        if len(key) > 100 or not 0 <= value <= MAX_COUNT:
            raise ValueError(f"{name}[{key[:20]!r}] must be a count between 0 and {MAX_COUNT} with a short key")


class TelemetryAggregate(BaseModel):
    """One day of one model on one device, already aggregated on the device."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    day: date
    operation: str = Field("chat", alias="gen_ai.operation.name", max_length=50)
    model: str = Field(alias="gen_ai.request.model", min_length=1, max_length=200)
    model_version_id: str | None = Field(None, max_length=32, description="registry version the device ran")
    requests: int = Count
    errors: int = Count
    input_tokens: int = Field(0, ge=0, le=MAX_COUNT, alias="gen_ai.usage.input_tokens")
    output_tokens: int = Field(0, ge=0, le=MAX_COUNT, alias="gen_ai.usage.output_tokens")
    duration_sum_s: float = Field(0.0, ge=0, le=1e12)
    duration_histogram: list[int] = Field(default_factory=list, alias="gen_ai.client.operation.duration")
    ttft_histogram: list[int] = Field(default_factory=list, alias="gen_ai.server.time_to_first_token")
    input_length_histogram: list[int] = Field(default_factory=list, alias="frugal.input_length")
    routes: Counts = Field(default_factory=dict, alias="frugal.route.decision", description="e.g. edge/cloud")
    guard_verdicts: Counts = Field(default_factory=dict, alias="frugal.guard.verdict")
    intents: Counts = Field(default_factory=dict, alias="frugal.intent")
    feedback_positive: int = Count
    feedback_negative: int = Count
    energy_wh: float = Field(0.0, ge=0, le=1e9, description="estimated energy")
    cost_usd: float = Field(0.0, ge=0, le=1e9)
    experiment_id: str | None = Field(None, max_length=32)
    variant: str | None = Field(None, max_length=100)

    @model_validator(mode="after")
    def _shapes(self) -> TelemetryAggregate:
        _check_hist("duration histogram", self.duration_histogram, DURATION_BUCKETS_S)
        _check_hist("ttft histogram", self.ttft_histogram, TTFT_BUCKETS_S)
        _check_hist("input length histogram", self.input_length_histogram, INPUT_LENGTH_BUCKETS)
        for name, counts in (("routes", self.routes), ("guard", self.guard_verdicts), ("intents", self.intents)):
            _check_counts(name, counts)
        if self.errors > self.requests:
            raise ValueError("errors cannot exceed requests")
        return self


class TelemetryBatch(BaseModel):
    """One upload; ``batch_id`` makes a retry idempotent."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "batch_id": "9f1c2e7a-2026-11-29", "aggregates": [{
            "day": "2026-11-29", "gen_ai.operation.name": "chat", "gen_ai.request.model": "smollm2-135m-instruct-q4_1",
            "requests": 42, "errors": 0, "gen_ai.usage.input_tokens": 1800, "gen_ai.usage.output_tokens": 3900,
            "gen_ai.client.operation.duration": [2, 10, 20, 8, 2, 0, 0, 0, 0],
            "frugal.route.decision": {"edge": 38, "cloud": 4}, "feedback_positive": 9, "feedback_negative": 1}]}]})

    batch_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    device_id: str | None = Field(None, max_length=32, description="defaults to the calling device key's device")
    profile: str | None = Field(None, max_length=100, description="defaults to the device's enrolled profile")
    aggregates: list[TelemetryAggregate] = Field(min_length=1, max_length=1000)


class IngestResult(BaseModel):
    batch_id: str
    accepted: bool = Field(description="false when the batch id was seen before (nothing counted)")
    duplicate: bool
    aggregates: int
    drift_alerts: int = 0


def _bucket(value: float, bounds: tuple[float, ...]) -> int:
    for i, bound in enumerate(bounds):
        if value <= bound:
            return i
    return len(bounds)


def aggregate(records: Iterable[TraceRecord], *, model_version_id: str | None = None) -> list[TelemetryAggregate]:
    """Fold per-request trace records into one aggregate per day x model x operation.

    Route, guard, intent and feedback come from the record attributes ``frugal.route.decision``,
    ``frugal.guard.verdict``, ``frugal.intent`` and ``frugal.feedback`` ("positive"/"negative") when the
    app set them; text fields of the records are never read.
    """
    groups: dict[tuple[date, str, str], dict[str, Any]] = {}
    for r in records:
        day = datetime.fromtimestamp(r.timestamp, UTC).date()
        g = groups.setdefault((day, r.model, r.operation), {
            "requests": 0, "errors": 0, "input_tokens": 0, "output_tokens": 0, "duration_sum_s": 0.0,
            "duration_histogram": [0] * (len(DURATION_BUCKETS_S) + 1),
            "ttft_histogram": [0] * (len(TTFT_BUCKETS_S) + 1),
            "input_length_histogram": [0] * (len(INPUT_LENGTH_BUCKETS) + 1),
            "routes": {}, "guard_verdicts": {}, "intents": {}, "feedback_positive": 0, "feedback_negative": 0})
        g["requests"] += 1
        g["errors"] += r.status == "error"
        g["input_tokens"] += r.input_tokens
        g["output_tokens"] += r.output_tokens
        g["duration_sum_s"] += r.duration_ms / 1000
        g["duration_histogram"][_bucket(r.duration_ms / 1000, DURATION_BUCKETS_S)] += 1
        if r.ttft_ms is not None:
            g["ttft_histogram"][_bucket(r.ttft_ms / 1000, TTFT_BUCKETS_S)] += 1
        g["input_length_histogram"][_bucket(r.input_tokens, INPUT_LENGTH_BUCKETS)] += 1
        for attr, field in (("frugal.route.decision", "routes"), ("frugal.guard.verdict", "guard_verdicts"),
                            ("frugal.intent", "intents")):
            value = r.attributes.get(attr)
            if isinstance(value, str) and value:
                g[field][value[:100]] = g[field].get(value[:100], 0) + 1
        feedback = r.attributes.get("frugal.feedback")
        if feedback in ("positive", "negative"):
            g[f"feedback_{feedback}"] += 1
    return [TelemetryAggregate(day=day, operation=op, model=model, model_version_id=model_version_id, **g)
            for (day, model, op), g in sorted(groups.items())]


def batch_id_for(device_id: str, trace_ids: Iterable[str]) -> str:
    """Deterministic batch id: re-sending the same records after a failure is recognised as a retry."""
    h = hashlib.sha256(device_id.encode())
    for trace_id in sorted(trace_ids):
        h.update(trace_id.encode())
    return h.hexdigest()[:48]
