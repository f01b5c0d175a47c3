"""Register a distilled student in the cloud registry over its HTTP API, with lineage:
dataset version -> distillation run (teacher, config, metrics) -> model version -> artifact (signed GGUF)
-> evaluation record -> stage gate -> optional deployment to a device profile (devices see it in their manifest)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from frugalstack.shared.errors import UpstreamError


def _ok(r: Any, what: str) -> dict[str, Any]:
    if r.status_code >= 300:
        raise UpstreamError(f"registry: {what} failed with HTTP {r.status_code}: {r.text[:300]}")
    return dict(r.json())


def register(url: str, key: str, *, model_name: str, version: str, run_params: dict[str, Any],
             run_metrics: dict[str, Any], dataset_version_ids: list[str], gguf: Path | None, quant: str,
             metrics: dict[str, float], thresholds: dict[str, float], energy: dict[str, Any],
             profiles: list[str], promote_to: str, deploy_profile: str | None = None,
             description: str = "") -> dict[str, Any]:
    import httpx

    ids: dict[str, Any] = {}
    with httpx.Client(base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {key}"}, timeout=300) as c:
        existing = [m for m in _list(c.get("/v1/registry/models")) if m["name"] == model_name]
        model = existing[0] if existing else _ok(c.post("/v1/registry/models", json={
            "name": model_name, "description": description,
            "intended_use": "shop tasks: intent classification of customer messages, product attribute extraction",
            "limitations": "distilled from a small local teacher; English only; see the run's metrics"}), "model")
        ids["model_id"] = model["id"]
        run = _ok(c.post("/v1/runs", json={"kind": "distillation", "params": run_params, "metrics": run_metrics,
                                           "dataset_version_ids": dataset_version_ids}), "run")
        ids["run_id"] = run["id"]
        mv = _ok(c.post(f"/v1/registry/models/{model['id']}/versions", json={
            "version": version, "base_model": run_params.get("student", {}).get("base"), "run_id": run["id"],
            "optimize_report": {"distillation": run_metrics.get("summary", {})}, "energy": energy}), "model version")
        ids["model_version_id"] = mv["id"]
        if gguf is not None:
            art = _ok(c.post(f"/v1/model-versions/{mv['id']}/artifacts", json={
                "filename": gguf.name, "format": "gguf", "quantization": quant, "profiles": profiles}), "artifact")
            sha = hashlib.sha256(gguf.read_bytes()).hexdigest()
            _ok(c.put(f"/v1/artifacts/{art['id']}/content", content=gguf.read_bytes(),
                      headers={"X-Content-SHA256": sha, "Content-Type": "application/octet-stream"}), "upload")
            ids["artifact_id"] = art["id"]
        ev = _ok(c.post(f"/v1/model-versions/{mv['id']}/evaluations", json={
            "suite": "distill-heldout", "metrics": metrics, "thresholds": thresholds, "run_id": run["id"]}),
            "evaluation")
        ids["evaluation_passed"] = ev["passed"]
        stage = "candidate"
        if promote_to == "staging" and ev["passed"]:
            stage = _ok(c.post(f"/v1/model-versions/{mv['id']}/stage", json={"stage": "staging"}), "stage")["stage"]
        ids["stage"] = stage
        if deploy_profile and stage == "staging":
            dep = _ok(c.post("/v1/deployments", json={"profile": deploy_profile, "model_version_id": mv["id"]}),
                      "deployment")
            ids["deployment_id"] = dep["id"]
    return ids


def _list(r: Any) -> list[dict[str, Any]]:
    if r.status_code >= 300:
        raise UpstreamError(f"registry: listing failed with HTTP {r.status_code}: {r.text[:300]}")
    return list(r.json())
