"""Drive a collection run: load the dataset, the edge runtime, the cloud endpoint (or a local stand-in)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from frugalstack.edge.router import dataset
from frugalstack.edge.router.cloud import CloudClient
from frugalstack.edge.router.collect import Pair, collect


def collect_pairs(cache: Path, *, source: str = "auto", cloud_url: str | None = None, cloud_model: str = "default",
                  edge_k: int = 2, cloud_k: int = 5, max_tokens: int = 40, limit: int | None = 50,
                  deadline_s: float = 300.0, progress: Callable[[int, int], None] | None = None) -> tuple[
                      list[Pair], str]:
    """Answer the dataset's queries on both arms (resuming from ``cache``); returns the pairs and the source."""
    from frugalstack.edge.guard.embed import get_embedder
    from frugalstack.edge.router.localcloud import LocalCloud
    from frugalstack.edge.runtime import Runtime

    queries, records, src = dataset.load(source)
    queries = dataset.sample_queries(queries, limit)
    embedder = get_embedder()
    with contextlib.ExitStack() as stack:
        if cloud_url is None:
            cloud_url = stack.enter_context(LocalCloud()).base_url
        client = CloudClient(cloud_url, cloud_model, api_key=os.environ.get("FRUGAL_CLOUD_API_KEY"),
                             deadline_s=deadline_s)
        stack.callback(client.close)
        runtime = stack.enter_context(Runtime(telemetry=False))
        pairs = collect(queries, records, runtime, client, embedder, cache, edge_k=edge_k, cloud_k=cloud_k,
                        max_tokens=max_tokens, progress=progress)
    return pairs, src
