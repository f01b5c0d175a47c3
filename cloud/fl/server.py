"""The Flower ServerApp (Message API) and the run configuration that picks task, strategy and privacy.

Each task is a strategy config: which head to train, its initial weights, and how the server evaluates it
on held-out data after every round. The ServerApp's ``main`` runs the strategy; the same app runs under the
simulation engine (Ray), the in-process grid of the tests, or a SuperLink.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from frugalstack.cloud.fl.base import UpdateStrategy
from frugalstack.cloud.fl.fedavg import FedAvgUpdates
from frugalstack.cloud.fl.fedprox import FedProxUpdates
from frugalstack.cloud.fl.robust import RobustUpdates
from frugalstack.edge.fl import model
from frugalstack.shared.errors import ConfigError

STRATEGIES = ("fedavg", "fedprox", "robust")
TASKS = ("intent", "router", "lora")


@dataclass
class FLConfig:
    """One federated run; every field is a CLI option of ``frugal fl simulate``."""

    task: str = "intent"
    clients: int = 10
    rounds: int = 3
    strategy: str = "fedavg"
    fraction: float = 0.5
    local_steps: int = 20
    lr: float = 5.0
    batch_size: int = 32
    min_examples: int = 8
    hidden: int = 0
    clip: float = 0.0
    noise_multiplier: float = 0.0
    dp_mode: str = "local"  # local: each device adds all the noise; distributed: shares it with the cohort
    delta: float = 1e-5
    quantize: str = "none"
    proximal_mu: float = 0.01
    trim: float = 0.1
    aggregator: str = "trimmed-mean"  # robust: trimmed-mean, median or krum
    max_norm: float | None = None
    norm_factor: float | None = 5.0
    alpha: float = 0.5
    mean_size: int = 24
    devices: bool = True
    secagg: bool = False
    seed: int = 0
    pairs: str | None = None  # router task: the collected pairs file (default: the shipped sample)
    cv_fold: int | None = None  # router task: hold out this fold of all pairs instead of the file's test split
    cv_folds: int = 4
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"unknown task {self.task!r}", hint=f"use one of {', '.join(TASKS)}")
        if self.task == "lora":
            raise ConfigError(
                "the lora task trains torch adapters, not a numpy head",
                hint="run it with frugalstack.cloud.fl.lora.run_lora_federated (the CLI dispatches it)",
            )
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"unknown strategy {self.strategy!r}", hint=f"use one of {', '.join(STRATEGIES)}")
        if self.secagg and self.strategy != "fedavg":
            raise ConfigError(
                "secure aggregation runs with fedavg only",
                hint="the server sees only the sum, so "
                "per-update checks (robust) and proximal terms are not wired to it yet",
            )
        if self.secagg and self.quantize != "none":
            raise ConfigError("SecAgg+ quantizes by itself", hint="drop --quantize with --secagg")
        if self.quantize not in ("none", "int8"):
            raise ConfigError(f"unknown quantization {self.quantize!r}", hint="use none or int8")
        if self.dp_mode not in ("local", "distributed"):
            raise ConfigError(f"unknown DP mode {self.dp_mode!r}", hint="use local or distributed")
        if self.noise_multiplier > 0 and self.clip <= 0:
            raise ConfigError("noise needs a clipping bound", hint="set --clip > 0 with --noise")
        if self.clients < 2 or self.rounds < 1 or not 0 < self.fraction <= 1:
            raise ConfigError("need clients >= 2, rounds >= 1 and 0 < fraction <= 1")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def noise_share(self) -> int:
        """How many devices split the noise: 1 (local DP) or the cohort size expected to survive a round."""
        if self.dp_mode == "local":
            return 1
        return max(2, int(self.fraction * self.clients * 0.9))

    def train_settings(self) -> dict[str, Any]:
        return {
            "local-steps": self.local_steps,
            "lr": self.lr,
            "batch-size": self.batch_size,
            "min-examples": self.min_examples,
            "clip": self.clip,
            "noise-multiplier": self.noise_multiplier,
            "noise-share": float(self.noise_share()),
            "quantize": self.quantize,
            "deadline-speed": 1.0,
            "balanced": int(self.task == "router"),  # the cloud wins on a minority of requests
        }


def build_strategy(cfg: FLConfig) -> UpdateStrategy:
    common: dict[str, Any] = {
        "fraction_train": cfg.fraction,
        "fraction_evaluate": 0.0,
        "min_train_nodes": 2,
        "min_available_nodes": cfg.clients,
        "train_settings": cfg.train_settings(),
    }
    if cfg.strategy == "fedprox":
        return FedProxUpdates(proximal_mu=cfg.proximal_mu, **common)
    if cfg.strategy == "robust":
        return RobustUpdates(
            max_norm=cfg.max_norm, norm_factor=cfg.norm_factor, trim=cfg.trim, aggregator=cfg.aggregator, **common
        )
    return FedAvgUpdates(**common)


def make_server_app(
    strategy: UpdateStrategy,
    initial: model.Params,
    rounds: int,
    evaluate: Callable[[model.Params], dict[str, float]] | None,
    sink: dict[str, Any],
    *,
    timeout: float = 600.0,
) -> Any:
    """A ServerApp that runs ``strategy`` for ``rounds`` and leaves Flower's ``Result`` in ``sink``."""
    from flwr.app import Array, ArrayRecord, MetricRecord
    from flwr.serverapp import ServerApp

    app = ServerApp()

    def evaluate_fn(server_round: int, arrays: Any) -> Any:
        if evaluate is None:
            return None
        params = {k: np.asarray(a.numpy()) for k, a in arrays.items()}
        return MetricRecord({k: float(v) for k, v in evaluate(params).items()})

    @app.main()
    def main(grid: Any, context: Any) -> None:
        sink["result"] = strategy.start(
            grid=grid,
            initial_arrays=ArrayRecord({k: Array(v) for k, v in initial.items()}),
            num_rounds=rounds,
            timeout=timeout,
            evaluate_fn=evaluate_fn,
        )

    return app
