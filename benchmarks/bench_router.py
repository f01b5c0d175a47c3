"""The router's own cost per request, next to what it saves (issue 7).

Times ``decide()`` for every policy on drafts rebuilt from collected pairs (``frugal route eval``'s cache),
interleaved policy by policy so machine noise hits all alike, and reports the median / IQR in
microseconds and the ratio to the median device draft latency of the same pairs (the cascade's cost).
The no-op baseline is a router that always says "edge". With ``--report`` it also prints the route
evaluation headline from the cache (no model runs: the eval itself is ``frugal route eval``). With
``--features`` it adds ``learned+features``: per request, the feature store lookup of the draft's retrieved
products (``feature_signals``, an on-device ``OnlineStore`` holding the materialized sample catalog) plus
the head with feature inputs. ``--pairs`` reads a pairs file directly (e.g. the shipped sample).

    .venv/bin/python benchmarks/bench_router.py --cache route-eval [--rounds 30] [--features]
    .venv/bin/python benchmarks/bench_router.py --pairs edge/router/data/pairs-sample.jsonl.gz --features
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import spread_pct, summary

from frugalstack.edge.router import (
    BudgetRouter,
    CascadeRouter,
    ConfidenceRouter,
    DailyBudget,
    Decision,
    Draft,
    LearnedRouter,
    RouteContext,
    RulesRouter,
)
from frugalstack.edge.router.collect import Pair


class WithFeatures:
    """The learned head with feature-store inputs, looking them up for each request as the runtime does."""

    name = "learned+features"
    needs_draft = True

    def __init__(self, head: LearnedRouter, store: Any, ids: dict[str, list[str]], now: float):
        self.head, self.store, self.ids, self.now = head, store, ids, now

    def decide(self, ctx: RouteContext) -> Decision:
        from frugalstack.edge.router.features import feature_signals

        ctx.features = feature_signals(self.store, now=self.now, product_ids=self.ids.get(ctx.query, []))
        return self.head.decide(ctx)


class EdgeAlways:
    name = "noop"
    needs_draft = False

    def decide(self, ctx: RouteContext) -> Decision:
        return Decision("edge", "baseline", 0.0, self.name)


def contexts(pairs: list[Pair]) -> list[RouteContext]:
    """Contexts with drafts carrying the pairs' text and signals (logprobs rebuilt from the mean/min)."""
    out = []
    for p in pairs:
        mean, lo = p.signals[0], p.signals[1]
        lps = [lo] + [mean] * max(0, p.edge_tokens - 1)
        out.append(RouteContext(query=p.id, intent=p.intent, embedding=np.asarray(p.embedding, np.float32),
                                draft=Draft(text=p.edge_text, logprobs=lps, top_logprobs=[{"x": mean}] * len(lps),
                                            retrieval_scores=[p.signals[6], p.signals[6] - p.signals[7]],
                                            citations=["c"] * int(p.signals[8]), latency_ms=p.edge_ms)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path("route-eval"))
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--report", action="store_true", help="also print the eval headline from the cache")
    ap.add_argument("--pairs", type=Path, default=None, help="a pairs file (.jsonl or .jsonl.gz) instead of --cache")
    ap.add_argument("--features", action="store_true", help="also time learned+features (feature store lookups)")
    args = ap.parse_args()
    path = args.pairs or args.cache / "pairs.jsonl"
    if not path.is_file():
        sys.exit(f"no pairs at {path}: run `frugal route eval --cache {args.cache}` first")
    from bench_router_features import read_pairs

    pairs = read_pairs(path)
    ctxs = contexts(pairs)
    learned = LearnedRouter()
    dev = [p for p in pairs if p.split == "dev"]
    y = np.array([p.cloud_score > p.edge_score for p in dev], np.float32)
    if 0 < y.mean() < 1:
        learned.fit(np.array([p.embedding for p in dev]), np.array([p.signals for p in dev]), y)
    routers: dict[str, Any] = {"noop": EdgeAlways(), "rules": RulesRouter(), "confidence": ConfidenceRouter(),
                               "cascade": CascadeRouter(), "learned": learned,
                               "budget(confidence)": BudgetRouter(ConfidenceRouter(), DailyBudget(calls=10_000))}
    tmp = tempfile.TemporaryDirectory()
    if args.features and 0 < y.mean() < 1:
        from bench_router_features import FeatureSource

        from frugalstack.edge.router.features import HEAD_FEATURES

        feats = FeatureSource(Path(tmp.name))
        fdev, _ = feats.for_split(dev, [])
        head = LearnedRouter(feature_names=HEAD_FEATURES)
        head.fit(np.array([p.embedding for p in dev]), np.array([p.signals for p in dev]), y, feature_rows=fdev)
        ids = {p.id: [i for i in p.retrieved_edge if i.startswith("p-")] for p in pairs}
        routers["learned+features"] = WithFeatures(head, feats.store, ids, feats.now)
    times: dict[str, list[float]] = {k: [] for k in routers}
    for _ in range(args.rounds):
        for name, r in routers.items():
            t0 = time.perf_counter()
            for c in ctxs:
                r.decide(c)  # type: ignore[attr-defined]
            times[name].append((time.perf_counter() - t0) / len(ctxs) * 1e6)
    draft_ms = float(np.median([p.edge_ms for p in pairs]))
    t = Table(title=f"router decide() cost, {len(ctxs)} requests x {args.rounds} rounds "
                    f"(median device draft: {draft_ms:.0f} ms)")
    for col in ("policy", "median us", "IQR %", "x noop", "% of a draft"):
        t.add_column(col, justify="right")
    base = summary(times["noop"])["median"]
    for name, vals in times.items():
        s = summary(vals)
        t.add_row(name, f"{s['median']:.1f}", f"{spread_pct(s):.0f}", f"{s['median'] / base:.1f}",
                  f"{s['median'] / 1000 / draft_ms:.4%}")
    Console().print(t)
    tmp.cleanup()
    if args.report and (args.cache / "route_eval.md").is_file():
        print((args.cache / "route_eval.md").read_text().split("## Headline")[-1])


if __name__ == "__main__":
    main()
