"""Federated LoRA of the edge SLM: Flower rounds over the adapter, then merge and export to GGUF.

The same ServerApp strategy as the heads (``UpdateStrategy``: validation, robust options, byte counts) runs
over the adapter's arrays; devices are ``edge.fl.lora`` ClientApps on the in-process grid (one shared
model in memory, each device's text only in its own partition). Reported side by side on held-out
consented-style text: perplexity before, federated, centralized (every device's text in one place, the same
number of optimizer steps as the whole federation) and local-only (each device alone, mean). Kept tiny by
default (few devices, few steps, 48-token sequences) so it runs in seconds per round on a laptop CPU.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from frugalstack.cloud.fl.accountant import privacy_report
from frugalstack.cloud.fl.simulate import quiet_env
from frugalstack.shared.errors import ConfigError, FrugalError


@dataclass
class LoraFLConfig:
    clients: int = 4
    rounds: int = 2
    fraction: float = 1.0
    local_steps: int = 3
    lr: float = 2e-3
    batch_size: int = 4
    max_len: int = 48
    rank: int = 4
    texts_per_client: int = 12
    held_out: int = 32
    clip: float = 0.0
    noise_multiplier: float = 0.0
    delta: float = 1e-5
    quantize: str = "int8"
    strategy: str = "fedavg"  # fedavg, fedprox or robust
    aggregator: str = "trimmed-mean"  # robust: trimmed-mean, median or krum (cloud/fl/robust.py)
    trim: float = 0.25  # robust trimmed mean: fraction dropped at each end (0.25 of 4 devices = 1 each side)
    norm_factor: float | None = 5.0  # robust: reject updates above this multiple of the cohort's median norm
    secagg: bool = False  # Flower's SecAgg+: the server sees only the sum of the adapter updates
    attacks: dict[int, float] = field(default_factory=dict)  # simulated poisoned devices: partition -> multiplier
    threads: int = 1
    seed: int = 0

    def validate(self) -> None:
        if self.clients < 2 or self.rounds < 1 or not 0 < self.fraction <= 1:
            raise ConfigError("need clients >= 2, rounds >= 1 and 0 < fraction <= 1")
        if self.noise_multiplier > 0 and self.clip <= 0:
            raise ConfigError("noise needs a clipping bound", hint="set --clip > 0 with --noise")
        if self.quantize not in ("none", "int8"):
            raise ConfigError(f"unknown quantization {self.quantize!r}", hint="use none or int8")
        if self.strategy not in ("fedavg", "fedprox", "robust"):
            raise ConfigError(f"unknown strategy {self.strategy!r}", hint="use fedavg, fedprox or robust")
        from frugalstack.cloud.fl.robust import AGGREGATORS

        if self.aggregator not in AGGREGATORS:
            raise ConfigError(f"unknown aggregator {self.aggregator!r}", hint=f"use one of {', '.join(AGGREGATORS)}")
        if self.secagg and (self.strategy != "fedavg" or self.quantize != "none" or self.attacks):
            raise ConfigError(
                "SecAgg+ runs with fedavg, no --quantize (it quantizes itself) and no simulated attack",
                hint="the server sees only the sum, so per-update robust checks cannot run under SecAgg+",
            )


def _partitions(cfg: LoraFLConfig) -> tuple[list[list[str]], list[str]]:
    """Non-IID text per device: each device holds a contiguous run of one intent-sorted pool (skewed topics)."""
    from frugalstack.edge.fl.lora import consented_texts

    pool, test = consented_texts("dev"), consented_texts("test")
    rng = np.random.default_rng(cfg.seed)
    starts = rng.choice(max(1, len(pool) - cfg.texts_per_client), size=cfg.clients, replace=False)
    parts = [pool[s : s + cfg.texts_per_client] for s in starts]
    held = [test[i] for i in np.linspace(0, len(test) - 1, min(cfg.held_out, len(test))).astype(int)]
    return parts, held


def run_lora_federated(
    cfg: LoraFLConfig,
    *,
    source_gguf: Path | None = None,
    checkpoint: Path | None = None,
    export_to: Path | None = None,
    keep_messages: bool = False,
    drop: set[tuple[int, int]] | None = None,
    baselines: bool = True,
) -> dict[str, Any]:
    """Rounds over the adapter, the two baselines, and (with ``export_to``) the merged GGUF.

    ``checkpoint``: the transformers form of ``source_gguf`` when at hand (default: dequantise the GGUF once,
    cached); ``drop``: (partition, n-th message) replies lost in transit (a device leaving mid-round);
    ``baselines=False`` skips the centralized and local-only trainings (robustness comparisons)."""
    cfg.validate()
    quiet_env()
    random.seed(cfg.seed)
    from flwr.app import Array, ArrayRecord, Context, MetricRecord, RecordDict
    from flwr.serverapp import ServerApp

    from frugalstack.cloud.fl.fedavg import FedAvgUpdates
    from frugalstack.cloud.fl.fedprox import FedProxUpdates
    from frugalstack.cloud.fl.inprocess import InProcessGrid
    from frugalstack.cloud.fl.robust import RobustUpdates
    from frugalstack.edge.catalog import DEFAULT_CHAT_MODEL, get_spec, resolve_path
    from frugalstack.edge.fl.lora import LoraTrainer, make_lora_client_app
    from frugalstack.optimizers.checkpoint import ensure_transformers_checkpoint

    source = Path(source_gguf) if source_gguf else resolve_path(get_spec(DEFAULT_CHAT_MODEL))
    t_load = time.perf_counter()
    trainer = LoraTrainer(
        checkpoint or ensure_transformers_checkpoint(source),
        r=cfg.rank,
        max_len=cfg.max_len,
        threads=cfg.threads,
        seed=cfg.seed,
    )
    load_s = time.perf_counter() - t_load
    parts, held = _partitions(cfg)
    initial = trainer.get_adapter()  # B = 0: the adapter starts as a no-op
    settings = {
        "local-steps": cfg.local_steps,
        "lr": cfg.lr,
        "batch-size": cfg.batch_size,
        "min-examples": 2,
        "clip": cfg.clip,
        "noise-multiplier": cfg.noise_multiplier,
        "quantize": cfg.quantize,
    }
    common: dict[str, Any] = {
        "fraction_train": cfg.fraction,
        "fraction_evaluate": 0.0,
        "min_train_nodes": 2,
        "min_available_nodes": cfg.clients,
        "train_settings": settings,
    }
    strategy: Any = FedAvgUpdates(**common)
    if cfg.strategy == "fedprox":
        strategy = FedProxUpdates(proximal_mu=0.01, **common)
    elif cfg.strategy == "robust":
        strategy = RobustUpdates(norm_factor=cfg.norm_factor, trim=cfg.trim, aggregator=cfg.aggregator, **common)

    def evaluate(params: dict[str, np.ndarray]) -> dict[str, float]:
        trainer.set_adapter(params)
        return {"perplexity": trainer.perplexity(held)}

    sink: dict[str, Any] = {}
    server = ServerApp()

    @server.main()
    def main(grid: Any, context: Any) -> None:
        def evaluate_fn(rnd: int, arrays: Any) -> Any:
            scores = evaluate({k: np.asarray(a.numpy()) for k, a in arrays.items()})
            return MetricRecord({k: float(v) for k, v in scores.items()})

        sink["result"] = strategy.start(
            grid=grid,
            initial_arrays=ArrayRecord({k: Array(v) for k, v in initial.items()}),
            num_rounds=cfg.rounds,
            timeout=3600,
            evaluate_fn=evaluate_fn,
        )

    client = make_lora_client_app(lambda: trainer, lambda pid: parts[pid], seed=cfg.seed, attacks=cfg.attacks)
    if cfg.secagg:
        server, client = _secagg_apps(cfg, trainer, parts, initial, settings, evaluate, sink)
    grid = InProcessGrid(client, cfg.clients, keep=keep_messages, drop=drop)
    t0 = time.perf_counter()
    server(grid, Context(run_id=1, node_id=1, node_config={}, state=RecordDict(), run_config={}))
    wall = time.perf_counter() - t0
    if cfg.secagg:
        from frugalstack.cloud.fl.simulate import _secagg_comm

        if "params" not in sink:
            raise FrugalError("the secure-aggregation LoRA run did not finish", hint="see the Flower log above")
        final, evals, rounds, comm = sink["params"], sink["evals"], sink["stats"], _secagg_comm(grid)
    else:
        if "result" not in sink or not sink["result"].arrays:
            raise FrugalError("the federated LoRA run did not finish", hint="see the Flower log above")
        final = {k: np.asarray(a.numpy()) for k, a in sink["result"].arrays.items()}
        evals = {int(r): dict(m) for r, m in sink["result"].evaluate_metrics_serverapp.items()}
        rounds, comm = strategy.rounds, strategy.comm
    central, local = _baselines(cfg, trainer, parts, held, initial) if baselines else (float("nan"), [])
    trainer.set_adapter(final)
    ups = [c["bytes_up"] for c in comm]
    per_round = [r["accepted"] for r in rounds if r["accepted"]]
    privacy = privacy_report(
        noise_multiplier=cfg.noise_multiplier,
        clip=cfg.clip,
        delta=cfg.delta,
        rounds=cfg.rounds,
        population=cfg.clients,
        per_round=min(per_round, default=0),
        noise_share=1,
    )
    report: dict[str, Any] = {
        "config": {**asdict(cfg), "task": "lora", "strategy": cfg.strategy},
        "engine": "inprocess",
        "classes": [],
        "targets": ["v_proj", "o_proj"],
        "before": evals.get(0, {}),
        "federated": evals.get(cfg.rounds, {}),
        "per_round_eval": evals,
        "centralized": {"perplexity": central, "examples": sum(len(p) for p in parts)},
        "local_only": {
            "perplexity": float(np.mean(local)) if local else float("nan"),
            "perplexity_spread": float(np.std(local)) if local else float("nan"),
            "devices": len(local),
        },
        "rounds": rounds,
        "communication": {
            "bytes_down_per_client_round": statistics.median(c["bytes_down"] for c in comm),
            "bytes_up_per_client_round_median": statistics.median(ups),
            "bytes_total": int(sum(ups) + sum(c["bytes_down"] for c in comm)),
            "replies": len(comm),
            "params": int(sum(v.size for v in final.values())),
        },
        "privacy": privacy.as_dict(),
        "model_load_s": load_s,
        "wall_s": wall,
        "round_wall_s_median": statistics.median(r["wall_s"] for r in rounds),
        "participants_per_round": [r["accepted"] for r in rounds],
        "rejected_per_round": [r["rejected"] for r in rounds],
        "source_gguf": str(source),
        "_final_params": final,
        "_trainer": trainer,
    }
    if keep_messages:
        report["_grid"] = grid
    if export_to is not None:
        from frugalstack.cloud.fl.lora_export import export_merged

        out = export_merged(source, trainer.merged_weights(), Path(export_to), threads=cfg.threads)
        report["exported_gguf"] = {"path": str(out), "bytes": out.stat().st_size, "format": "q8_0"}
    return report


def _baselines(
    cfg: LoraFLConfig, trainer: Any, parts: list[list[str]], held: list[str], initial: dict[str, np.ndarray]
) -> tuple[float, list[float]]:
    """Centralized (all devices' text, the federation's step count) and local-only (each device alone)."""
    steps = cfg.rounds * cfg.local_steps
    trainer.set_adapter(initial)
    trainer.train([t for p in parts for t in p], steps=steps, lr=cfg.lr, batch_size=cfg.batch_size, seed=cfg.seed)
    central = trainer.perplexity(held)
    local = []
    for i, texts in enumerate(parts):
        trainer.set_adapter(initial)
        trainer.train(texts, steps=steps, lr=cfg.lr, batch_size=cfg.batch_size, seed=cfg.seed + i)
        local.append(trainer.perplexity(held))
    return central, local


def _secagg_apps(
    cfg: LoraFLConfig,
    trainer: Any,
    parts: list[list[str]],
    initial: dict[str, np.ndarray],
    settings: dict[str, Any],
    evaluate: Any,
    sink: dict[str, Any],
) -> tuple[Any, Any]:
    """SecAgg+ ServerApp/ClientApp over the adapter (each device shares keys with ~9 neighbours, 60 % of
    them must survive for its mask to be removed: the same rule as the heads in ``simulate``)."""
    from frugalstack.cloud.fl.secagg import make_secagg_server_app
    from frugalstack.edge.fl.lora import make_lora_secagg_client_app

    names = list(initial)
    client = make_lora_secagg_client_app(lambda: trainer, lambda pid: parts[pid], names, seed=cfg.seed)
    server = make_secagg_server_app(
        initial,
        cfg.rounds,
        num_shares=min(1.0, 9 / max(2, int(cfg.fraction * cfg.clients))),
        threshold=0.6,
        train_config={**settings, "quantize": "none"},
        sink=sink,
        min_clients=2,
        available=cfg.clients,
        fraction=cfg.fraction,
        evaluate=evaluate,
        timeout=3600,
    )
    return server, client
