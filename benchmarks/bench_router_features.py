"""Routing with vs without feature-store inputs, on the same cached pairs (issues 7 and 14).

Features come through the real path: ``product_stats`` for the 3,000-product sample catalog is computed
from a seeded synthetic event log (``cloud.features.transforms``), ingested in an offline store (SQLite),
materialized to a device snapshot and loaded in an ``OnlineStore``; ``category_quality`` (how well the
device answers in a top-level category, how often the cloud was better there) is pushed from the
*training* pairs only: out-of-fold (5 folds) for the training rows themselves, from all of them for the
held-out rows. Each pair's inputs are then one ``feature_signals(store, product_ids=retrieved)`` call.

Compared on the same pairs, heads trained on dev, thresholds calibrated on dev out-of-fold scores,
figures on test: ``learned`` vs ``learned+features`` (and the ``-pre`` heads that decide before
generating). Because the test split is small, the same comparison is repeated over ``--resplits``
random 50/50 dev/test splits of all pairs (paired: both arms see the same split), reporting the median
and the 2.5-97.5% range of each figure and of the with-minus-without difference. Calibration variants
(threshold vs share, a quality margin, a bootstrap-median share) are reported side by side.

    .venv/bin/python benchmarks/bench_router_features.py measure [--pairs out/route-eval/pairs.jsonl]
        [--resplits 40] [--dev-share 0.5] [--l2 1e-3] [--out out/bench/f.json]
    .venv/bin/python benchmarks/bench_router_features.py collect --cache out/route-eval --per-split 120

``collect`` seeds the cache with the shipped pairs and answers further queries on both arms
(``frugal route eval``'s collector; about 20-40 s a query on a shared 2-core machine).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from frugalstack.edge.features import OnlineStore
from frugalstack.edge.features.definitions import CATEGORY_QUALITY
from frugalstack.edge.features.snapshot import Snapshot, SnapshotView
from frugalstack.edge.router import evaluate as ev
from frugalstack.edge.router.collect import Pair
from frugalstack.edge.router.config import PriceTier
from frugalstack.edge.router.features import HEAD_FEATURES, feature_signals, vector

SHIPPED = Path(__file__).resolve().parents[1] / "edge" / "router" / "data" / "pairs-sample.jsonl.gz"
DAY = 86_400.0
MODELS = ("learned", "learned+features", "learned-pre", "learned-pre+features")


def read_pairs(path: Path) -> list[Pair]:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [Pair(**r) for r in rows if r.get("cloud_ok", True)]


# ------------------------------------------------------------------------------------------------ features
class FeatureSource:
    """An online store holding materialized product_stats; category_quality is re-pushed per training set."""

    def __init__(self, work: Path, seed: int = 0):
        from bench_features import offline_store, snapshot_bytes

        from frugalstack.edge.sampledata import PRODUCTS_FILE
        from frugalstack.edge.sampledata.make import load_products

        products = load_products(PRODUCTS_FILE)
        self.now = time.time()
        db = offline_store(work / "offline.db", products, self.now, seed)
        self.store = OnlineStore(work / "device.db")
        self.store.load_snapshot(snapshot_bytes(db, ["product_stats"]))
        self.category = {p["id"]: str(p["category"]).split(" > ")[0] for p in products}

    def top_category(self, p: Pair) -> str:
        return self.category.get(p.retrieved_edge[0], "") if p.retrieved_edge else ""

    def push_categories(self, train: list[Pair], m: float = 4.0) -> None:
        """category_quality rows from ``train``: mean edge score and cloud-better share, shrunk to the mean."""
        edge = np.array([p.edge_score for p in train])
        better = np.array([p.cloud_score > p.edge_score for p in train], float)
        cats = [self.top_category(p) for p in train]
        rows = []
        for c in sorted(set(cats)):
            idx = [i for i, x in enumerate(cats) if x == c]
            n = len(idx)
            aq = (edge[idx].sum() + m * edge.mean()) / (n + m)
            er = (better[idx].sum() + m * better.mean()) / (n + m)
            rows.append([c, self.now - 600, float(aq), float(er), n])
        self.store.load_snapshot(Snapshot(snapshot_id=f"cq-{len(train)}", created_at=self.now,
                                          views=[SnapshotView(view=CATEGORY_QUALITY, rows=rows)]))

    def rows(self, pairs: list[Pair]) -> np.ndarray:
        out = []
        for p in pairs:
            got = feature_signals(self.store, self.top_category(p) or None, now=self.now,
                                  product_ids=[i for i in p.retrieved_edge if i.startswith("p-")])
            out.append(vector(got))
        return np.array(out, np.float32).reshape(len(pairs), len(HEAD_FEATURES))

    def for_split(self, dev: list[Pair], test: list[Pair], folds: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """Feature rows for dev (category stats out-of-fold) and test (category stats from all of dev)."""
        fdev = np.zeros((len(dev), len(HEAD_FEATURES)), np.float32)
        idx = np.arange(len(dev))
        for f in range(folds):
            hold = idx[idx % folds == f]
            self.push_categories([dev[i] for i in idx if i % folds != f])
            fdev[hold] = self.rows([dev[i] for i in hold])
        self.push_categories(dev)
        return fdev, self.rows(test)


# ------------------------------------------------------------------------------------------------ metrics
def auc(scores: np.ndarray, y: np.ndarray) -> float:
    """Probability that a cloud-better query scores above an edge-fine one (ties count half)."""
    pos, neg = scores[y], scores[~y]
    if not len(pos) or not len(neg):
        return float("nan")
    diff = pos[:, None] - neg[None, :]
    return float((diff > 0).mean() + 0.5 * (diff == 0).mean())


def thresholds(dev_oof: np.ndarray, full_dev: np.ndarray, dev: list[Pair], rng: np.random.Generator,
               boot: int = 200) -> dict[str, float]:
    """Each calibration variant's threshold on the deployed head's score scale."""
    e, c = np.array([p.edge_score for p in dev]), np.array([p.cloud_score for p in dev])
    out = {}
    for target in (0.95, 0.97, 1.0):
        out[f"threshold@{target:.2f}"] = ev.calibrate(dev_oof, e, c, min_quality_rel=target)["threshold"]
    share = ev.calibrate(dev_oof, e, c, min_quality_rel=0.95)["cloud_share"]
    out["share@0.95"] = float(np.quantile(full_dev, 1 - share)) if share < 1 else -np.inf
    shares = []
    for _ in range(boot):  # the cloud share that meets 95% on bootstrap resamples of dev
        i = rng.integers(0, len(dev), len(dev))
        shares.append(ev.calibrate(dev_oof[i], e[i], c[i], min_quality_rel=0.95)["cloud_share"])
    for q in (0.5, 0.8):
        s = float(np.quantile(shares, q))
        out[f"boot-share-q{int(q * 100)}@0.95"] = float(np.quantile(full_dev, 1 - s)) if s < 1 else -np.inf
    return out


def evaluate_split(dev: list[Pair], test: list[Pair], feats: FeatureSource, seed: int, l2: float) -> dict[str, Any]:
    fdev, ftest = feats.for_split(dev, test)
    pol = {p.name: p for p in ev.policy_scores(dev, test, seed, features=(fdev, ftest), l2=l2)[0]}
    full = {p.name: p for p in ev.policy_scores(dev, dev, seed, features=(fdev, fdev), l2=l2)[0]}
    oof = {p.name: p for p in ev.dev_scores(dev, seed=seed, features=fdev, l2=l2)}
    for d in (pol, full, oof):  # mean of the two heads' P(cloud better): one tried way to steady the ranking
        if "learned" in d and "learned-pre" in d:
            d["learned-mean"] = ev.Policy("learned-mean", (d["learned"].scores + d["learned-pre"].scores) / 2, True, "")
    arms = ev.Arms.of(test, PriceTier("none", 0.0, 0.0), 0.0)  # prices do not matter here
    y = arms.cloud > arms.edge
    rng = np.random.default_rng(seed)
    res: dict[str, Any] = {}
    for name in (*MODELS, "learned-mean", "cascade", "confidence"):
        if name not in pol:
            continue
        s = pol[name].scores
        cheapest = ev.cheapest_at([ev.outcome(arms, ev.at_share(s, sh), False) for sh in ev.SHARES])
        row: dict[str, Any] = {"auc": auc(s, y), "curve_share_at_95": cheapest["cloud_share"] if cheapest else 1.0}
        for var, t in thresholds(oof[name].scores, full[name].scores, dev, rng).items():
            o = ev.outcome(arms, s >= t, False)
            row[var] = {"quality_rel": o["quality_rel"], "cloud_share": o["cloud_share"]}
        res[name] = row
    return res


# ------------------------------------------------------------------------------------------------ report
def pct(vals: list[float], fmt: str = ".1%") -> str:
    a = np.array(vals, float)
    return f"{np.median(a):{fmt}} [{np.quantile(a, 0.025):{fmt}}, {np.quantile(a, 0.975):{fmt}}]"


def measure(args: argparse.Namespace) -> dict[str, Any]:
    pairs = read_pairs(args.pairs)
    dev = sorted((p for p in pairs if p.split == "dev"), key=lambda p: p.id)
    test = sorted((p for p in pairs if p.split == "test"), key=lambda p: p.id)
    print(f"{len(pairs)} pairs ({len(dev)} dev, {len(test)} test) from {args.pairs}; load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        feats = FeatureSource(Path(tmp))
        t0 = time.perf_counter()
        fixed = evaluate_split(dev, test, feats, 0, args.l2)
        splits = []
        rng = np.random.default_rng(args.seed)
        for r in range(args.resplits):
            perm = rng.permutation(len(pairs))
            half = round(len(pairs) * args.dev_share)
            d = sorted((pairs[i] for i in perm[:half]), key=lambda p: p.id)
            t = sorted((pairs[i] for i in perm[half:]), key=lambda p: p.id)
            splits.append(evaluate_split(d, t, feats, r, args.l2))
        feats.store.close()
    out = {"pairs": str(args.pairs), "n": len(pairs), "n_dev": len(dev), "n_test": len(test), "l2": args.l2,
           "dev_share": args.dev_share,
           "resplits": args.resplits, "seconds": round(time.perf_counter() - t0, 1), "features": list(HEAD_FEATURES),
           "fixed_split": fixed, "resplit_runs": splits}
    print_report(out)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=1, default=float))
    return out


def print_report(r: dict[str, Any]) -> None:
    fixed, runs = r["fixed_split"], r["resplit_runs"]
    variants = [k for k in fixed["learned"] if isinstance(fixed["learned"][k], dict)]
    print(f"\n## fixed split ({r['n_dev']} dev / {r['n_test']} test): test figures, thresholds from dev")
    print("| policy | AUC | curve: least share at >=95% | " + " | ".join(variants) + " |")
    print("|---" * (len(variants) + 3) + "|")
    for name, row in fixed.items():
        cells = [f"{row[v]['quality_rel']:.1%} @ {row[v]['cloud_share']:.0%}" for v in variants]
        print(f"| {name} | {row['auc']:.3f} | {row['curve_share_at_95']:.0%} | " + " | ".join(cells) + " |")
    share = r.get("dev_share", 0.5)
    print(f"\n## {len(runs)} random {share:.0%}/{1 - share:.0%} dev/test re-splits of all {r['n']} pairs: "
          "median [2.5%, 97.5%]")
    print("| policy | AUC | curve: least share at >=95% | " + " | ".join(
        f"{v}: quality / share / met" for v in variants) + " |")
    print("|---" * (len(variants) + 3) + "|")
    for name in fixed:
        rows = [s[name] for s in runs if name in s]
        cells = []
        for v in variants:
            q = [x[v]["quality_rel"] for x in rows]
            sh = [x[v]["cloud_share"] for x in rows]
            cells.append(f"{pct(q)} / {pct(sh)} / {np.mean(np.array(q) >= 0.95 - 1e-9):.0%}")
        print(f"| {name} | {pct([x['auc'] for x in rows], '.3f')} | {pct([x['curve_share_at_95'] for x in rows])} | "
              + " | ".join(cells) + " |")
    print("\n## paired difference, with features minus without (same re-splits)")
    for base in ("learned", "learned-pre"):
        a, b = [s[base] for s in runs], [s[base + "+features"] for s in runs]
        d_auc = [y["auc"] - x["auc"] for x, y in zip(a, b, strict=True)]
        d_cur = [y["curve_share_at_95"] - x["curve_share_at_95"] for x, y in zip(a, b, strict=True)]
        v = "threshold@0.95"
        d_q = [y[v]["quality_rel"] - x[v]["quality_rel"] for x, y in zip(a, b, strict=True)]
        d_s = [y[v]["cloud_share"] - x[v]["cloud_share"] for x, y in zip(a, b, strict=True)]
        print(f"- {base}: AUC {pct(d_auc, '+.3f')} (better in {np.mean(np.array(d_auc) > 0):.0%}); least share at 95% "
              f"{pct(d_cur)}; calibrated quality {pct(d_q)}, share {pct(d_s)}")


# ------------------------------------------------------------------------------------------------ collection
def query_order(per_split: int) -> list[str]:
    """The 80-per-split set the shipped pairs come from first, then further evenly strided queries."""
    from frugalstack.edge.router import dataset

    queries, _, _ = dataset.load("sample")
    order: dict[str, list[str]] = {"dev": [], "test": []}
    for n in (80, 160, 0):
        for q in dataset.sample_queries(queries, n or None):
            if q.id not in order[q.split]:
                order[q.split].append(q.id)
    out: list[str] = []
    for i in range(per_split):
        out += [order[s][i] for s in ("dev", "test") if i < len(order[s])]
    return out


def collect(args: argparse.Namespace) -> None:
    from frugalstack.edge.router.run import collect_pairs

    cache = args.cache / "pairs.jsonl"
    cache.parent.mkdir(parents=True, exist_ok=True)
    have = {json.loads(x)["id"] for x in cache.read_text().splitlines() if x.strip()} if cache.is_file() else set()
    with cache.open("a") as f:
        for p in read_pairs(SHIPPED):
            if p.id not in have:
                f.write(json.dumps(asdict(p)) + "\n")
    ids = query_order(args.per_split)
    t0 = time.time()

    def progress(i: int, n: int) -> None:
        print(f"{time.strftime('%H:%M:%S')} answered {i}/{n} ({(time.time() - t0) / i:.1f} s/query, "
              f"load {os.getloadavg()[0]:.1f})", flush=True)

    pairs, _ = collect_pairs(cache, query_ids=ids, threads=args.threads, progress=progress)
    print(f"{len(pairs)} pairs in {cache}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--pairs", type=Path, default=SHIPPED)
    m.add_argument("--resplits", type=int, default=40)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--l2", type=float, default=1e-3)
    m.add_argument("--dev-share", type=float, default=0.5, help="share of the pairs each re-split trains on")
    m.add_argument("--out", type=Path, default=None)
    c = sub.add_parser("collect")
    c.add_argument("--cache", type=Path, default=Path("out/route-eval"))
    c.add_argument("--per-split", type=int, default=120)
    c.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    measure(args) if args.cmd == "measure" else collect(args)


if __name__ == "__main__":
    main()
