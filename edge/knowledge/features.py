"""Feature-aware reranking for RAG: fuse the retriever's order with a prior from online features.

The prior ranks product hits by in-stock, recent popularity and a low return rate, all read through
``get_online_features``; stale or missing features contribute nothing (the hit keeps its retrieval rank).
The two orders are fused with reciprocal-rank fusion, ``weight`` scaling the prior's share. Off by default
(``weight=0``): on the sample queries, whose answers do not depend on popularity, every weight that changes
the order lowered MRR (benchmarks/bench_features.py, docs/features.md); turn it on where it is measured
to help.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from frugalstack.edge.features.online import OnlineStore, get_online_features

if TYPE_CHECKING:
    from frugalstack.edge.knowledge.store import Hit

RANKING_FEATURES = ["product_stats:popularity", "product_stats:in_stock", "product_stats:return_rate_30d"]


def prior(store: OnlineStore, product_id: str, now: float | None = None) -> float | None:
    """A score in [0, 2]; ``None`` when the product has no fresh features on this device."""
    got = get_online_features({"product": product_id}, RANKING_FEATURES, store=store, now=now)
    if got.stale or got.missing:
        return None
    pop = float(got.get("product_stats:popularity", 0.0))
    stock = 1.0 if got.get("product_stats:in_stock", False) else 0.0
    returns = float(got.get("product_stats:return_rate_30d", 0.0))
    return stock + min(1.0, 100.0 * pop) * (1.0 - min(1.0, returns))


def rerank(
    hits: Sequence[Hit], store: OnlineStore, *, weight: float = 0.0, k: int = 60, now: float | None = None
) -> list[Hit]:
    """Hits reordered by RRF of retrieval rank and feature-prior rank (non-products keep their place)."""
    if weight <= 0 or not hits:
        return list(hits)
    priors = {h.id: prior(store, h.id, now) for h in hits if h.kind == "product"}
    ordered = [h.id for h in hits if priors.get(h.id) is not None]
    ordered.sort(key=lambda hid: -(priors[hid] or 0.0))  # stable: ties keep the retrieval order
    prior_rank = {hid: r for r, hid in enumerate(ordered, start=1)}
    scored = []
    for rank, h in enumerate(hits, start=1):  # without a prior, a hit's prior rank is its retrieval rank
        scored.append((1.0 / (k + rank) + weight / (k + prior_rank.get(h.id, rank)), -rank, h))
    scored.sort(key=lambda x: (-x[0], -x[1]))
    return [replace(h, score=s) for s, _, h in scored]
