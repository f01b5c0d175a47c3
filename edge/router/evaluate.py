"""Offline route evaluation over collected pairs: every policy's quality-vs-cloud-share curve and table.

Each query was answered once by each arm (collect.py), so a policy is simulated by choosing, per query,
which answer the user would have got. Quality is the mean exact-fact score, reported relative to
cloud-only; cost per 1,000 requests adds the cloud bill (price table) and the device's electricity
(energy per token from the profile); latency is the chosen arm's, plus the draft's for policies that
need one (the cascade cost). Policies that learn or calibrate use the dev split; figures are on test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from frugalstack.edge.router.cascade import cascade_score
from frugalstack.edge.router.collect import Pair
from frugalstack.edge.router.confidence import ConfidenceRouter, ConfidenceWeights
from frugalstack.edge.router.config import PriceTier
from frugalstack.edge.router.learned import LearnedRouter
from frugalstack.edge.router.signals import from_vector
from frugalstack.edge.router.types import SERVER_SIDE_INTENTS

SHARES = tuple(round(x * 0.05, 2) for x in range(21))


@dataclass
class Arms:
    """Column arrays of a list of pairs."""

    edge: np.ndarray
    cloud: np.ndarray
    edge_ms: np.ndarray
    cloud_ms: np.ndarray
    cloud_usd: np.ndarray
    edge_j: np.ndarray
    rule: np.ndarray  # a hard rule sends this query to the cloud (server-side intent)

    @classmethod
    def of(cls, pairs: Sequence[Pair], tier: PriceTier, j_per_token: float) -> Arms:
        return cls(np.array([p.edge_score for p in pairs]), np.array([p.cloud_score for p in pairs]),
                   np.array([p.edge_ms for p in pairs]), np.array([p.cloud_ms for p in pairs]),
                   np.array([tier.cost(p.cloud_input_tokens, p.cloud_output_tokens) for p in pairs]),
                   np.array([p.edge_tokens * j_per_token for p in pairs]),
                   np.array([p.intent in SERVER_SIDE_INTENTS for p in pairs]))


@dataclass
class Policy:
    name: str
    scores: np.ndarray  # higher = escalate
    needs_draft: bool
    version: str
    note: str = ""


FeatureRows = tuple[np.ndarray, np.ndarray]  # feature-store inputs of (dev, test), ``HEAD_FEATURES`` order


def policy_scores(dev: Sequence[Pair], test: Sequence[Pair], seed: int = 0, *, features: FeatureRows | None = None,
                  l2: float = 1e-3) -> tuple[list[Policy], LearnedRouter]:
    """Score every test query under each policy (the learned heads are trained on ``dev``). With ``features``
    (rows for dev and test), ``learned+features`` and ``learned-pre+features`` join: the same heads with the
    feature-store inputs added, so the gain from features is measured on the same pairs."""
    w = ConfidenceWeights()
    conf, pre = ConfidenceRouter(weights=w), ConfidenceRouter(weights=w, use_draft=False)
    sig = [from_vector(p.signals) for p in test]
    conf_s = np.array([conf.score_signals(s)[0] for s in sig])
    pre_s = np.array([pre.score_signals(s)[0] for s in sig])
    casc_s = np.array([cascade_score(s, w)[0] for s in sig])
    y = np.array([p.cloud_score > p.edge_score for p in dev], np.float32)
    head = LearnedRouter(use_signals=True)
    head_pre = LearnedRouter(use_signals=False)
    out = [Policy("confidence", conf_s, True, "confidence-v1"),
           Policy("confidence-pre", pre_s, False, "confidence-v1", "retrieval signals only, before generating"),
           Policy("cascade", casc_s, True, "cascade-v1", "draft kept; weakest check decides")]
    if len(y) >= 4 and 0 < y.mean() < 1:
        ed, et = np.array([p.embedding for p in dev]), np.array([p.embedding for p in test])
        sd, st = np.array([p.signals for p in dev]), np.array([p.signals for p in test])
        head.fit(ed, sd, y, seed=seed, l2=l2)
        head_pre.fit(ed, None, y, seed=seed, l2=l2)
        out += [Policy("learned", head.predict_proba(head.features(et, st)), True, head.version),
                Policy("learned-pre", head_pre.predict_proba(head_pre.features(et, None)), False, head_pre.version,
                       "query embedding only, before generating")]
        if features is not None:
            from frugalstack.edge.router.features import HEAD_FEATURES

            fd, ft = features
            for name, sig_d, sig_t, draft in (("learned+features", sd, st, True),
                                              ("learned-pre+features", None, None, False)):
                h = LearnedRouter(use_signals=draft, feature_names=HEAD_FEATURES)
                h.fit(ed, sig_d, y, seed=seed, l2=l2, feature_rows=fd)
                out.append(Policy(name, h.predict_proba(h.features(et, sig_t, ft)), draft, h.version,
                                  "plus the feature store's product/category/session inputs"))
    rules = np.array([p.intent in SERVER_SIDE_INTENTS for p in test])
    out.append(Policy("rules+confidence", np.where(rules, 2.0, conf_s), True, "rules-v1",
                      "server-side intents always escalate; confidence decides the rest"))
    return out, head


def dev_scores(dev: Sequence[Pair], folds: int = 5, seed: int = 0, *, features: np.ndarray | None = None,
               l2: float = 1e-3) -> list[Policy]:
    """Policy scores on the dev split for calibration; the learned heads' are out-of-fold (each dev query is
    scored by a head trained without it), else their threshold would be fitted on training predictions.
    ``features``: the dev rows' feature-store inputs (caller's order)."""
    order = sorted(range(len(dev)), key=lambda i: dev[i].id)  # folds by id: the same whatever the file order
    dev = [dev[i] for i in order]
    fdev = None if features is None else np.asarray(features)[order]
    policies, _ = policy_scores(dev, dev, seed, features=None if fdev is None else (fdev, fdev), l2=l2)
    learned = [p for p in policies if p.name.startswith("learned")]
    if not learned:
        return policies
    idx = np.arange(len(dev))
    oof = {p.name: np.zeros(len(dev)) for p in learned}
    for f in range(folds):
        test_i, train_i = idx[idx % folds == f], idx[idx % folds != f]
        if not len(test_i):
            continue
        fold_pol, _ = policy_scores([dev[i] for i in train_i], [dev[i] for i in test_i], seed, l2=l2,
                                    features=None if fdev is None else (fdev[train_i], fdev[test_i]))
        by = {p.name: p for p in fold_pol}
        for name in oof:  # a fold without both outcomes cannot train: score it neutral
            oof[name][test_i] = by[name].scores if name in by else 0.5
    back = np.argsort(order)  # scores in the caller's order
    return [Policy(p.name, oof.get(p.name, p.scores)[back], p.needs_draft, p.version, p.note)
            for p in policies]


def outcome(arms: Arms, route: np.ndarray, needs_draft: bool) -> dict[str, float]:
    """Figures for one routing of the test set (``route`` True = answered by the cloud)."""
    route = route.astype(bool)
    q = np.where(route, arms.cloud, arms.edge)
    lat = np.where(route, arms.cloud_ms + (arms.edge_ms if needs_draft else 0.0), arms.edge_ms)
    edge_ran = ~route | needs_draft
    joules = np.where(edge_ran, arms.edge_j, 0.0)
    cloud_mean = float(arms.cloud.mean()) or 1e-9
    return {"quality": float(q.mean()), "quality_rel": float(q.mean()) / cloud_mean,
            "cloud_share": float(route.mean()),
            "cloud_usd_per_1k": float((route * arms.cloud_usd).mean() * 1000),
            "device_wh_per_1k": float(joules.mean() * 1000 / 3600),
            "p50_ms": float(np.percentile(lat, 50)), "p95_ms": float(np.percentile(lat, 95))}


def at_share(scores: np.ndarray, share: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Escalate the ``share`` of queries with the highest scores; ties are broken at random when ``rng`` is
    given (else by position)."""
    n = round(share * len(scores))
    route = np.zeros(len(scores), bool)
    if n:
        jitter = rng.random(len(scores)) if rng is not None else -np.arange(len(scores), dtype=float)
        route[np.lexsort((-jitter, -scores))[:n]] = True
    return route


def tie_averaged(arms: Arms, scores: np.ndarray, share: float, needs_draft: bool, draws: int = 30,
                 seed: int = 0) -> dict[str, float]:
    """``outcome`` at a share, averaged over random tie-breaks (a policy with many equal scores, like the
    cascade's "no grounded citation", must not be credited for the order of the file)."""
    rng = np.random.default_rng(seed)
    rows = [outcome(arms, at_share(scores, share, rng), needs_draft) for _ in range(draws)]
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def random_at(arms: Arms, share: float, seed: int = 0, draws: int = 200) -> dict[str, float]:
    """Random routing at a matched cloud share, averaged over ``draws`` seeded permutations."""
    rng = np.random.default_rng(seed)
    rows = [outcome(arms, at_share(rng.random(len(arms.edge)), share), False) for _ in range(draws)]  # no ties
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def curves(arms: Arms, policies: list[Policy]) -> dict[str, list[dict[str, float]]]:
    out = {p.name: [{**tie_averaged(arms, p.scores, s, p.needs_draft), "target_share": s} for s in SHARES]
           for p in policies}
    out["random"] = [{**random_at(arms, s), "target_share": s} for s in SHARES]
    oracle = arms.cloud - arms.edge  # upper bound: knows which answer is better
    out["oracle"] = [{**outcome(arms, at_share(oracle + 1e-9 * (oracle > 0), s), False), "target_share": s}
                     for s in SHARES]
    return out


def cheapest_at(curve: list[dict[str, float]], min_rel: float = 0.95) -> dict[str, float] | None:
    """The lowest-cloud-share point of a curve meeting ``min_rel`` of cloud-only quality."""
    ok = [r for r in curve if r["quality_rel"] >= min_rel - 1e-9]
    return min(ok, key=lambda r: r["cloud_share"]) if ok else None


def calibrate(scores: np.ndarray, edge: np.ndarray, cloud: np.ndarray, *, min_quality_rel: float | None = None,
              max_cloud_share: float | None = None) -> dict[str, Any]:
    """The threshold meeting the target on a labelled set: the least cloud reaching ``min_quality_rel``, or the
    best quality with at most ``max_cloud_share`` escalated."""
    if (min_quality_rel is None) == (max_cloud_share is None):
        raise ValueError("give exactly one of min_quality_rel and max_cloud_share")
    cloud_mean = float(cloud.mean()) or 1e-9
    cands = np.unique(np.concatenate([scores, [np.inf]]))
    rows = []
    for t in cands:
        route = scores >= t
        q = float(np.where(route, cloud, edge).mean())
        rows.append({"threshold": float(t), "cloud_share": float(route.mean()), "quality_rel": q / cloud_mean})
    if min_quality_rel is not None:
        ok = [r for r in rows if r["quality_rel"] >= min_quality_rel - 1e-9]
        pool = ok or [min(rows, key=lambda r: r["threshold"])]  # unreachable target: everything to the cloud
        best = max(pool, key=lambda r: (r["threshold"], r["quality_rel"]))
        return {**best, "target": {"min_quality_rel": min_quality_rel}, "met": bool(ok)}
    ok = [r for r in rows if r["cloud_share"] <= max_cloud_share + 1e-9]  # type: ignore[operator]
    best = max(ok, key=lambda r: (r["quality_rel"], r["threshold"]))
    return {**best, "target": {"max_cloud_share": max_cloud_share}, "met": True}
