"""Benchmark suites: what to run (workloads x models x profiles) and the cost and grid assumptions."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from frugalstack.shared.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Workload(_Strict):
    """A list of prompts; ``fixed`` makes a synthetic prompt of ``prompt_tokens`` and forces the answer length."""

    name: str
    kind: Literal["prompts", "fixed", "chat"] = "prompts"
    prompts: list[str] = Field(default_factory=list)
    prompts_file: str | None = Field(None, description="JSONL with a 'text' or 'query' field per line")
    limit: int | None = Field(None, ge=1)
    prompt_tokens: int = Field(128, ge=1, le=32768)
    max_tokens: int = Field(128, ge=1, le=8192)
    system: str | None = "You are a helpful shop assistant. Answer briefly."

    @model_validator(mode="after")
    def _has_prompts(self) -> Workload:
        if self.kind in ("prompts", "chat") and not self.prompts and not self.prompts_file:
            raise ValueError(f"workload {self.name!r} needs prompts or prompts_file")
        return self


class Derived(_Strict):
    """A GGUF made from another catalogue model by llama.cpp's quantizer (cached)."""

    source: str
    quantization: Literal["f32", "f16", "bf16", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q4_0", "q4_1"]


class ModelEntry(_Strict):
    label: str
    model: str | None = Field(None, description="catalogue id or path")
    backend: str | None = None
    derive: Derived | None = None
    quantization: str | None = None
    reference: bool = Field(False, description="the quality reference other models are compared with")

    @model_validator(mode="after")
    def _one_source(self) -> ModelEntry:
        if (self.model is None) == (self.derive is None):
            raise ValueError(f"model {self.label!r}: give exactly one of model or derive")
        return self


class CloudPrice(_Strict):
    """Price of a cloud model per 1M tokens, with the date the table was read."""

    input_per_1m: float = Field(ge=0)
    output_per_1m: float = Field(ge=0)
    source: str
    as_of: str


class CostConfig(_Strict):
    currency: str = "USD"
    electricity_per_kwh: float = Field(0.30, ge=0, description="device owner's electricity price")
    cloud_provider: str = "gpt-4o-mini"
    cloud_prices: dict[str, CloudPrice]
    cloud_vm_per_hour: float = Field(0.0, ge=0, description="amortised VM cost when the 'cloud' is self-hosted")
    hybrid_cloud_share: float = Field(
        0.3, ge=0, le=1,
        description="assumed share of requests sent to the cloud, used only where no router decisions were recorded",
    )

    @model_validator(mode="after")
    def _provider_known(self) -> CostConfig:
        if self.cloud_provider not in self.cloud_prices:
            raise ValueError(f"cloud_provider {self.cloud_provider!r} not in cloud_prices")
        return self


class RoutingConfig(_Strict):
    """The router whose decisions on the workload's own prompts set the hybrid cell's cloud share."""

    policy: str | None = Field("rules+confidence", description="a `frugal route` policy; null: assume the share")
    threshold: float | None = Field(None, ge=0, le=1, description="overrides the calibrated/default threshold")


class GridConfig(_Strict):
    country_iso_code: str | None = "FRA"
    g_co2_per_kwh: float | None = Field(None, gt=0, description="overrides the country's intensity")


class Suite(_Strict):
    name: str
    description: str = ""
    workloads: list[Workload]
    models: list[ModelEntry]
    profiles: list[str] = Field(default_factory=lambda: ["auto"])
    repetitions: int = Field(5, ge=1, le=1000)
    warmup: int = Field(1, ge=0, le=100)
    seed: int = 0
    max_spread_pct: float = Field(25.0, gt=0, description="IQR/median above this flags a cell as unstable")
    cost: CostConfig
    grid: GridConfig = GridConfig()
    routing: RoutingConfig = RoutingConfig()
    projection_profiles: list[str] = Field(default_factory=list)


def _fmt(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors())


def load_suite(path_or_name: str | Path) -> tuple[Suite, Path]:
    """Load a suite by path, or a shipped suite by name (``default``, ``quick``)."""
    path = Path(path_or_name)
    if not path.exists():
        shipped = Path(str(resources.files("frugalstack.edge.bench") / "suites" / f"{path_or_name}.yaml"))
        if not shipped.exists():
            raise ConfigError(f"benchmark suite {path_or_name} not found (a path, or one of: default, quick, formats)")
        path = shipped
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read suite {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"suite {path} must be a YAML mapping")
    try:
        return Suite.model_validate(raw), path
    except ValidationError as exc:
        raise ConfigError(f"invalid suite {path}: {_fmt(exc)}") from exc
