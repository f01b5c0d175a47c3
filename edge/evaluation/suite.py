"""The evaluation suite: a versioned YAML file saying what to run and how big, so a record is reproducible."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from frugalstack.shared.errors import ConfigError, NotFoundError

DATA_FILES = ("products.jsonl", "products.jsonl.gz", "intents.jsonl", "queries-test.jsonl", "extraction.jsonl",
              "qa.jsonl", "toxicity_prompts.jsonl", "bias_probes.yaml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskCfg(_Strict):
    limit: int = Field(50, ge=1, le=10_000)
    max_tokens: int = Field(48, ge=1, le=1024)
    constrained: bool = Field(True, description="force JSON output with a json_schema grammar when the backend can")
    k: int = Field(3, ge=1, le=20, description="retrieved records per question (qa)")


class Tasks(_Strict):
    intent: TaskCfg | None = TaskCfg(limit=110, max_tokens=12)
    extraction: TaskCfg | None = TaskCfg(limit=50, max_tokens=72)
    qa: TaskCfg | None = TaskCfg(limit=60, max_tokens=48)


class ToxicityCfg(_Strict):
    limit: int = Field(40, ge=1)
    max_tokens: int = Field(56, ge=1, le=1024)


class BiasCfg(_Strict):
    attributes: list[Literal["gender", "nationality", "age", "dialect"]] = ["gender", "nationality", "age", "dialect"]
    templates: int = Field(6, ge=1)
    intros_per_group: int = Field(2, ge=1)
    max_tokens: int = Field(72, ge=8, le=1024)


class RobustnessCfg(_Strict):
    task: Literal["intent"] = "intent"
    limit: int = Field(55, ge=1)
    perturbations: list[Literal["typos", "casing", "code_switch", "paraphrase"]] = [
        "typos", "casing", "code_switch", "paraphrase"]


class EfficiencyCfg(_Strict):
    enabled: bool = True
    requests: int = Field(8, ge=1, le=1000)
    max_tokens: int = Field(64, ge=1, le=1024)


class JudgeCfg(_Strict):
    prompt: str = "judge-v1"
    max_items: int = Field(40, ge=1)
    timeout_s: float = Field(30, gt=0)


class BootstrapCfg(_Strict):
    resamples: int = Field(1000, ge=50, le=100_000)
    confidence: float = Field(0.95, gt=0.5, lt=1)


class Suite(_Strict):
    name: str
    version: str
    use_case: str = "default"
    seed: int = 13
    data: str = Field("builtin", description="'builtin' (shipped) or a directory holding the same files")
    system: str | None = None
    tasks: Tasks = Tasks()
    toxicity: ToxicityCfg | None = ToxicityCfg()
    bias: BiasCfg | None = BiasCfg()
    robustness: RobustnessCfg | None = RobustnessCfg()
    efficiency: EfficiencyCfg | None = EfficiencyCfg()
    judge: JudgeCfg = JudgeCfg()
    bootstrap: BootstrapCfg = BootstrapCfg()

    def data_dir(self, base: Path | None = None) -> Path:
        if self.data == "builtin":
            return Path(str(resources.files("frugalstack.edge.evaluation").joinpath("data")))
        if self.data == "sampledata":  # the shipped sample e-commerce dataset (queries + catalogue)
            try:
                return Path(str(resources.files("frugalstack.edge.sampledata").joinpath("data")))
            except ModuleNotFoundError:
                raise NotFoundError("suite data 'sampledata' needs frugalstack.edge.sampledata",
                                    hint="generate it with: frugal data make-sample") from None
        path = Path(self.data).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.is_dir():
            raise ConfigError(f"suite {self.name}: data directory {path} not found")
        return path

    def dataset_version(self, base: Path | None = None) -> str:
        """Content hash of the data files, so a record names exactly what it was scored on."""
        h = hashlib.sha256()
        d = self.data_dir(base)
        builtin = Path(str(resources.files("frugalstack.edge.evaluation").joinpath("data")))
        for name in DATA_FILES:
            f = d / name if (d / name).exists() else builtin / name
            if f.exists():
                h.update(name.encode() + b"\0" + f.read_bytes())
        return f"{self.data}@sha256:{h.hexdigest()[:16]}"

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(), sort_keys=True).encode()).hexdigest()[:16]


def load_suite(ref: str | Path) -> tuple[Suite, Path | None]:
    """A suite by path, or by the name of a shipped one (``default``, ``tiny``); returns it and its folder."""
    path = Path(ref)
    if not path.exists() and not str(ref).endswith((".yaml", ".yml")):
        shipped = resources.files("frugalstack.edge.evaluation").joinpath("suites", f"{ref}.yaml")
        if not shipped.is_file():
            raise NotFoundError(f"no suite file {ref} and no shipped suite named {ref!r}",
                                hint="shipped suites: default, tiny")
        return _parse(shipped.read_text(encoding="utf-8"), str(ref)), None
    if not path.is_file():
        raise NotFoundError(f"suite file {path} not found")
    return _parse(path.read_text(encoding="utf-8"), str(path)), path.parent


def _parse(text: str, where: str) -> Suite:
    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"suite {where} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"suite {where} must be a mapping")
    try:
        return Suite.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"suite {where} is invalid: {exc}") from exc
