"""Run a federated experiment end to end and report it next to its two baselines.

Federated (the ServerApp and ClientApps, on Ray or the in-process grid), centralized (the union of every
device's data in one place: the upper bound) and local-only (each device alone, averaged over devices), all
scored on the same held-out set; plus bytes per client per round, ε, and wall time per round.
"""

from __future__ import annotations

import functools
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from frugalstack.cloud.fl.accountant import privacy_report
from frugalstack.cloud.fl.server import FLConfig, build_strategy, make_server_app
from frugalstack.cloud.fl.tasks import evaluator, load_corpus
from frugalstack.edge.fl import model
from frugalstack.edge.fl.client import make_client_app
from frugalstack.edge.fl.data import PartitionSource, partition_corpus, save_partitions
from frugalstack.edge.fl.devices import assign_devices
from frugalstack.shared.errors import FrugalError, MissingDependencyError

ENGINES = ("ray", "inprocess")


def quiet_env() -> None:
    """No telemetry and no usage stats leave this machine (FACTS.md)."""
    for k in ("FLWR_TELEMETRY_ENABLED", "RAY_USAGE_STATS_ENABLED"):
        os.environ.setdefault(k, "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _baselines(cfg: FLConfig, corpus: Any, parts: list[np.ndarray], spec: model.HeadSpec) -> dict[str, Any]:
    ev = evaluator(cfg.task, corpus)
    union = np.unique(np.concatenate(parts))
    steps = cfg.rounds * cfg.local_steps
    central, _ = model.train(
        model.init_params(spec, cfg.seed),
        corpus.x_train[union],
        corpus.y_train[union],
        steps=max(steps, 1000),
        lr=cfg.lr,
        batch_size=64,
        seed=cfg.seed,
        balanced=cfg.task == "router",
    )
    local = []
    for i, idx in enumerate(parts):
        if len(idx) < cfg.min_examples:
            continue
        p, _ = model.train(
            model.init_params(spec, cfg.seed),
            corpus.x_train[idx],
            corpus.y_train[idx],
            steps=steps,
            lr=cfg.lr,
            batch_size=cfg.batch_size,
            seed=cfg.seed + i,
            balanced=cfg.task == "router",
        )
        local.append(ev(p))
    keys = list(local[0]) if local else ["accuracy", "macro_f1"]
    return {
        "centralized": ev(central) | {"examples": len(union)},
        "local_only": {k: float(np.nanmean([m[k] for m in local])) if local else float("nan") for k in keys}
        | {"devices": len(local)},
    }


def run_federated(
    cfg: FLConfig,
    *,
    engine: str = "ray",
    workdir: Path | None = None,
    keep_messages: bool = False,
    drop: set[tuple[int, int]] | None = None,
    initial: model.Params | None = None,
) -> dict[str, Any]:
    """One run; returns the report (and, with ``keep_messages``, the in-process grid under ``"_grid"``).

    ``initial``: start from these head parameters (e.g. the registered version) instead of a fresh head."""
    cfg.validate()
    if engine not in ENGINES:
        raise FrugalError(f"unknown engine {engine!r}", hint="use ray or inprocess")
    quiet_env()
    random.seed(cfg.seed)  # Flower samples the round's devices with the random module: make runs repeatable
    corpus = load_corpus(cfg.task, cfg.pairs, cfg.cv_fold, cfg.cv_folds)
    spec = model.HeadSpec(dim=int(corpus.x_train.shape[1]), classes=len(corpus.classes), hidden=cfg.hidden)
    parts = partition_corpus(corpus, cfg.clients, alpha=cfg.alpha, mean_size=cfg.mean_size, seed=cfg.seed)
    work = Path(workdir or tempfile.mkdtemp(prefix="frugal-fl-"))
    work.mkdir(parents=True, exist_ok=True)
    path = save_partitions(corpus, parts, work / "partitions.npz")
    devices = assign_devices(cfg.clients, cfg.seed) if cfg.devices else None
    client_app = make_client_app(functools.partial(PartitionSource, str(path)), devices, seed=cfg.seed)
    strategy = build_strategy(cfg)
    fresh = model.init_params(spec, cfg.seed)
    if initial is not None and {k: v.shape for k, v in initial.items()} != {k: v.shape for k, v in fresh.items()}:
        raise FrugalError("the initial parameters do not fit this task's head", hint="start from a fresh head")
    initial = {k: np.asarray(v, np.float32) for k, v in (initial or fresh).items()}
    sink: dict[str, Any] = {}
    evaluate = evaluator(cfg.task, corpus)

    server_app = make_server_app(strategy, initial, cfg.rounds, evaluate, sink)
    if cfg.secagg:
        from frugalstack.cloud.fl.secagg import make_secagg_server_app
        from frugalstack.edge.fl.secagg_client import make_secagg_client_app

        # Each device Shamir-shares its keys with ~9 neighbours (all of them in small cohorts); 60 % of a
        # device's neighbours must survive for its mask to be removed.
        shares = min(1.0, 9 / max(2, int(cfg.fraction * cfg.clients)))
        client_app = make_secagg_client_app(
            functools.partial(PartitionSource, str(path)), list(initial), devices, seed=cfg.seed
        )
        server_app = make_secagg_server_app(
            initial,
            cfg.rounds,
            num_shares=shares,
            threshold=0.6,
            train_config=cfg.train_settings(),
            sink=sink,
            min_clients=2,
            available=cfg.clients,
            fraction=cfg.fraction,
            evaluate=evaluate,
            timeout=300,
        )
    t0 = time.perf_counter()
    grid = None
    if engine == "inprocess":
        from flwr.app import Context, RecordDict

        from frugalstack.cloud.fl.inprocess import InProcessGrid

        grid = InProcessGrid(client_app, cfg.clients, keep=keep_messages, drop=drop)
        server_app(grid, Context(run_id=1, node_id=1, node_config={}, state=RecordDict(), run_config={}))
    else:
        try:
            from flwr.simulation import run_simulation
        except ImportError:
            raise MissingDependencyError("flwr[simulation]", "fl", purpose="the simulation engine") from None
        run_simulation(
            server_app=server_app,
            client_app=client_app,
            num_supernodes=cfg.clients,
            backend_config={
                "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
                "init_args": {
                    "num_cpus": os.cpu_count() or 2,
                    "include_dashboard": False,
                    "logging_level": "error",
                    "log_to_driver": False,
                },
            },
        )
    wall = time.perf_counter() - t0
    if cfg.secagg:
        if "params" not in sink:
            raise FrugalError("the secure-aggregation run did not finish", hint="see the Flower log above")
        comm = _secagg_comm(grid)
        return _report(cfg, engine, corpus, parts, spec, sink["stats"], comm, sink["evals"], sink["params"], wall, grid)
    if "result" not in sink:
        raise FrugalError("the federated run did not finish", hint="see the Flower log above")
    result = sink["result"]
    evals = {int(r): dict(m) for r, m in result.evaluate_metrics_serverapp.items()}
    final = {k: np.asarray(a.numpy()) for k, a in result.arrays.items()} if result.arrays else {}
    return _report(cfg, engine, corpus, parts, spec, strategy.rounds, strategy.comm, evals, final, wall, grid)


def _secagg_comm(grid: Any) -> list[dict[str, Any]]:
    """Wire bytes per device per round, all four SecAgg+ stages summed (in-process engine only)."""
    if grid is None:
        return []
    per: dict[int, list[dict[str, int]]] = {}
    for w in grid.wire_bytes:
        per.setdefault(w["node"], []).append(w)
    out = []
    for node, msgs in per.items():
        for i in range(0, len(msgs), 4):  # setup, share keys, masked vector, unmask
            chunk = msgs[i : i + 4]
            out.append(
                {
                    "round": None,
                    "node": node,
                    "bytes_down": sum(m["down"] for m in chunk),
                    "bytes_up": sum(m["up"] for m in chunk),
                }
            )
    return out


def _report(
    cfg: FLConfig,
    engine: str,
    corpus: Any,
    parts: list[np.ndarray],
    spec: model.HeadSpec,
    rounds: list[dict[str, Any]],
    comm: list[dict[str, Any]],
    evals: dict[int, dict[str, float]],
    final: model.Params,
    wall: float,
    grid: Any,
) -> dict[str, Any]:
    ups = [c["bytes_up"] for c in comm]
    downs = [c["bytes_down"] for c in comm]
    per_round = [r["accepted"] for r in rounds if r["accepted"]]
    privacy = privacy_report(
        noise_multiplier=cfg.noise_multiplier,
        clip=cfg.clip,
        delta=cfg.delta,
        rounds=cfg.rounds,
        population=cfg.clients,
        per_round=min(per_round, default=0),
        noise_share=cfg.noise_share(),
    )
    walls = [r["wall_s"] for r in rounds]
    report: dict[str, Any] = {
        "config": cfg.as_dict(),
        "engine": engine,
        "classes": corpus.classes,
        "partition_sizes": [len(p) for p in parts],
        "before": evals.get(0, {}),
        "federated": evals.get(cfg.rounds, {}),
        "per_round_eval": evals,
        **_baselines(cfg, corpus, parts, spec),
        "rounds": rounds,
        "communication": {
            "bytes_down_per_client_round": statistics.median(downs) if downs else 0,
            "bytes_up_per_client_round_median": statistics.median(ups) if ups else 0,
            "bytes_total": int(sum(ups) + sum(downs)),
            "replies": len(comm),
            "params": int(sum(v.size for v in final.values())),
        },
        "privacy": privacy.as_dict(),
        "wall_s": wall,
        "round_wall_s_median": statistics.median(walls) if walls else 0.0,
        "participants_per_round": [r["accepted"] for r in rounds],
        "_final_params": final,
    }
    if grid is not None:
        report["_grid"] = grid
    return report


def public_report(report: dict[str, Any]) -> dict[str, Any]:
    """The report without in-memory objects (final arrays, the grid): what gets printed or saved."""
    return {k: v for k, v in report.items() if not k.startswith("_")}
