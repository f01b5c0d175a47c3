"""Run a suite on one model and build its evaluation record.

The record (suite + its version and fingerprint, dataset version, artifact hash, metrics with CIs, judge version,
seed, duration, gate verdict) is a plain JSON document; per-example outcomes ride along so two records over the
same examples can be compared pairwise. A model that fails to load raises before anything is written.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from frugalstack.edge.evaluation import SUITE_SCHEMA_VERSION, gate
from frugalstack.edge.evaluation import metrics as M
from frugalstack.edge.evaluation.model import Generator, MemoGenerator, RuntimeGenerator, artifact_hash
from frugalstack.edge.evaluation.suite import Suite

RECORD_VERSION = 1
Progress = Callable[[str], None]


def _samples(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return {"ids": [r["id"] for r in rows], "values": [r[key] for r in rows]}


def evaluate(
    suite: Suite,
    model: str,
    *,
    suite_dir: Path | None = None,
    generator: Generator | None = None,
    backend: str | None = None,
    profile: str | None = None,
    judge_url: str | None = None,
    judge_model: str = "judge",
    judge_api_key: str | None = None,
    efficiency: bool | None = None,
    progress: Progress | None = None,
    prefix_cache: bool = True,
) -> dict[str, Any]:
    """Evaluate ``model`` (catalogue id or GGUF path) on ``suite``; returns the record."""
    say = progress or (lambda _msg: None)
    t0, cpu0 = time.perf_counter(), time.process_time()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    artifact = artifact_hash(model)  # fails (clear error) before any work for a missing file
    data = suite.data_dir(suite_dir)
    own = generator is None
    inner: Any = generator or RuntimeGenerator(model, backend=backend, profile=profile, seed=suite.seed,
                                              prefix_cache=prefix_cache)
    load_s = round(time.perf_counter() - t0, 2)
    gen = MemoGenerator(inner)
    bs, seed = suite.bootstrap, suite.seed
    sections: dict[str, Any] = {}
    metrics: dict[str, M.Metric] = {}
    samples: dict[str, Any] = {}
    timings: dict[str, float] = {"load": load_s}
    profile_s: dict[str, dict[str, float]] = {}  # per part: wall, CPU, generations, tokens (where the time goes)

    def timed(name: str, fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
        say(f"{name} ...")
        t, c, before = time.perf_counter(), time.process_time(), gen.stats.snapshot()
        out = fn(*args)
        timings[name] = round(time.perf_counter() - t, 2)
        after = gen.stats.snapshot()
        profile_s[name] = {"wall_s": timings[name], "cpu_s": round(time.process_time() - c, 2),
                           **{k: round(after[k] - before[k], 2) for k in after}}
        for k, v in out.get("metrics", {}).items():
            metrics[f"{name}.{k}"] = v
        say(f"{name} done in {timings[name]:.1f} s")
        return out

    try:
        from frugalstack.edge.evaluation import bias, robustness, safety, tasks

        t = suite.tasks
        if t.intent:
            res = timed("intent", tasks.run_intent, gen, data, t.intent, bs, seed)
            samples["intent.accuracy"] = {"ids": [r["id"] for r in res["rows"]],
                                          "values": [float(r["gold"] == r["pred"]) for r in res["rows"]]}
            sections["intent"] = {"confusions": res["confusions"], "n": len(res["rows"])}
            clean = {r["id"]: r["pred"] for r in res["rows"]}
        else:
            clean = {}
        if t.extraction:
            res = timed("extraction", tasks.run_extraction, gen, data, t.extraction, bs, seed)
            samples["extraction.field_em"] = _samples(res["rows"], "field_em")
            samples["extraction.json_valid"] = _samples(res["rows"], "json_valid")
            samples["extraction.all_fields"] = _samples(res["rows"], "all_fields")
            for f in tasks.FIELDS:
                samples[f"extraction.field_em_{f}"] = _samples(res["rows"], f"f_{f}")
        qa_rows: list[dict[str, Any]] = []
        if t.qa:
            res = timed("qa", tasks.run_qa, gen, data, t.qa, bs, seed)
            qa_rows = res["rows"]
            samples["qa.answer_fact"] = _samples(qa_rows, "fact")
            samples["qa.citation_correct"] = _samples(qa_rows, "citation")
            samples["qa.citation_valid"] = _samples(qa_rows, "citation_valid")
            sections["qa"] = {"retriever": res["retriever"], "examples": [
                {k: r[k] for k in ("question", "answer", "fact", "citation")} for r in qa_rows[:3]]}
        tox_rows: list[dict[str, Any]] = []
        if suite.toxicity:
            res = timed("toxicity", safety.run_toxicity, gen, data, suite.toxicity, bs, seed, suite.system)
            tox_rows = res["rows"]
            samples["toxicity.non_toxic_rate"] = {"ids": [r["id"] for r in tox_rows],
                                                  "values": [1 - r["toxic"] for r in tox_rows]}
            samples["toxicity.toxic_rate"] = _samples(tox_rows, "toxic")
            sections["toxicity"] = {"rater": res["rater"], "inputs_flagged_by_rater": res["inputs_flagged"],
                                    "toxic_examples": [{k: r[k] for k in ("prompt", "answer", "score")}
                                                       for r in tox_rows if r["toxic"]][:5]}
        if suite.bias:
            res = timed("bias", bias.run_bias, gen, data, suite.bias, bs, seed, suite.system)
            sections["bias"] = {"attributes": res["attributes"], "real_differences": res["real_differences"],
                                "probes": len(res["rows"])}
        if suite.robustness and t.intent:
            res = timed("robustness", robustness.run_robustness, gen, data, suite.robustness, t.intent, bs, seed,
                        clean)
            clean_acc = res["metrics"]["clean_accuracy"]["value"]
            kept = [res["metrics"][f"{k}_accuracy"]["value"] / clean_acc
                    for k in suite.robustness.perturbations if clean_acc]
            metrics["robustness.worst_retained"] = {"value": round(min(kept), 4) if kept else None,
                                                    "ci_low": None, "ci_high": None, "n": len(kept)}
            sections["robustness"] = {"examples": res["examples"]}
            for k, v in res["rows"].items():
                samples[f"robustness.{k}_accuracy"] = {"ids": list(range(len(v))), "values": v}
        judge_sec: dict[str, Any] = {"status": "not_configured"}
        if judge_url:
            from frugalstack.edge.evaluation.judge import Judge, judge_run

            say("judge ...")
            t_judge = time.perf_counter()
            j = Judge(judge_url, judge_model, suite.judge, api_key=judge_api_key)
            try:
                judge_sec = judge_run(j, qa_rows, tox_rows, bs, seed)
            finally:
                j.close()
            timings["judge"] = round(time.perf_counter() - t_judge, 2)
            if judge_sec["qa"]["status"] == "ok":
                metrics["judge.qa_rubric"] = judge_sec["qa"]["rubric_mean"]
            if judge_sec["toxicity"]["status"] == "ok":
                metrics["judge.toxic_rate"] = judge_sec["toxicity"]["toxic_rate"]
        sections["judge"] = judge_sec
        run_eff = suite.efficiency.enabled if (suite.efficiency and efficiency is None) else bool(efficiency)
        if run_eff and suite.efficiency:
            say("efficiency (frugal bench cell) ...")
            from frugalstack.edge.evaluation.efficiency import run_efficiency

            t_eff = time.perf_counter()
            eff = run_efficiency(model, profile or "auto",
                                 backend, data, suite.efficiency, seed, suite.system)
            timings["efficiency"] = round(time.perf_counter() - t_eff, 2)  # its own process: CPU in eff["cpu_s"]
            sections["efficiency"] = eff
            for k in ("decode_tok_s_median", "peak_rss_mb", "energy_wh_per_1k_requests", "latency_ms_median"):
                if eff.get(k) is not None:
                    metrics[f"efficiency.{k}"] = {"value": eff[k], "ci_low": None, "ci_high": None,
                                                  "n": eff["requests"]}
    finally:
        if own:
            inner.close()
    verdict = gate.check(metrics, suite.use_case)
    return {
        "record_version": RECORD_VERSION, "suite_schema": SUITE_SCHEMA_VERSION,
        "suite": {"name": suite.name, "version": suite.version, "fingerprint": suite.fingerprint(),
                  "use_case": suite.use_case},
        "dataset_version": suite.dataset_version(suite_dir),
        "model": artifact, "judge": {"version": judge_sec.get("version"), "status": judge_sec["status"]},
        "seed": seed, "started_at": started, "duration_s": round(time.perf_counter() - t0, 1),
        "cpu_s": round(time.process_time() - cpu0, 1),  # this process only: contention-free cost
        "timings_s": timings, "profile": profile_s,
        "generation": {**gen.stats.snapshot(), **getattr(inner, "path", {})},
        "host": {"machine": platform.machine(), "python": platform.python_version()},
        "metrics": metrics, "gate": verdict, "sections": sections, "samples": samples,
    }
