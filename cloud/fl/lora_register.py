"""Register a federated LoRA result: the merged GGUF becomes a *candidate* SLM version with lineage.

Through the control plane's HTTP API (``cloud/services``: registry, runs, lineage, artifacts), as an operator
tool would: a ``federated`` run records round ids, devices per round, rejections, strategy/aggregator,
SecAgg, ε at δ and the source GGUF's hash; a model version ``fl-lora-<sha256[:12]>`` of the chat model points
at that run (lineage: run -> version -> artifact), carries the held-out perplexity as an evaluation (gate:
``perplexity_gain`` = before / federated >= 1, i.e. it must not be worse than the model it adapts) and gets
the merged q8_0 GGUF as its artifact. It stays a candidate: devices receive it in their OTA manifest once an
operator stages and deploys it (the registry's approval rules), exactly like any other SLM version.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from frugalstack.cloud.fl.register import _finite, _model_or_existing, _ok, upload_artifact
from frugalstack.optimizers.checkpoint import file_sha256
from frugalstack.shared.errors import FrugalError, MissingDependencyError

CHAT_MODEL = "smollm2-135m-instruct"  # the name the demo seed registers the device SLM under


def register_lora_result(
    report: dict[str, Any],
    url: str,
    api_key: str,
    *,
    model_name: str = CHAT_MODEL,
    profiles: list[str] | None = None,
) -> dict[str, Any]:
    """Register ``report`` (from ``run_lora_federated(..., export_to=...)``); returns the ids created."""
    try:
        import httpx
    except ImportError:
        raise MissingDependencyError("httpx", "cloud", purpose="registering federated results") from None
    exported = report.get("exported_gguf")
    if not exported:
        raise FrugalError("no merged GGUF in the report", hint="run with export_to=... (or --export-gguf)")
    if not any(r.get("accepted") for r in report["rounds"]):
        raise FrugalError("no round accepted any device update; nothing new to register")
    before, fed = report["before"].get("perplexity"), report["federated"].get("perplexity")
    if before is None or fed is None or not math.isfinite(fed):
        raise FrugalError("the federated adapter has no finite held-out perplexity; refusing to register it")
    gguf = Path(exported["path"])
    digest = file_sha256(gguf)
    cfg, rounds = report["config"], report["rounds"]
    lineage = {
        "task": "lora",
        "round_ids": [r["round"] for r in rounds],
        "participating_devices": [r["accepted"] for r in rounds],
        "rejected_devices": [len(r["rejected"]) for r in rounds],
        "devices_total": cfg["clients"],
        "privacy": _finite(report["privacy"]),
        "strategy": cfg["strategy"],
        "aggregator": cfg["aggregator"] if cfg["strategy"] == "robust" else None,
        "secagg": bool(cfg.get("secagg")),
        "engine": report["engine"],
        "adapter": {"targets": report["targets"], "rank": cfg["rank"], "params": report["communication"]["params"]},
        "source_gguf": Path(report["source_gguf"]).name,
        "source_gguf_sha256": file_sha256(Path(report["source_gguf"])),
    }
    metrics = {
        "before_perplexity": before,
        "federated_perplexity": fed,
        "bytes_total": report["communication"]["bytes_total"],
    } | {f"{k}_perplexity": report[k]["perplexity"] for k in ("centralized", "local_only")}
    quant = str(exported.get("format", "q8_0")).upper()
    with httpx.Client(base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {api_key}"}, timeout=300) as c:
        r = c.post(
            "/v1/registry/models",
            json={
                "name": model_name,
                "description": "SmolLM2-135M-Instruct GGUF run by llama.cpp on the device",
                "intended_use": "short grounded answers to shop questions from retrieved records",
                "limitations": "135M parameters; federated LoRA versions are trained on devices' consented text",
            },
        )
        model = _model_or_existing(c, r, model_name)
        run = _ok(
            c.post("/v1/runs", json={"kind": "federated", "params": {"config": cfg, **lineage},
                                     "metrics": _finite(metrics)}),
            "create the run",
        )
        version = _ok(
            c.post(
                f"/v1/registry/models/{model['id']}/versions",
                json={
                    "version": f"fl-lora-{digest[:12]}",
                    "base_model": "HuggingFaceTB/SmolLM2-135M-Instruct",
                    "run_id": run["id"],
                    "optimize_report": {"format": "gguf", "quantization": quant, "source": lineage["source_gguf"],
                                        "merged": "W + (alpha/r) B A on " + "/".join(report["targets"])},
                },
            ),
            "create the version",
        )
        ev = _ok(
            c.post(
                f"/v1/model-versions/{version['id']}/evaluations",
                json={
                    "suite": "lora-held-out",
                    "metrics": {"perplexity": fed, "perplexity_before": before, "perplexity_gain": before / fed},
                    "thresholds": {"perplexity_gain": 1.0},
                    "run_id": run["id"],
                },
            ),
            "record the evaluation",
        )
        with gguf.open("rb") as f:
            art = upload_artifact(c, version["id"], {"filename": gguf.name, "format": "gguf", "quantization": quant,
                                                     "profiles": profiles or []}, f, digest, "upload the merged GGUF")
    return {
        "model_id": model["id"],
        "run_id": run["id"],
        "model_version_id": version["id"],
        "version": version["version"],
        "stage": version.get("stage", "candidate"),
        "evaluation_passed": ev.get("passed"),
        "artifact_id": art["id"],
        "sha256": digest,
    }
