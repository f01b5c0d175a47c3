"""The distillation run's configuration: one YAML file, validated by pydantic before anything runs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from frugalstack.shared.errors import ConfigError, ValidationError

TaskName = Literal["intent", "extraction"]
DEFAULT_MODEL = "smollm2-135m-instruct-q4_1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Strict):
    """Where the rows come from: the shipped sample, a local JSONL file, or a registered dataset version."""

    source: Literal["sample", "file", "dataset_version"] = "sample"
    path: Path | None = None
    dataset_version_id: str | None = None
    limit_per_task: int | None = Field(None, ge=4, description="rows per task after filtering (demo-sized runs)")
    dev_fraction: float = Field(0.15, gt=0, lt=0.5)
    test_fraction: float = Field(0.25, gt=0, lt=0.5)

    @model_validator(mode="after")
    def _where(self) -> DataConfig:
        if self.source == "file" and self.path is None:
            raise ValueError("data.source=file needs data.path")
        if self.source == "dataset_version" and not self.dataset_version_id:
            raise ValueError("data.source=dataset_version needs data.dataset_version_id")
        return self


class TeacherConfig(_Strict):
    """``openai``: any OpenAI-compatible endpoint (the cloud gateway by default); ``local``: a transformers model."""

    kind: Literal["openai", "local"] = "openai"
    model: str = DEFAULT_MODEL
    base_url: str | None = Field(None, description="default: the cloud's /v1 (cloud.url)")
    api_key_env: str = "FRUGAL_API_KEY"
    few_shot: int = Field(4, ge=0, le=16)
    max_concurrency: int = Field(4, ge=1, le=64)
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)
    max_tokens: int = Field(64, ge=4, le=1024)
    logprobs: bool = True
    price_in_per_mtok: float = Field(0.05, ge=0)
    price_out_per_mtok: float = Field(0.20, ge=0)


class StudentConfig(_Strict):
    """``smollm2``: SmolLM2-135M fine-tuned (LoRA or full); ``small``: a few of its layers (same tokenizer)."""

    kind: Literal["smollm2", "small"] = "small"
    base: str = DEFAULT_MODEL
    layers: int = Field(3, ge=1, le=30, description="small: how many of the base's layers to keep (spread evenly)")
    lora_r: int = Field(0, ge=0, le=256, description="0: full fine-tune; >0: LoRA rank (smollm2 only)")
    lora_alpha: int = Field(16, ge=1)
    freeze_embeddings: bool = Field(False, description="small: keep the (tied) 49k-token embedding fixed; trains "
                                    "only the layers (4x fewer trainable weights, less over-fitting on small data)")


class TrainConfig(_Strict):
    """Sequence-level KD works with any teacher; token-level KD needs a local teacher with the same tokenizer."""

    mode: Literal["sequence", "token"] = "sequence"
    loss: Literal["forward_kl", "reverse_kl", "jsd"] = "forward_kl"
    beta: float = Field(0.5, gt=0, lt=1, description="generalized JSD mixing weight")
    on_policy_fraction: float = Field(0.0, ge=0, le=1, description="GKD: share of batches on student samples")
    temperature: float = Field(1.0, gt=0)
    epochs: int = Field(3, ge=1)
    max_steps: int | None = Field(None, ge=1)
    batch_size: int = Field(8, ge=1)
    lr: float = Field(5e-4, gt=0)
    max_len: int = Field(160, ge=16)
    eval_every: int = Field(10, ge=1)
    patience: int = Field(3, ge=1, description="early stopping: evaluations without a better dev loss")
    checkpoint_every: int = Field(10, ge=1)
    threads: int | None = Field(None, ge=1)


class EvalConfig(_Strict):
    max_new_tokens: int = Field(48, ge=4)
    extraction_decoding: Literal["schema", "free"] = Field(
        "schema", description="schema: keys forced, values decoded (like a JSON-schema grammar); free: no help")
    report_free_json: bool = Field(True, description="with schema decoding, also score free decoding (free_* keys)")
    energy: bool = True
    models: list[Literal["student", "teacher", "base"]] = Field(default_factory=lambda: ["student", "teacher", "base"])  # type: ignore[arg-type]


class ExportConfig(_Strict):
    enabled: bool = True
    quant: str = "q8_0"
    template: str = Field(DEFAULT_MODEL, description="GGUF whose tokenizer metadata the student's GGUF reuses")


class CloudConfig(_Strict):
    """The control plane the run reads data from, uses as teacher gateway and registers the model in."""

    url: str | None = None
    api_key_env: str = "FRUGAL_API_KEY"
    publish: bool = Field(False, description="register the student in the cloud registry",
                          validation_alias=AliasChoices("publish", "register"))
    model_name: str = "shop-distilled"
    promote_to: Literal["candidate", "staging"] = "staging"
    profiles: list[str] = Field(default_factory=lambda: ["laptop-x86"])
    deploy_profile: str | None = Field(None, description="deploy the staged version to this device profile")


class DistillConfig(_Strict):
    name: str = Field("distill", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    seed: int = 0
    workdir: Path | None = Field(None, description="default: $FRUGAL_HOME/distill/<name>")
    tasks: list[TaskName] = Field(default_factory=lambda: ["intent", "extraction"], min_length=1)  # type: ignore[arg-type]
    executor: Literal["local", "ray"] = "local"
    ray_workers: int = Field(2, ge=1, le=64)
    data: DataConfig = Field(default_factory=DataConfig)
    teacher: TeacherConfig = Field(default_factory=TeacherConfig)
    student: StudentConfig = Field(default_factory=StudentConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)
    cloud: CloudConfig = Field(default_factory=CloudConfig)

    @model_validator(mode="after")
    def _consistent(self) -> DistillConfig:
        if self.train.mode == "token" and self.teacher.kind != "local":
            raise ValueError("train.mode=token needs teacher.kind=local (an API teacher gives no full distributions)")
        if self.student.lora_r and self.student.kind != "smollm2":
            raise ValueError("student.lora_r is for student.kind=smollm2")
        return self

    def digest(self) -> str:
        """A short hash of what decides the trained weights (so a resumed run refuses a changed config)."""
        keep = self.model_dump(mode="json", include={"seed", "tasks", "data", "teacher", "student", "train"})
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:12]


def load_config(source: Path | str | dict[str, object]) -> DistillConfig:
    """A validated config from a YAML path or a dict; every problem becomes a ConfigError with the field."""
    import yaml

    if isinstance(source, dict):
        raw: object = source
    else:
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"no distillation config at {path}")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError("a distillation config is a mapping at the top level")
    try:
        return DistillConfig.model_validate(raw)
    except Exception as exc:  # pydantic.ValidationError: keep the field paths, drop the traceback
        from pydantic import ValidationError as PydanticError

        if isinstance(exc, PydanticError):
            why = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"invalid distillation config: {why}") from None
        raise ValidationError(str(exc)) from None
