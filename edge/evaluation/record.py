"""Evaluation records: save/load, compare two of them, and post one to the cloud registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from frugalstack.edge.evaluation import gate
from frugalstack.edge.evaluation import metrics as M
from frugalstack.shared.errors import ConfigError, FrugalError, NotFoundError

HEADLINE = ("intent.accuracy", "intent.macro_f1", "extraction.json_valid", "extraction.field_em", "qa.answer_fact",
            "qa.citation_correct", "toxicity.non_toxic_rate", "robustness.worst_retained",
            "bias.min_disparity_ratio", "judge.qa_rubric")
#: Lower is better for these (a positive delta is a regression).
LOWER_BETTER = ("toxicity.toxic_rate", "judge.toxic_rate", "efficiency.peak_rss_mb",
                "efficiency.energy_wh_per_1k_requests", "efficiency.latency_ms_median", "bias.significant_disparities")


def save(record: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)  # never a half-written record


def load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise NotFoundError(f"evaluation record {path} not found")
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not a JSON evaluation record: {exc}") from exc
    if not isinstance(rec, dict) or "metrics" not in rec:
        raise ConfigError(f"{path} is not an evaluation record (no metrics)")
    return rec


def flat_metrics(record: dict[str, Any], limit: int = 100) -> dict[str, float]:
    """``name -> value`` (plus ``name.ci_low/.ci_high`` for headline metrics), at most ``limit`` keys."""
    out: dict[str, float] = {"seed": float(record["seed"]), "duration_s": float(record["duration_s"])}
    for name, m in record["metrics"].items():
        if m.get("value") is not None:
            out[name] = float(m["value"])
    for name in HEADLINE:
        m = record["metrics"].get(name) or {}
        for b in ("ci_low", "ci_high"):
            if m.get(b) is not None and len(out) < limit:
                out[f"{name}.{b}"] = float(m[b])
    return dict(list(out.items())[:limit])


def compare(a: dict[str, Any], b: dict[str, Any], resamples: int = 2000) -> list[dict[str, Any]]:
    """Per metric: A, B, B - A and whether the delta is significant (paired bootstrap over the same examples
    when both records carry them, else from the two CIs)."""
    rows = []
    for name in sorted(set(a["metrics"]) | set(b["metrics"])):
        ma, mb = a["metrics"].get(name) or {}, b["metrics"].get(name) or {}
        sa, sb = a.get("samples", {}).get(name), b.get("samples", {}).get(name)
        method = "unpaired (CIs)"
        if sa and sb and sa["ids"] == sb["ids"]:
            d = M.paired_delta(sa["values"], sb["values"], resamples=resamples, seed=0)
            method = "paired bootstrap"
        elif ma.get("ci_low") is not None and mb.get("ci_low") is not None:
            d = M.unpaired_delta(ma, mb)
        else:
            va, vb = ma.get("value"), mb.get("value")
            d = {"value": None if va is None or vb is None else round(vb - va, 4), "significant": None}
            method = "no interval"
        worse = None
        if d.get("significant"):
            worse = (d["value"] > 0) if name in LOWER_BETTER else (d["value"] < 0)
        rows.append({"metric": name, "a": ma.get("value"), "b": mb.get("value"), "delta": d.get("value"),
                     "ci": [d.get("ci_low"), d.get("ci_high")], "significant": d.get("significant"),
                     "b_worse": worse, "method": method})
    return rows


def upload(record: dict[str, Any], url: str, model_version_id: str, api_key: str | None,
           thresholds: dict[str, float] | None = None) -> dict[str, Any]:
    """Post the record: a Run (kind ``evaluation``: every string field and all metrics with CIs) and an Evaluation
    on the model version (flat metrics; the registry applies the use case's shipped thresholds)."""
    import httpx

    if not api_key:
        raise ConfigError("uploading needs an API key", hint="pass --api-key or set FRUGAL_API_KEY")
    params = {"suite": record["suite"]["name"], "suite_version": record["suite"]["version"],
              "suite_fingerprint": record["suite"]["fingerprint"], "use_case": record["suite"]["use_case"],
              "dataset_version": record["dataset_version"], "model": record["model"]["id"],
              "artifact_sha256": record["model"]["sha256"], "quantization": record["model"]["quantization"],
              "judge_version": record["judge"]["version"], "judge_status": record["judge"]["status"],
              "seed": record["seed"], "started_at": record["started_at"], "duration_s": record["duration_s"],
              "model_version_id": model_version_id}
    suite = f"{gate.RECORD_PREFIX}{record['suite']['name']}@{record['suite']['version']}"
    headers = {"Authorization": f"Bearer {api_key}"}
    try:
        with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=30) as c:
            r = c.post("/v1/runs", json={"kind": "evaluation", "params": params, "metrics": record["metrics"]})
            _raise(r, "recording the evaluation run")
            run_id = r.json()["id"]
            body = {"suite": suite, "metrics": flat_metrics(record),
                    "thresholds": thresholds or record["gate"]["thresholds"], "run_id": run_id}
            r = c.post(f"/v1/model-versions/{model_version_id}/evaluations", json=body)
            _raise(r, "recording the evaluation")
            return {"run_id": run_id, "evaluation": r.json()}
    except httpx.HTTPError as exc:
        raise FrugalError(f"could not reach the registry at {url}: {exc}") from exc


def _raise(r: Any, what: str) -> None:
    if r.status_code >= 400:
        try:
            msg = r.json().get("error", {}).get("message") or r.text
        except ValueError:
            msg = r.text
        raise FrugalError(f"registry refused {what} (HTTP {r.status_code}): {msg}")
