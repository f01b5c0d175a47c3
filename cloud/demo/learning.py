"""Steps 4 and 5 of the demo: a federated round of the router head, then distillation (or its last run).

The federated round runs Flower's real ServerApp/ClientApp pair over the in-process grid (no Ray start-up)
with clipping, Gaussian noise and int8 updates; the aggregated head is registered with its lineage and ε,
and every fleet profile's deployment is re-issued with the new ``router_version`` so devices pick it up
from their next signed manifest.
"""

from __future__ import annotations

import contextlib
import importlib
import math
from pathlib import Path
from typing import Any

import httpx

from frugalstack.cloud.demo.server import ok


def _finite(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and math.isfinite(float(x)) else None


def federated_round(base: str, key: str, *, clients: int = 10, rounds: int = 2, seed: int = 0) -> dict[str, Any]:
    """Run and register a round; ``task`` says whether it was the router head or (fallback) the intent head."""
    import logging

    from frugalstack.shared.errors import FrugalError

    note = ""
    rep: dict[str, Any] = {}
    with contextlib.suppress(ImportError):
        import flwr.common  # noqa: F401  (importing flwr sets its logger to DEBUG: quieten it after that)
    logging.getLogger("flwr").setLevel(logging.ERROR)  # the demo prints its own progress and results
    try:
        from frugalstack.cloud.fl.router_round import run_router_round

        rep = run_router_round(base, key, clients=clients, rounds=rounds, seed=seed)
        task = "router"
    except ImportError:
        note = "this tree has no router round (frugalstack.cloud.fl.router_round); the intent head ran instead"
    except FrugalError as exc:
        note = f"the router round could not run ({exc.message}); the intent head ran instead"
    if not rep:  # the intent head is the federated task every tree has
        from frugalstack.cloud.fl.register import register_result
        from frugalstack.cloud.fl.server import FLConfig
        from frugalstack.cloud.fl.simulate import public_report, run_federated

        full = run_federated(FLConfig(task="intent", clients=clients, rounds=rounds, clip=1.0, noise_multiplier=0.5,
                                      quantize="int8", seed=seed), engine="inprocess")
        rep = public_report(full) | {"registered": register_result(full, base, key, model_name="intent-head")}
        task = "intent"
    priv = rep.get("privacy", {})
    return {
        "task": task,
        "clients": clients,
        "rounds": rounds,
        "before": rep.get("before", {}),
        "after": rep.get("federated", {}),
        "centralized": rep.get("centralized", {}),
        "local_only": rep.get("local_only", {}),
        "epsilon": _finite(priv.get("epsilon_local")),  # each device adds all its noise (local DP)
        "epsilon_central": _finite(priv.get("epsilon_central")),
        "delta": priv.get("delta"),
        "noise_multiplier": priv.get("noise_multiplier"),
        "clip": priv.get("clip"),
        "bytes_up_per_client_round": rep.get("communication", {}).get("bytes_up_per_client_round_median"),
        "wall_s": rep.get("wall_s"),
        "registered": rep.get("registered", {}),
        "note": note,
    }


GATE_METRICS = ("auc", "macro_f1")


def improved(fl: dict[str, Any]) -> bool:
    """Whether the new head may be deployed: no worse on the held-out pairs in AUC and macro-F1, better in one.

    One DP-noised round over 10 small simulated devices is as likely to hurt as to help on some seeds (measured:
    AUC after 2 rounds 0.39-0.76 over seeds 0-29, <= 0.5 on 6 of them), so the demo gates it like production.
    """
    before, after = fl.get("before", {}), fl.get("after", {})
    pairs = [(before.get(k), after.get(k)) for k in GATE_METRICS]
    if not all(isinstance(b, int | float) and isinstance(a, int | float) for b, a in pairs):
        return False
    return all(a >= b for b, a in pairs) and any(a > b for b, a in pairs)


def redeploy_router(base: str, key: str, chat_version_id: str, profiles: list[str], router_version: str) -> None:
    """Re-issue each profile's deployment with the new router version (what the next manifest carries)."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
        for profile in profiles:
            ok(c.post("/v1/deployments", json={"profile": profile, "model_version_id": chat_version_id,
                                               "router_version": router_version,
                                               "prompt_versions": {"rag-answer": "1"}}), f"redeploy {profile}")


DISTILL_HOWTO = ("`frugal demo --distill` (a tiny run of the shipped config) or, in a checkout, "
                 "`frugal distill run cloud/distill/configs/demo.yaml` (`frugal distill configs` lists the configs)")


def distillation(base: str, key: str, workdir: Path, *, run: bool) -> dict[str, Any]:
    """With ``run``: a tiny run of the shipped demo config (8 examples per task, 4 steps), registered in this
    cloud; without (the default, it takes minutes on 2 cores): the last registered distillation run."""
    out: dict[str, Any] = {"ran": False, "howto": DISTILL_HOWTO}
    try:
        mod = importlib.import_module("frugalstack.cloud.distill")
    except ImportError:
        mod = None
        out["note"] = "frugalstack.cloud.distill is not in this tree"
    pipeline = getattr(mod, "run_pipeline", None)
    if run and callable(pipeline):
        import os

        import yaml

        cfg = yaml.safe_load((Path(mod.__file__).parent / "configs" / "demo.yaml").read_text())  # type: ignore[union-attr,arg-type]
        cfg["name"] = "demo-fleet"
        cfg["data"]["limit_per_task"] = 8
        cfg["train"].update(max_steps=4, eval_every=2)
        cfg["cloud"] = {"url": base, "register": True, "api_key_env": "FRUGAL_DEMO_DISTILL_KEY"}
        os.environ["FRUGAL_DEMO_DISTILL_KEY"] = key
        try:
            result = pipeline(cfg, workdir=workdir)
            return out | {"ran": True, "result": {k: result.get(k) for k in ("summary", "registry", "timings_s")}}
        except Exception as exc:  # a failed optional step is reported, the demo goes on
            out["note"] = f"the tiny distillation run failed: {type(exc).__name__}: {str(exc)[:200]}"
    elif mod is not None:
        out["note"] = "skipped by default: it takes minutes on 2 cores"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
        runs = [r for r in ok(c.get("/v1/runs"), "list runs") if "distill" in str(r.get("kind", ""))]
    out["last_run"] = runs[-1] if runs else None
    return out
