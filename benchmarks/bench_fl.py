"""Federated learning of the intent and router heads: quality, communication, privacy and time, over seeds.

For each configuration the full experiment (non-IID partitions, device profiles with stragglers and
dropouts, N rounds) runs once per seed on the in-process engine (the same ServerApp/ClientApp code as
the simulation engine, without Ray's start-up), and the script prints medians and [min, max] over seeds
of held-out macro-F1 and accuracy for federated vs centralized (upper bound) vs local-only, the ratio
federated / centralized, bytes per client per round, total bytes, ε (local and central), and wall time per
round. One more run of the reference configuration goes through Flower's simulation engine (Ray), whose
per-round wall time and start-up are reported separately.

    .venv/bin/python benchmarks/bench_fl.py [--task intent|router|lora] [--clients 50] [--rounds 10]
        [--seeds 0 1 2] [--no-ray] [--pairs route-eval/pairs.jsonl] [--out benchmarks/results/fl]

``--task router`` scores held-out routing pairs: decision accuracy, and AUC of P(cloud better) in the
F1 columns' place. ``--task lora`` runs one tiny federated LoRA experiment (perplexity; torch).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _stats import summary

from frugalstack.cloud.fl.server import FLConfig
from frugalstack.cloud.fl.simulate import public_report, run_federated

ROUTER_CONFIGS: dict[str, dict[str, Any]] = {
    "fedavg fp32": {"lr": 2.0},
    "fedavg int8": {"lr": 2.0, "quantize": "int8"},
    "robust int8": {"lr": 2.0, "strategy": "robust", "quantize": "int8"},
    "fedavg int8 DP local z=0.5 C=1": {"lr": 2.0, "quantize": "int8", "clip": 1.0, "noise_multiplier": 0.5},
    "fedavg int8 DP distributed z=1 C=1": {
        "lr": 2.0,
        "quantize": "int8",
        "clip": 1.0,
        "noise_multiplier": 1.0,
        "dp_mode": "distributed",
    },
}
CONFIGS: dict[str, dict[str, Any]] = {
    "fedavg fp32": {"strategy": "fedavg"},
    "fedavg int8": {"strategy": "fedavg", "quantize": "int8"},
    "fedprox int8": {"strategy": "fedprox", "quantize": "int8"},
    "robust int8": {"strategy": "robust", "quantize": "int8"},
    "fedavg int8 DP local z=1 C=5": {"quantize": "int8", "clip": 5.0, "noise_multiplier": 1.0},
    "fedavg int8 DP distributed z=1 C=5": {
        "quantize": "int8",
        "clip": 5.0,
        "noise_multiplier": 1.0,
        "dp_mode": "distributed",
    },
    "fedavg int8 DP distributed z=0.5 C=5": {
        "quantize": "int8",
        "clip": 5.0,
        "noise_multiplier": 0.5,
        "dp_mode": "distributed",
    },
    "SecAgg+": {"secagg": True},
    "SecAgg+ DP distributed z=1 C=5": {"secagg": True, "clip": 5.0, "noise_multiplier": 1.0, "dp_mode": "distributed"},
}


def _fmt(s: dict[str, float], digits: int = 3) -> str:
    return f"{s['median']:.{digits}f} [{s['min']:.{digits}f}, {s['max']:.{digits}f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--no-ray", action="store_true", help="skip the run on the simulation engine")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/fl"))
    ap.add_argument("--task", choices=("intent", "router", "lora", "lora-robust"), default="intent")
    ap.add_argument("--pairs", default=None, help="router: collected pairs (default: the shipped sample)")
    ap.add_argument("--cv", type=int, default=0, help="router: K-fold cross-validation over all pairs (K >= 2)")
    args = ap.parse_args()
    logging.getLogger("flwr").setLevel(logging.WARNING)
    if args.task == "lora":
        return _lora(args)
    if args.task == "lora-robust":
        return _lora_robust(args)
    if args.task == "router" and args.cv:
        return _router_cv(args)
    metric = "auc" if args.task == "router" else "macro_f1"
    extra = {"task": args.task, "pairs": args.pairs, "min_examples": 4} if args.task == "router" else {}
    configs = ROUTER_CONFIGS if args.task == "router" else CONFIGS

    results: dict[str, Any] = {
        "machine": platform.platform(),
        "clients": args.clients,
        "rounds": args.rounds,
        "seeds": args.seeds,
        "task": args.task,
        "metric": metric,
        "configs": {},
    }
    print(f"{args.clients} clients, {args.rounds} rounds, seeds {args.seeds}; median [min, max] over seeds\n")
    header = (
        f"{'config':38} {'fed ' + metric:22} {'central':22} {'local':22} {'fed/central':8} "
        f"{'B up/client/rnd':>15} {'MB total':>9} {'eps local':>10} {'eps central':>11} {'s/round':>8}"
    )
    print(header)
    for name, overrides in configs.items():
        runs = []
        for seed in args.seeds:
            cfg = FLConfig(clients=args.clients, rounds=args.rounds, seed=seed, **{**extra, **overrides})
            runs.append(public_report(run_federated(cfg, engine="inprocess")))
        fed = summary([r["federated"][metric] for r in runs])
        cen = summary([r["centralized"][metric] for r in runs])
        loc = summary([r["local_only"][metric] for r in runs])
        ratio = summary([r["federated"][metric] / r["centralized"][metric] for r in runs])
        up = summary([r["communication"]["bytes_up_per_client_round_median"] for r in runs])
        total = summary([r["communication"]["bytes_total"] / 1e6 for r in runs])
        eps_l = summary([r["privacy"]["epsilon_local"] for r in runs])
        eps_c = summary([r["privacy"]["epsilon_central"] for r in runs])
        wall = summary([r["round_wall_s_median"] for r in runs])
        results["configs"][name] = {
            "overrides": overrides,
            f"federated_{metric}": fed,
            f"centralized_{metric}": cen,
            f"local_{metric}": loc,
            "before": runs[0]["before"],
            "federated_accuracy": summary([r["federated"]["accuracy"] for r in runs]),
            "centralized_accuracy": summary([r["centralized"]["accuracy"] for r in runs]),
            "local_accuracy": summary([r["local_only"]["accuracy"] for r in runs]),
            "fed_over_central": ratio,
            "bytes_up_per_client_round": up,
            "bytes_down_per_client_round": runs[0]["communication"]["bytes_down_per_client_round"],
            "mb_total": total,
            "epsilon_local": eps_l,
            "epsilon_central": eps_c,
            "round_wall_s": wall,
            "delta": runs[0]["privacy"]["delta"],
        }
        print(
            f"{name:38} {_fmt(fed):22} {_fmt(cen):22} {_fmt(loc):22} {ratio['median']:8.2f} "
            f"{up['median']:15.0f} {total['median']:9.2f} {eps_l['median']:10.1f} {eps_c['median']:11.2f} "
            f"{wall['median']:8.3f}"
        )
    if not args.no_ray and args.task == "intent":
        t0 = time.perf_counter()
        r = public_report(
            run_federated(FLConfig(clients=args.clients, rounds=args.rounds, quantize="int8"), engine="ray")
        )
        total_s = time.perf_counter() - t0
        walls = [x["wall_s"] for x in r["rounds"]]
        results["ray"] = {
            "round_wall_s": summary(walls),
            "run_s": r["wall_s"],
            "process_s": total_s,
            "federated_macro_f1": r["federated"]["macro_f1"],
        }
        s = summary(walls)
        print(
            f"\nsimulation engine (Ray), fedavg int8: {_fmt(s, 2)} s per round ({args.clients} clients), "
            f"{r['wall_s']:.1f} s for the run incl. Ray start-up, "
            f"federated macro-F1 {r['federated']['macro_f1']:.3f}"
        )
    _write(args.out, "fl", results)


def _router_cv(args: argparse.Namespace) -> None:
    """Router head under K-fold cross-validation over all pairs: every pair is held out once, the devices hold
    the other (K-1)/K; federated P(cloud better) is pooled over the folds for one AUC with a bootstrap CI."""
    import numpy as np

    from frugalstack.edge.fl import model
    from frugalstack.edge.fl.router_data import auc, load_router_corpus

    k = args.cv
    pairs = Path(args.pairs) if args.pairs else None
    folds = [load_router_corpus(pairs, fold=f, folds=k) for f in range(k)]
    sizes = [len(c.y_test) for c in folds]
    y = np.concatenate([c.y_test for c in folds])
    out: dict[str, Any] = {"machine": platform.platform(), "folds": k, "fold_sizes": sizes, "seeds": args.seeds,
                           "clients": args.clients, "rounds": args.rounds, "configs": {}}
    print(f"{k}-fold CV over {len(y)} pairs ({int(y.sum())} cloud-better), fold sizes {sizes}; "
          f"{args.clients} clients, {args.rounds} rounds; median [min, max] over seeds {args.seeds}\n")
    print(f"{'config':38} {'fed AUC pooled':22} {'95% CI (seed 0)':16} {'fed AUC fold-mean':22} "
          f"{'central fold-mean':22} {'local fold-mean':22} {'fed acc pooled':22}")
    rng = np.random.default_rng(0)
    boot = [rng.integers(len(y), size=len(y)) for _ in range(1000)]
    for name, overrides in ROUTER_CONFIGS.items():
        per_seed: dict[str, list[float]] = {"pooled": [], "acc": [], "fed": [], "central": [], "local": []}
        ci = (float("nan"), float("nan"))
        for seed in args.seeds:
            preds, fed, cen, loc = [], [], [], []
            for f in range(k):
                cfg = FLConfig(task="router", pairs=args.pairs, min_examples=4, clients=args.clients,
                               rounds=args.rounds, seed=seed, cv_fold=f, cv_folds=k, **overrides)
                r = run_federated(cfg, engine="inprocess")
                preds.append(model.predict_proba(r["_final_params"], folds[f].x_test)[:, 1])
                fed.append(r["federated"]["auc"])
                cen.append(r["centralized"]["auc"])
                loc.append(r["local_only"]["auc"])
            p = np.concatenate(preds)
            per_seed["pooled"].append(auc(p, y))
            per_seed["acc"].append(float(((p > 0.5) == y).mean()))
            per_seed["fed"].append(float(np.nanmean(fed)))
            per_seed["central"].append(float(np.nanmean(cen)))
            per_seed["local"].append(float(np.nanmean(loc)))
            if seed == args.seeds[0]:
                b = np.array([auc(p[i], y[i]) for i in boot])
                ci = (float(np.nanpercentile(b, 2.5)), float(np.nanpercentile(b, 97.5)))
        row = {key: summary(v) for key, v in per_seed.items()}
        out["configs"][name] = {"overrides": overrides, **row, "pooled_auc_ci95_seed0": ci}
        print(f"{name:38} {_fmt(row['pooled']):22} {f'[{ci[0]:.3f}, {ci[1]:.3f}]':16} {_fmt(row['fed']):22} "
              f"{_fmt(row['central']):22} {_fmt(row['local']):22} {_fmt(row['acc']):22}")
    _write(args.out, "fl-router-cv", out)


#: the robustness arms of ``--task lora-robust``: (name, strategy overrides, poisoned device -> multiplier)
LORA_ARMS: list[tuple[str, dict[str, Any], dict[int, float]]] = [
    ("fedavg, no attack", {}, {}),
    ("fedavg, device 0 sends x(-10)", {}, {0: -10.0}),
    ("robust (norm + trimmed mean), x(-10)", {"strategy": "robust"}, {0: -10.0}),
    ("fedavg, device 0 sends x(-3)", {}, {0: -3.0}),
    ("robust (norm + krum), x(-3)", {"strategy": "robust", "aggregator": "krum"}, {0: -3.0}),
]


def _lora(args: argparse.Namespace) -> None:
    from frugalstack.cloud.fl.lora import LoraFLConfig, run_lora_federated

    cfg = LoraFLConfig(clients=min(args.clients, 4), rounds=min(args.rounds, 2), seed=args.seeds[0])
    r = public_report(run_lora_federated(cfg))
    c = r["communication"]
    print(
        f"LoRA (r={cfg.rank}, v_proj+o_proj, {c['params']} params), {cfg.clients} clients x {cfg.rounds} rounds "
        f"x {cfg.local_steps} steps, {cfg.max_len}-token texts"
    )
    print(
        f"held-out perplexity: before {r['before']['perplexity']:.2f}, federated {r['federated']['perplexity']:.2f}, "
        f"centralized {r['centralized']['perplexity']:.2f}, local-only {r['local_only']['perplexity']:.2f} "
        f"(spread {r['local_only']['perplexity_spread']:.2f})"
    )
    print(
        f"bytes per client per round: {c['bytes_down_per_client_round']:.0f} down, "
        f"{c['bytes_up_per_client_round_median']:.0f} up; wall per round {r['round_wall_s_median']:.1f} s"
    )
    _write(args.out, "fl-lora", r)


def _lora_robust(args: argparse.Namespace) -> None:
    """One poisoned device of four against FedAvg and the robust strategies, on the real SmolLM2."""
    from frugalstack.cloud.fl.lora import LoraFLConfig, run_lora_federated

    base = {"clients": 4, "rounds": min(args.rounds, 2), "local_steps": 2, "texts_per_client": 6, "held_out": 6}
    out: dict[str, Any] = {"machine": platform.platform(), "base": base, "seeds": args.seeds, "arms": {}}
    print(f"LoRA robustness, {base}; held-out perplexity before -> after each round")
    for name, overrides, attacks in LORA_ARMS:
        runs = []
        for seed in args.seeds:
            cfg = LoraFLConfig(**base, max_len=32, lr=3e-3, seed=seed, attacks=attacks, **overrides)
            runs.append(public_report(run_lora_federated(cfg, baselines=False)))
        evals = [[round(float(v["perplexity"]), 1) for _, v in sorted(r["per_round_eval"].items())] for r in runs]
        out["arms"][name] = {"overrides": overrides, "attacks": attacks, "perplexity_per_round": evals,
                             "accepted": [r["participants_per_round"] for r in runs],
                             "rejected": [r["rejected_per_round"] for r in runs],
                             "round_wall_s": [r["round_wall_s_median"] for r in runs]}
        print(f"{name:40} {evals}  accepted {out['arms'][name]['accepted']}")
    _write(args.out, "fl-lora-robust", out)


def _write(folder: Path, prefix: str, data: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
