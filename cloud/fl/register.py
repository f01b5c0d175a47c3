"""Put a federated result in the cloud registry: a run (with lineage) and a model version with the head.

Through the control plane's HTTP API, as an operator tool would: ``/v1/runs`` records the round ids, how
many devices took part in each, the strategy and the privacy figures (ε at δ, noise, clip); the model
version points at that run (the registry links them in lineage), carries the held-out evaluation, and gets
the aggregated head as an ``.npz`` artifact that the OTA manifest can ship to devices.
"""

from __future__ import annotations

import hashlib
import io
import math
from typing import Any

import numpy as np

from frugalstack.shared.errors import FrugalError, MissingDependencyError


def _finite(d: dict[str, Any]) -> dict[str, Any]:
    """JSON has no infinity: ε = ∞ (no noise) is stored as null."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def _ok(r: Any, what: str) -> dict[str, Any]:
    if r.status_code >= 400:
        raise FrugalError(f"registry refused to {what}: HTTP {r.status_code} {r.text[:300]}")
    return dict(r.json())


def head_bytes(params: dict[str, np.ndarray], classes: list[str]) -> bytes:
    buf = io.BytesIO()
    arrays: dict[str, Any] = {"classes": np.array(classes)} | {f"param_{k}": v for k, v in params.items()}
    np.savez(buf, **arrays)
    return buf.getvalue()


CARDS = {
    "intent": (
        "intent head over MiniLM embeddings, trained with federated learning",
        "on-device intent/scope classification for the guardrails",
    ),
    "router": (
        "router head (logistic regression over the MiniLM query embedding + the 10 draft signals) predicting "
        "'the cloud answer is better', trained with federated learning on devices' routing outcomes",
        "on-device edge/cloud routing (LearnedRouter.from_bytes); calibrate its threshold before relying on it",
    ),
}


def artifact_bytes(task: str, params: dict[str, np.ndarray], classes: list[str]) -> bytes:
    """What devices download: the router as a ``LearnedRouter`` file, other heads as class list + arrays."""
    if task == "router":
        from frugalstack.edge.fl.router_data import SIGNAL_MEAN, SIGNAL_STD
        from frugalstack.edge.router.learned import LearnedRouter

        return LearnedRouter.from_softmax(params, SIGNAL_MEAN, SIGNAL_STD).to_bytes()
    return head_bytes(params, classes)


def register_result(
    report: dict[str, Any],
    url: str,
    api_key: str,
    *,
    model_name: str | None = None,
    deploy_profile: str | None = None,
) -> dict[str, Any]:
    """Register ``report`` (from ``run_federated``, with ``_final_params``); returns the ids created.

    ``deploy_profile``: also make this version the profile's router (router task): the profile's active
    deployment is re-issued with ``router_version`` = the new model version id, so it reaches devices through
    their next manifest."""
    try:
        import httpx
    except ImportError:
        raise MissingDependencyError("httpx", "cloud", purpose="registering federated results") from None
    cfg, params = report["config"], report["_final_params"]
    if not any(r.get("accepted") for r in report["rounds"]) or not params:
        # every device died, was dropped or was rejected: the "result" is the untouched (or empty) start model
        raise FrugalError("no round accepted any device update; nothing new to register",
                          hint="check the round report (dropped/rejected) and run again")
    if not all(np.all(np.isfinite(v)) for v in params.values()):
        raise FrugalError("the aggregated model has non-finite values; refusing to register it")
    name = model_name or f"{cfg['task']}-head"
    blob = artifact_bytes(cfg["task"], params, report["classes"])
    description, intended_use = CARDS.get(cfg["task"], CARDS["intent"])
    digest = hashlib.sha256(blob).hexdigest()
    rounds = report["rounds"]
    lineage = {
        "round_ids": [r["round"] for r in rounds],
        "participating_devices": [r["accepted"] for r in rounds],
        "devices_total": cfg["clients"],
        "privacy": _finite(report["privacy"]),
        "strategy": cfg["strategy"],
        "engine": report["engine"],
    }
    metrics = (
        {"federated_" + k: v for k, v in report["federated"].items()}
        | {"centralized_" + k: v for k, v in report["centralized"].items() if k != "examples"}
        | {"bytes_total": report["communication"]["bytes_total"]}
    )
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60) as c:
        r = c.post(
            "/v1/registry/models",
            json={
                "name": name,
                "description": description,
                "intended_use": intended_use,
                "limitations": "trained on the shipped sample queries' distribution; see the run for ε",
            },
        )
        model = _model_or_existing(c, r, name)
        run = _ok(
            c.post("/v1/runs", json={"kind": "federated", "params": {"config": cfg, **lineage}, "metrics": metrics}),
            "create the run",
        )
        version = _ok(
            c.post(
                f"/v1/registry/models/{model['id']}/versions",
                json={"version": f"fl-{digest[:12]}", "base_model": "all-MiniLM-L6-v2", "run_id": run["id"]},
            ),
            "create the version",
        )
        _ok(
            c.post(
                f"/v1/model-versions/{version['id']}/evaluations",
                json={
                    "suite": f"{cfg['task']}-held-out",
                    "metrics": {k: float(v) for k, v in report["federated"].items()},
                    "thresholds": {},
                },
            ),
            "record the evaluation",
        )
        art = upload_artifact(c, version["id"], {"filename": f"{name}.npz", "format": "other", "quantization": None,
                                                 "profiles": []}, blob, digest, "upload the head")
        deployment = _deliver_router(c, version["id"], deploy_profile) if deploy_profile else None
    return {
        "deployment_id": deployment["id"] if deployment else None,
        "model_id": model["id"],
        "run_id": run["id"],
        "model_version_id": version["id"],
        "version": version["version"],
        "artifact_id": art["id"],
        "sha256": digest,
    }


def _model_or_existing(c: Any, created: Any, name: str) -> dict[str, Any]:
    """The model ``created`` made, or the existing one of that name when the registry answered 409."""
    if created.status_code == 409:
        listed: list[dict[str, Any]] = c.get("/v1/registry/models").json()
        return next(m for m in listed if m["name"] == name)
    return _ok(created, "create the model")


def upload_artifact(c: Any, version_id: str, meta: dict[str, Any], content: Any, digest: str,
                    what: str) -> dict[str, Any]:
    """Add an artifact row to a model version and upload its bytes (sha256-checked by the server)."""
    art = _ok(c.post(f"/v1/model-versions/{version_id}/artifacts", json=meta), "add the artifact")
    _ok(c.put(f"/v1/artifacts/{art['id']}/content", content=content,
              headers={"X-Content-SHA256": digest, "Content-Type": "application/octet-stream"}), what)
    return art


def _deliver_router(c: Any, model_version_id: str, profile: str) -> dict[str, Any]:
    """Re-issue ``profile``'s active deployment with the new router version (same model, prompts, guard)."""
    from frugalstack.shared.errors import ConfigError

    active = [
        d for d in _ok_list(c.get("/v1/deployments"), "list deployments") if d["active"] and d["profile"] == profile
    ]
    if not active:
        raise ConfigError(f"no active deployment for profile {profile!r}", hint="deploy the SLM to it first")
    dep = active[-1]
    body = {
        "profile": profile,
        "model_version_id": dep["model_version_id"],
        "prompt_versions": dep.get("prompt_versions") or {},
        "guard_policy": dep.get("guard_policy") or {},
        "router_version": model_version_id,
    }
    return _ok(c.post("/v1/deployments", json=body), "deploy the router version")


def _ok_list(r: Any, what: str) -> list[dict[str, Any]]:
    if r.status_code >= 400:
        raise FrugalError(f"registry refused to {what}: HTTP {r.status_code} {r.text[:300]}")
    return list(r.json())
