"""Run a suite: every (model, profile, workload) cell, aggregated with medians, spreads and methods."""

from __future__ import annotations

import json
import logging
import statistics
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from frugalstack.edge.bench import costs, project
from frugalstack.edge.bench.environment import describe
from frugalstack.edge.bench.measure import CellSpec, run_cell
from frugalstack.edge.bench.suite import ModelEntry, Suite, Workload
from frugalstack.shared.errors import ConfigError

log = logging.getLogger("frugalstack.bench")

FIXED_TEXT = (
    "Our store sells backpacks, running shoes, headphones, coffee machines and garden tools. Customers ask about "
    "prices, delivery times, returns and warranties, and compare products before they buy. "
)


def _prompts(w: Workload, base: Path) -> list[str]:
    if w.kind == "fixed":
        words = (FIXED_TEXT * (w.prompt_tokens // 20 + 2)).split()
        return [" ".join(words[: max(1, int(w.prompt_tokens * 0.75))]) + "\nContinue this text:"]
    prompts = list(w.prompts)
    if w.prompts_file:
        path = Path(w.prompts_file)
        if not path.is_absolute():
            path = base / path
        if not path.exists():
            raise ConfigError(f"workload {w.name}: prompts file {path} not found")
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                prompts.append(row.get("text") or row.get("query") or row["prompt"])
    return prompts[: w.limit] if w.limit else prompts


def _derive(entry: ModelEntry, cache: Path) -> str:
    """Make (once) a GGUF in another quantization with llama.cpp's own quantizer."""
    assert entry.derive is not None
    from frugalstack.edge.catalog import get_spec, resolve_path

    src = resolve_path(get_spec(entry.derive.source))
    out = cache / f"{src.stem}.{entry.derive.quantization}.gguf"
    if out.exists():
        return str(out)
    import os

    from frugalstack.optimizers.gguf_export import quantize_gguf

    # one quantizer for optimize, bench and eval; it writes a temp file and renames it (atomic)
    return str(quantize_gguf(src, out, entry.derive.quantization, threads=len(os.sched_getaffinity(0))))


def _q(values: list[float], q: float) -> float:
    vals = sorted(values)
    if len(vals) == 1:
        return vals[0]
    return statistics.quantiles(vals, n=100, method="inclusive")[int(q) - 1]


def aggregate(cell: dict[str, Any], suite: Suite, host: dict[str, float], g_per_kwh: float | None,
              cells: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    reqs = cell["requests"]
    ttft = [r["ttft_ms"] for r in reqs]
    lat = [r["latency_ms"] for r in reqs]
    dec = [r["decode_tok_s"] for r in reqs if r["decode_tok_s"]]
    pre = [r["prefill_tok_s"] for r in reqs if r["prefill_tok_s"]]
    out_tok = sum(r["output_tokens"] for r in reqs)
    in_tok = sum(r["input_tokens"] for r in reqs)
    dec_med = statistics.median(dec) if dec else 0.0
    spread = 100 * (_q(dec, 75) - _q(dec, 25)) / dec_med if len(dec) > 1 and dec_med else 0.0
    n = len(reqs)
    e = cell.get("energy", {})
    kwh = e.get("kwh")
    indep = costs.cpu_time_energy_kwh(cell["cpu_s"])
    agg: dict[str, Any] = {
        "requests": n, "input_tokens": in_tok, "output_tokens": out_tok,
        "ttft_ms_p50": _q(ttft, 50), "ttft_ms_p95": _q(ttft, 95),
        "latency_ms_p50": _q(lat, 50), "latency_ms_p95": _q(lat, 95),
        "decode_tok_s_median": dec_med, "decode_tok_s_p25": _q(dec, 25) if dec else None,
        "decode_tok_s_p75": _q(dec, 75) if dec else None, "decode_spread_pct": spread,
        "prefill_tok_s_median": statistics.median(pre) if pre else None,
        "peak_rss_mb": cell["peak_rss_mb"], "model_rss_mb": cell.get("model_rss_mb"),
        "load_s": cell["load_s"], "cpu_s": cell["cpu_s"], "wall_s": cell["wall_s"],
        "unstable": spread > suite.max_spread_pct,
        "energy_method": e.get("method"),
        "wh_per_1k_tokens": kwh * 1000 / out_tok * 1000 if kwh and out_tok else None,
        "joules_per_token": kwh * 3.6e6 / out_tok if kwh and out_tok else None,
        "cpu_wh_per_1k_tokens_independent": indep * 1000 / out_tok * 1000 if out_tok else None,
        "independent_method": f"CPU time x {costs.CCF_MAX_W_PER_VCPU} W per busy vCPU (Cloud Carbon Footprint)",
        "codecarbon_vs_independent_cpu": e["cpu_kwh"] / indep if e.get("cpu_kwh") and indep else None,
        "g_co2e_per_1k_requests": kwh / n * 1000 * g_per_kwh if kwh and g_per_kwh else None,
    }
    share = costs.hybrid_share(cell, cells if cells is not None else [cell], suite)
    agg["cost"] = costs.request_costs(suite, kwh / n if kwh else None, in_tok / n, out_tok / n, cell["wall_s"] / n,
                                      share)
    agg["projections"] = [
        project.project(dec_med, agg["prefill_tok_s_median"], host, p) for p in suite.projection_profiles
    ] if dec_med else []
    return agg


def add_quality(cells: list[dict[str, Any]], suite: Suite) -> None:
    """Quality proxy: similarity of each model's greedy answers to the reference model's, prompt by prompt."""
    from difflib import SequenceMatcher

    ref_labels = {m.label for m in suite.models if m.reference}
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for c in cells:
        if c["ok"]:
            groups.setdefault((c["spec"]["profile"], c["spec"]["workload"]), []).append(c)
    for group in groups.values():
        ref = next((c for c in group if c["spec"]["model_label"] in ref_labels), group[0])
        ref_texts = {r["prompt_index"]: r["text"] for r in ref["requests"] if r["repetition"] == 0}
        for c in group:
            texts = {r["prompt_index"]: r["text"] for r in c["requests"] if r["repetition"] == 0}
            scores = [SequenceMatcher(None, texts[i], ref_texts[i]).ratio() for i in texts if i in ref_texts]
            c["summary"]["quality_vs_reference"] = statistics.fmean(scores) if scores else None
            c["summary"]["quality_reference"] = ref["spec"]["model_label"]
            c["summary"]["quality_method"] = (
                "proxy: mean difflib similarity of greedy answers to the reference model's answers (first repetition)"
            )


def run_suite(suite: Suite, suite_path: Path, out: Path, cache: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    env = describe(suite.seed)
    host = {"memory_bandwidth_gbs": project.host_memory_bandwidth_gbs(), "gflops": project.host_gflops()}
    env["host_probe"] = host
    workloads = [(w, _prompts(w, suite_path.parent)) for w in suite.workloads]
    cells: list[dict[str, Any]] = []
    plan = [(m, p, w, prompts) for m in suite.models for p in suite.profiles for w, prompts in workloads]
    total = sum(len(pr) * suite.repetitions for *_, pr in plan)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("benchmark", total=total)
        for entry, profile, w, prompts in plan:
            progress.update(task, description=f"{entry.label} / {profile} / {w.name}")
            try:
                model = _derive(entry, cache) if entry.derive else entry.model
            except Exception as exc:
                cells.append({"spec": {"model_label": entry.label, "profile": profile, "workload": w.name},
                              "ok": False, "error": f"could not prepare the model: {exc}"})
                progress.advance(task, len(prompts) * suite.repetitions)
                continue
            assert model is not None
            spec = CellSpec(model=model, model_label=entry.label, backend=entry.backend, profile=profile,
                            workload=w.name, prompts=prompts, system=w.system, max_tokens=w.max_tokens,
                            ignore_eos=w.kind == "fixed", chat=w.kind == "chat", repetitions=suite.repetitions,
                            warmup=suite.warmup, seed=suite.seed, country_iso_code=suite.grid.country_iso_code,
                            route_policy=suite.routing.policy, route_threshold=suite.routing.threshold)
            before = progress.tasks[0].completed
            res = run_cell(spec, on_request=lambda: progress.advance(task))
            progress.update(task, completed=before + len(prompts) * suite.repetitions)
            cells.append({**res.__dict__})
    ok = [c for c in cells if c["ok"]]
    g_per_kwh, g_source = costs.intensity_g_per_kwh(suite, ok)
    for c in ok:
        c["summary"] = aggregate(c, suite, host, g_per_kwh, ok)
    add_quality(cells, suite)
    results = {"suite": suite.model_dump(mode="json"), "environment": env,
               "grid": {"g_co2_per_kwh": g_per_kwh, "source": g_source}, "cells": cells}
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    return results
