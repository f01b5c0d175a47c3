"""Fan-out of teacher generation and evaluation: in-process (``local``) or over a local Ray (``ray``).

The shard functions are module-level so Ray can ship them; each worker builds its own teacher or model.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def run_shards(fn: Callable[[T], R], shards: list[T], executor: str, workers: int) -> list[R]:
    if executor == "local" or len(shards) <= 1:
        return [fn(s) for s in shards]
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        remote = ray.remote(num_cpus=1)(fn)
        return list(ray.get([remote.remote(s) for s in shards]))
    finally:
        if started:
            ray.shutdown()


def shard(items: list[T], n: int) -> list[list[T]]:
    n = max(1, min(n, len(items)))
    return [items[i::n] for i in range(n)]


def teacher_shard(args: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Label one shard of examples (runs in a Ray worker or in-process)."""
    from frugalstack.cloud.distill.config import TeacherConfig
    from frugalstack.cloud.distill.teacher import TeacherCache, TeacherStats, label_examples

    cfg = TeacherConfig.model_validate(args["teacher"])
    if cfg.kind == "local":  # one forward at a time anyway: threads would only add lock waits to the timings
        cfg = cfg.model_copy(update={"max_concurrency": 1})
    teacher = make_teacher(cfg, args["base_url"], args["api_key"], args.get("threads"))
    cache = TeacherCache(Path(args["cache"]))
    stats = TeacherStats()
    try:
        answers = label_examples(teacher, cfg, cache, args["examples"], args["shots"], stats)
    finally:
        cache.close()
    return answers, stats.as_dict()


def make_teacher(cfg: Any, base_url: str | None, api_key: str | None, threads: int | None = None) -> Any:
    if cfg.kind == "local":
        from frugalstack.cloud.distill.models import base_checkpoint
        from frugalstack.cloud.distill.teacher_local import LocalTeacher

        return LocalTeacher(base_checkpoint(cfg.model), threads=threads)
    from frugalstack.cloud.distill.teacher_openai import OpenAITeacher

    return OpenAITeacher(cfg, base_url or "", api_key)


def predict_shard(args: dict[str, Any]) -> tuple[list[str], dict[str, float]]:
    """Greedy predictions of the model saved at ``args['model']`` on one shard of examples."""
    from frugalstack.cloud.distill.evaluate import predict
    from frugalstack.cloud.distill.models import load_causal_lm, load_tokenizer, torch_modules

    torch, _, _ = torch_modules()
    if args.get("threads"):
        torch.set_num_threads(int(args["threads"]))
    path = Path(args["model"])
    return predict(load_causal_lm(path), load_tokenizer(path), args["examples"], int(args["max_new_tokens"]),
                   str(args.get("decoding", "free")))
