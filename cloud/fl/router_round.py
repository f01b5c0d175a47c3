"""One call for a demo or an operator job: federated round(s) of the router head, in process, then registered.

Runs the real ServerApp/ClientApp pair over the in-process grid (no Ray start-up: a round of 10 devices
takes well under a second), with clipping + Gaussian noise and int8 updates by default, and, given a cloud
URL and a writer key, registers the aggregated head as a ``router-head`` model version with lineage (round
ids, devices per round, ε at δ) and optionally re-issues a profile's deployment so the new router version
reaches devices in their next manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from frugalstack.cloud.fl.server import FLConfig
from frugalstack.cloud.fl.simulate import public_report, run_federated


def run_router_round(
    cloud_url: str | None = None,
    api_key: str | None = None,
    *,
    clients: int = 10,
    rounds: int = 1,
    fraction: float = 1.0,
    pairs: str | Path | None = None,
    clip: float = 1.0,
    noise: float = 0.5,
    quantize: str = "int8",
    local_steps: int = 20,
    lr: float = 2.0,
    seed: int = 0,
    deploy_profile: str | None = None,
    initial: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train the router head federatedly and (with ``cloud_url`` + ``api_key``) register it.

    Returns the public report (before/after metrics on held-out pairs, federated vs centralized vs
    local-only, bytes per client per round, ε, wall time) with ``"registered"`` (ids, version, deployment)
    when registered and ``"params"`` (the aggregated head, to pass back as ``initial`` next time).
    """
    cfg = FLConfig(
        task="router",
        clients=clients,
        rounds=rounds,
        fraction=fraction,
        clip=clip,
        noise_multiplier=noise,
        quantize=quantize,
        local_steps=local_steps,
        lr=lr,
        min_examples=2,
        mean_size=16,
        devices=False,
        seed=seed,
        pairs=str(pairs) if pairs else None,
    )
    full = run_federated(cfg, engine="inprocess", initial=initial)
    out = public_report(full)
    out["params"] = full["_final_params"]
    if cloud_url and api_key:
        from frugalstack.cloud.fl.register import register_result

        out["registered"] = register_result(
            full, cloud_url, api_key, model_name="router-head", deploy_profile=deploy_profile
        )
    return out
