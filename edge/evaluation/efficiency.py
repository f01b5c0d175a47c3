"""Efficiency of the same artifact through ``frugal bench``'s cell runner, so cost sits beside quality.

The cell runs in its own process (peak RSS means that model's peak) on the suite's QA prompts, with energy
from codecarbon (an estimate on hosts without energy counters; the method is kept in the record).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from frugalstack.edge.evaluation.suite import EfficiencyCfg
from frugalstack.edge.evaluation.tasks import read_jsonl


def run_efficiency(model: str, profile: str, backend: str | None, data: Path, cfg: EfficiencyCfg, seed: int,
                   system: str | None) -> dict[str, Any]:
    from frugalstack.edge.bench.measure import CellSpec, run_cell

    if (data / "qa.jsonl").exists():
        prompts = [q["question"] for q in read_jsonl(data / "qa.jsonl")]
    elif (data / "queries-test.jsonl").exists():  # the sample dataset's queries
        prompts = [q["query"] for q in read_jsonl(data / "queries-test.jsonl")]
    else:
        prompts = [q["question"] for q in read_jsonl(Path(__file__).with_name("data") / "qa.jsonl")]
    prompts = prompts[: cfg.requests]
    spec = CellSpec(model=model, model_label=model, backend=backend, profile=profile, workload="eval-qa",
                    prompts=prompts, system=system, max_tokens=cfg.max_tokens, ignore_eos=False, chat=False,
                    repetitions=1, warmup=1, seed=seed, country_iso_code=None)
    cell = run_cell(spec)
    if not cell.ok:
        return {"status": "failed", "error": cell.error}
    reqs = cell.requests
    dec = [r["decode_tok_s"] for r in reqs if r["decode_tok_s"]]
    kwh = cell.energy.get("kwh")
    n = len(reqs)
    return {
        "status": "ok", "requests": n, "threads": cell.threads,
        "decode_tok_s_median": round(statistics.median(dec), 2) if dec else None,
        "latency_ms_median": round(statistics.median(r["latency_ms"] for r in reqs), 1) if reqs else None,
        "output_tokens_per_request": round(sum(r["output_tokens"] for r in reqs) / n, 1) if n else None,
        "peak_rss_mb": round(cell.peak_rss_mb, 1), "model_rss_mb": round(cell.model_rss_mb, 1),
        "load_s": round(cell.load_s, 3), "cell_cpu_s": round(cell.cpu_s, 2), "cell_wall_s": round(cell.wall_s, 2),
        "energy_wh_per_1k_requests": round(kwh * 1000 * 1000 / n, 3) if kwh is not None and n else None,
        "energy_method": cell.energy.get("method"),
    }
