"""``run_pipeline``: data -> teacher -> student -> evaluation -> GGUF export -> registry, in one call.

Every stage writes into the run's work folder, so a rerun after a kill reuses the teacher cache and the
last training checkpoint instead of starting over.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from frugalstack.cloud.distill.config import DistillConfig, load_config
from frugalstack.cloud.distill.data import load_examples, split
from frugalstack.cloud.distill.evaluate import energy_meter, score
from frugalstack.cloud.distill.executor import predict_shard, run_shards, shard, teacher_shard
from frugalstack.cloud.distill.tasks import TASKS, Example
from frugalstack.cloud.distill.teacher import messages_for

log = logging.getLogger("frugalstack.distill")
Event = Callable[[str, dict[str, Any]], None]


def default_workdir(cfg: DistillConfig) -> Path:
    from frugalstack.edge.settings import EdgeSettings

    return (cfg.workdir or EdgeSettings().home / "distill" / cfg.name).expanduser()


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str))
    tmp.replace(path)


def run_pipeline(config: DistillConfig | Path | str | dict[str, Any], *, workdir: Path | None = None,
                 on_event: Event | None = None, stop_after_steps: int | None = None) -> dict[str, Any]:
    """Run the whole loop; returns the result (also written to ``<workdir>/result.json``).

    ``on_event(stage, info)`` is called at each stage (the jobs API and the CLI show it);
    ``stop_after_steps`` leaves training early (tests simulate an interrupted run with it).
    """
    cfg = config if isinstance(config, DistillConfig) else load_config(config)
    work = (workdir or default_workdir(cfg)).expanduser()
    work.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    timings: dict[str, float] = {}

    def event(stage: str, /, **info: Any) -> None:
        log.info("%s %s", stage, info)
        if on_event:
            on_event(stage, info)

    def timed(name: str, t0: float) -> None:
        timings[name] = round(time.perf_counter() - t0, 2)

    _write_json(work / "config.json", cfg.model_dump(mode="json"))
    # 1. data
    t0 = time.perf_counter()
    loaded = load_examples(cfg, work)
    splits = {t: split(exs, cfg.data.dev_fraction, cfg.data.test_fraction) for t, exs in loaded.examples.items()}
    event("data", source=loaded.source, skipped=len(loaded.skipped),
          sizes={t: {k: len(v) for k, v in s.items()} for t, s in splits.items()})
    timed("data", t0)
    # 2. teacher
    t0 = time.perf_counter()
    shots = {t: s["train"][: cfg.teacher.few_shot] for t, s in splits.items()}
    everything = [e for s in splits.values() for part in ("train", "dev", "test") for e in s[part]]
    base_url = cfg.teacher.base_url or (cfg.cloud.url.rstrip("/") + "/v1" if cfg.cloud.url else None)
    shard_args = [{"teacher": cfg.teacher.model_dump(mode="json"), "base_url": base_url,
                   "api_key": os.environ.get(cfg.teacher.api_key_env), "cache": str(work / "teacher-cache.sqlite"),
                   "examples": part, "shots": shots, "threads": cfg.train.threads}
                  for part in shard(everything, cfg.ray_workers if cfg.executor == "ray" else 1)]
    answers: dict[str, dict[str, Any]] = {}
    tstats: dict[str, Any] = {}
    for got, st in run_shards(teacher_shard, shard_args, cfg.executor, cfg.ray_workers):
        answers.update(got)
        for k, v in st.items():
            tstats[k] = tstats.get(k, [] if isinstance(v, list) else 0) + v
    event("teacher", answered=len(answers), of=len(everything), **{k: v for k, v in tstats.items()
                                                                     if k != "skipped_ids"})
    timed("teacher", t0)
    # 3. student
    t0 = time.perf_counter()
    from frugalstack.cloud.distill.evaluate import student_prompt
    from frugalstack.cloud.distill.models import (
        answer_ids,
        base_checkpoint,
        build_student,
        chat_ids,
        load_causal_lm,
        load_tokenizer,
        merged,
        n_params,
        torch_modules,
    )
    from frugalstack.cloud.distill.train import Item, Trainer

    torch, _, _ = torch_modules()
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    base_path = base_checkpoint(cfg.student.base)
    tok = load_tokenizer(base_path)

    def items(part: str) -> list[Item]:
        out = []
        for t, s in splits.items():
            for ex in s[part]:
                ans = answers.get(ex.id)
                if ans is None or ans["task"] != t:
                    continue
                out.append(Item(student_prompt(tok, ex), answer_ids(tok, ans["answer"]),
                                chat_ids(tok, messages_for(TASKS[t], ex, [x for x in shots[t] if x.id != ex.id]))))
        return [it for it in out if len(it.prompt) + len(it.answer) <= cfg.train.max_len + 400]

    train_items, dev_items = items("train"), items("dev")
    student = build_student(cfg.student, base_path, cfg.seed)
    base_small_dir = work / "base-student"
    if cfg.student.kind == "small" and not (base_small_dir / "config.json").is_file():
        merged(student).save_pretrained(base_small_dir)  # the un-distilled student, for the base comparison
        tok.save_pretrained(base_small_dir)
    teacher_model = load_causal_lm(base_checkpoint(cfg.teacher.model)) if cfg.train.mode == "token" else None
    trainer = Trainer(cfg.train, student, tok, work / "checkpoints", cfg.seed, cfg.digest(), teacher_model)
    resumed = trainer.resume()
    event("train", items=len(train_items), dev=len(dev_items), resumed=resumed, params=n_params(student))
    report = trainer.fit(train_items, dev_items, on_step=lambda r: event("step", **r), stop_after=stop_after_steps)
    timed("train", t0)
    if not report["finished"]:
        partial = {"status": "interrupted", "workdir": str(work), "train": report}
        _write_json(work / "result.json", partial)
        return partial
    student_dir = work / "student"
    final = merged(student)
    final.save_pretrained(student_dir)
    tok.save_pretrained(student_dir)
    # 4. evaluation
    t0 = time.perf_counter()
    test = {t: s["test"] for t, s in splits.items()}
    models = {"student": student_dir, "base": base_small_dir if cfg.student.kind == "small" else base_path}
    evals: dict[str, Any] = {}
    for who in [m for m in cfg.eval.models if m in models]:
        evals[who] = _evaluate_dir(cfg, models[who], test, work / "energy")
        event("eval", model=who, **{t: round(v["score"], 4) for t, v in evals[who]["tasks"].items()})
    if "teacher" in cfg.eval.models:
        evals["teacher"] = {"tasks": {t: {**score(t, exs, [answers.get(e.id, {}).get("raw") for e in exs]),
                                          "n": len(exs)} for t, exs in test.items()},
                            "s_per_request": tstats.get("seconds", 0.0) / max(1, tstats.get("requests", 0) or 1),
                            "timing_note": "teacher seconds per uncached request (few-shot + constrained decoding)"}
    timed("eval", t0)
    # 5. export
    t0 = time.perf_counter()
    gguf_path = None
    if cfg.export.enabled:
        gguf_path = _export(cfg, student_dir, work)
        event("export", path=str(gguf_path), bytes=gguf_path.stat().st_size)
    timed("export", t0)
    summary = _summary(evals, n_params(final), student_dir, gguf_path, base_path)
    result: dict[str, Any] = {
        "status": "done", "workdir": str(work), "config_digest": cfg.digest(), "data": {
            "source": loaded.source, "dataset_version_id": loaded.dataset_version_id,
            "skipped_rows": len(loaded.skipped), "skipped": loaded.skipped[:50],
            "sizes": {t: {k: len(v) for k, v in s.items()} for t, s in splits.items()}},
        "teacher": {"kind": cfg.teacher.kind, "model": cfg.teacher.model, "stats": tstats},
        "train": {k: v for k, v in report.items() if k != "history"}, "eval": evals, "summary": summary,
        "artifacts": {"student_dir": str(student_dir), "gguf": str(gguf_path) if gguf_path else None},
    }
    # 6. registry
    if cfg.cloud.publish:
        t0 = time.perf_counter()
        result["registry"] = _register(cfg, result, gguf_path)
        event("register", **dict(result["registry"]))
        timed("register", t0)
    timings["total"] = round(time.perf_counter() - t_start, 2)
    result["timings_s"] = timings
    _write_json(work / "result.json", result)
    event("done", **summary)
    return result


def _evaluate_dir(cfg: DistillConfig, path: Path, test: dict[str, list[Example]], energy_dir: Path) -> dict[str, Any]:
    n_workers = cfg.ray_workers if cfg.executor == "ray" else 1
    out: dict[str, Any] = {"tasks": {}}
    secs = toks = n = calls = 0.0
    with energy_meter(cfg.eval.energy, energy_dir) as meter:
        for task, exs in test.items():
            decodings = ["free"]
            if task == "extraction":
                decodings = [cfg.eval.extraction_decoding]
                if cfg.eval.extraction_decoding == "schema" and cfg.eval.report_free_json:
                    decodings.append("free")
            for k, decoding in enumerate(decodings):
                parts = shard(list(range(len(exs))), n_workers)
                args = [{"model": str(path), "examples": [exs[i] for i in p], "decoding": decoding,
                         "max_new_tokens": cfg.eval.max_new_tokens, "threads": cfg.train.threads} for p in parts]
                texts: list[str | None] = [None] * len(exs)
                for p, (got, timing) in zip(parts, run_shards(predict_shard, args, cfg.executor, cfg.ray_workers),
                                            strict=True):
                    for i, text in zip(p, got, strict=True):
                        texts[i] = text
                    if not k:  # speed and energy per request: the decoding that is scored
                        secs += timing["seconds"]
                        toks += timing["generated_tokens"]
                calls += len(exs)  # the energy meter sees every decoding pass
                scores = score(task, exs, texts)
                if not k:
                    out["tasks"][task] = {**scores, "n": len(exs), "decoding": decoding}
                else:
                    out["tasks"][task].update({f"{decoding}_{m}": v for m, v in scores.items() if m != "score"})
            n += len(exs)
    out["s_per_request"] = secs / max(1, n)
    out["tokens_per_s"] = toks / secs if secs else 0.0
    if "kwh" in meter:
        out["energy_wh_per_1k_requests_estimate"] = meter["kwh"] * 1000 / max(1, calls) * 1000
        out["energy_method"] = meter["method"]
    return out


def _export(cfg: DistillConfig, student_dir: Path, work: Path) -> Path:
    from frugalstack.cloud.distill.gguf_writer import write_gguf
    from frugalstack.optimizers.gguf_export import quantize_gguf
    from frugalstack.optimizers.pipeline import resolve_source

    template = resolve_source(cfg.export.template)
    f16 = write_gguf(student_dir, template, work / "export" / "student-f16.gguf")
    if cfg.export.quant == "f16":
        return f16
    return quantize_gguf(f16, work / "export" / f"student-{cfg.export.quant}.gguf", cfg.export.quant,
                         threads=cfg.train.threads or 2)


def _summary(evals: dict[str, Any], params: int, student_dir: Path, gguf: Path | None, base: Path) -> dict[str, Any]:
    from frugalstack.cloud.distill.models import load_causal_lm, n_params

    out: dict[str, Any] = {"student_params": params, "gguf_bytes": gguf.stat().st_size if gguf else None}
    teacher_params = n_params(load_causal_lm(base))
    out["teacher_params"] = teacher_params
    out["size_ratio_teacher_over_student"] = round(teacher_params / params, 2)
    st: dict[str, Any] = evals.get("student") or {}
    te: dict[str, Any] = evals.get("teacher") or {}
    ba: dict[str, Any] = evals.get("base") or {}
    if st and te and te.get("s_per_request"):
        out["speed_ratio_student_over_teacher"] = round(te["s_per_request"] / max(1e-9, st["s_per_request"]), 2)
    per_task = {}
    for task in st.get("tasks", {}):
        row = {"student": st["tasks"][task]["score"]}
        if te:
            row["teacher"] = te["tasks"][task]["score"]
            row["student_over_teacher"] = round(row["student"] / row["teacher"], 3) if row["teacher"] else None
        if ba:
            row["base"] = ba["tasks"][task]["score"]
        row["meets_target"] = bool(te and ba and row["teacher"] and row["student"] >= 0.9 * row["teacher"]
                                   and row["student"] > row["base"])
        per_task[task] = row
    out["tasks"] = per_task
    return out


def _register(cfg: DistillConfig, result: dict[str, Any], gguf: Path | None) -> dict[str, Any]:
    from frugalstack.cloud.distill.register import register
    from frugalstack.shared.errors import ConfigError

    key = os.environ.get(cfg.cloud.api_key_env)
    if not cfg.cloud.url or not key:
        raise ConfigError(f"cloud.register needs cloud.url and an API key in ${cfg.cloud.api_key_env}")
    summary = result["summary"]
    metrics = {f"{t}_score": float(r["student"]) for t, r in summary["tasks"].items()}
    thresholds = {f"{t}_score": round(0.9 * float(r["teacher"]), 4) for t, r in summary["tasks"].items()
                  if r.get("teacher") is not None}
    energy = {k: v for k, v in result["eval"].get("student", {}).items() if k.startswith("energy")}
    dv = [result["data"]["dataset_version_id"]] if result["data"]["dataset_version_id"] else []
    return register(cfg.cloud.url, key, model_name=cfg.cloud.model_name,
                    version=f"{cfg.name}-{result['config_digest']}-{int(time.time())}",
                    run_params={"config": cfg.model_dump(mode="json"), "teacher": result["teacher"]["model"],
                                "teacher_kind": cfg.teacher.kind, "student": cfg.student.model_dump(mode="json")},
                    run_metrics={"summary": summary, "teacher_stats": result["teacher"]["stats"]},
                    dataset_version_ids=dv, gguf=gguf, quant=cfg.export.quant, metrics=metrics,
                    thresholds=thresholds, energy=energy, profiles=cfg.cloud.profiles, promote_to=cfg.cloud.promote_to,
                    deploy_profile=cfg.cloud.deploy_profile)
