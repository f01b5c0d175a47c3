"""Drive a collection run: load the dataset, the edge runtime, the cloud endpoint (or a local stand-in)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import yaml

from frugalstack.edge.router import dataset
from frugalstack.edge.router.cloud import CloudClient
from frugalstack.edge.router.collect import Pair, cached, collect


def collect_pairs(cache: Path, *, source: str = "auto", cloud_url: str | None = None, cloud_model: str = "default",
                  edge_k: int = 2, cloud_k: int = 1, max_tokens: int = 40, limit: int | None = 50,
                  deadline_s: float = 300.0, threads: int | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  query_ids: list[str] | None = None) -> tuple[list[Pair], str]:
    """Answer the dataset's queries on both arms (resuming from ``cache``); returns the pairs and the source.

    ``query_ids`` picks the queries explicitly (in that order) instead of ``limit`` per split, so a larger
    run can extend an existing cache without changing which queries the cache already answered."""
    from frugalstack.edge.guard.embed import get_embedder
    from frugalstack.edge.profiles import get_profile
    from frugalstack.edge.router.localcloud import LocalCloud
    from frugalstack.edge.runtime import Runtime

    queries, records, src = dataset.load(source)
    if query_ids is not None:
        by_id = {q.id: q for q in queries}
        queries = [by_id[i] for i in query_ids if i in by_id]
    else:
        queries = dataset.sample_queries(queries, limit)
    done = cached(cache)
    if all(q.id in done for q in queries):  # everything answered already: no model needed
        return [done[q.id] for q in queries], src
    embedder = get_embedder()
    profile = get_profile("auto")
    if threads:  # on a shared, oversubscribed CPU one llama.cpp thread per arm beats two spinning ones
        profile = profile.model_copy(update={"runtime": profile.runtime.model_copy(update={"threads": threads})})
    with contextlib.ExitStack() as stack:
        if cloud_url is None:
            yaml_path = cache.parent / "stand-in-cloud-profile.yaml"
            yaml_path.parent.mkdir(parents=True, exist_ok=True)
            yaml_path.write_text(yaml.safe_dump(profile.model_dump(exclude={"detected"})))
            cloud_url = stack.enter_context(LocalCloud(profile=str(yaml_path))).base_url
            if cloud_model == "default":
                from frugalstack.edge.catalog import DEFAULT_CHAT_MODEL

                cloud_model = DEFAULT_CHAT_MODEL
        client = CloudClient(cloud_url, cloud_model, api_key=os.environ.get("FRUGAL_CLOUD_API_KEY"),
                             deadline_s=deadline_s)
        stack.callback(client.close)
        runtime = stack.enter_context(Runtime(profile=profile, telemetry=False, guard=False))
        pairs = collect(queries, records, runtime, client, embedder, cache, edge_k=edge_k, cloud_k=cloud_k,
                        max_tokens=max_tokens, progress=progress)
    return pairs, src
