"""The router head's federated data: each device's own (query embedding, signals, outcome) records.

A record is one request the device answered with both arms known: the MiniLM embedding of the query, the
draft's ten confidence signals (``edge.router.signals.FEATURES``) and the outcome label "the cloud answer
was better" (the route evaluation's paired answers, ``edge.router.collect.Pair``). On a real device the
records come from routed requests whose outcome was observed (an escalation the user accepted, a local
answer the user corrected); in simulation they are the shipped collected pairs, the dev split spread over
non-IID devices (skewed by intent and outcome) and the test split held out at the server.

The signal normaliser is a fixed prior (``SIGNAL_MEAN``/``SIGNAL_STD``, set from the signals' definitions,
not from anyone's data), so devices need no shared statistics and the server learns nothing from it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from frugalstack.edge.fl.data import IntentCorpus
from frugalstack.shared.errors import ConfigError

ROUTER_CLASSES = ["edge-ok", "cloud-better"]
#: prior centre / spread of each signal, in ``FEATURES`` order: mean and min token logprob, entropy (nats),
#: answer/question length ratio (capped at 10), refusal, empty, top retrieval cosine, score gap, citations,
#: grounding failures. Fixed so that every device standardises the same way without sharing statistics.
SIGNAL_MEAN = np.array([-0.7, -3.0, 0.8, 3.0, 0.0, 0.0, 0.6, 0.05, 0.5, 0.0], np.float32)
SIGNAL_STD = np.array([0.4, 1.5, 0.5, 2.5, 0.5, 0.5, 0.15, 0.05, 1.0, 0.5], np.float32)
SHIPPED_PAIRS = "data/pairs-sample.jsonl.gz"


def default_pairs_path() -> Path:
    """``FRUGAL_ROUTER_PAIRS`` when set, else the pairs shipped with the router (see docs/routing.md)."""
    env = os.environ.get("FRUGAL_ROUTER_PAIRS")
    if env:
        return Path(env)
    return Path(str(resources.files("frugalstack.edge.router").joinpath(SHIPPED_PAIRS)))


def read_pairs(path: Path) -> list[dict[str, Any]]:
    """Rows of a ``pairs.jsonl`` (gzipped or not) written by ``frugal route eval``; failed cloud calls dropped."""
    if not path.is_file():
        raise ConfigError(f"no router records at {path}", hint="run `frugal route eval` or pass --pairs")
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if r.get("cloud_ok", True)]


def features(embeddings: np.ndarray, signals: np.ndarray) -> np.ndarray:
    """[embedding, standardised signals]: the learned router's input (``LearnedRouter.features``)."""
    sig = (np.asarray(signals, np.float32) - SIGNAL_MEAN) / SIGNAL_STD
    return np.hstack([np.asarray(embeddings, np.float32), sig]).astype(np.float32)


def fold_of(record_id: str, folds: int) -> int:
    """A record's cross-validation fold: a stable hash of its id (same fold on every machine and run)."""
    return int(hashlib.sha256(record_id.encode("utf-8")).hexdigest(), 16) % folds


def load_router_corpus(path: Path | None = None, fold: int | None = None, folds: int = 4) -> IntentCorpus:
    """Dev pairs = the devices' pool, test pairs = held out; ``categories`` carries the intent (for skew).

    ``fold``: K-fold cross-validation over *all* pairs instead of the file's dev/test split: pairs whose
    :func:`fold_of` is ``fold`` are held out, the rest go to the devices. With few pairs (96 shipped) this
    trains on 3/4 of them instead of 1/2 and, over the K folds, scores every pair once as held-out.
    ``extra`` on the returned corpus: ``edge_test``/``cloud_test`` (per-query fact scores, to score routing).
    """
    path = Path(path) if path else default_pairs_path()
    rows = read_pairs(path)
    if fold is not None and not 0 <= fold < folds:
        raise ConfigError(f"fold {fold} is not in 0..{folds - 1}")

    def held_out(r: dict[str, Any]) -> bool:
        return r.get("split") != "dev" if fold is None else fold_of(str(r["id"]), folds) == fold

    dev = sorted((r for r in rows if not held_out(r)), key=lambda r: r["id"])
    test = sorted((r for r in rows if held_out(r)), key=lambda r: r["id"])
    if len(dev) < 4 or len(test) < 2:
        raise ConfigError(f"{path} has {len(dev)} dev and {len(test)} test pairs", hint="need >= 4 dev, >= 2 test")

    def xy(rs: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        x = features(np.array([r["embedding"] for r in rs]), np.array([r["signals"] for r in rs]))
        y = np.array([r["cloud_score"] > r["edge_score"] for r in rs], np.int64)
        return x, y

    x_train, y_train = xy(dev)
    x_test, y_test = xy(test)
    intents = sorted({str(r.get("intent")) for r in dev})
    corpus = IntentCorpus(
        classes=list(ROUTER_CLASSES),
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        train_texts=[],  # the router's records carry no text at all
        path=path,
        categories=np.array([intents.index(str(r.get("intent"))) for r in dev], np.int64),
        sources=("route-eval-pairs",),
        extra={
            "edge_test": np.array([r["edge_score"] for r in test], np.float64),
            "cloud_test": np.array([r["cloud_score"] for r in test], np.float64),
        },
    )
    return corpus


def auc(scores: np.ndarray, y: np.ndarray) -> float:
    """ROC AUC (ties count half): how well P(cloud better) ranks the queries the cloud wins."""
    pos, neg = scores[y == 1], scores[y == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def routed_quality(p_cloud: np.ndarray, edge: np.ndarray, cloud: np.ndarray, share: float) -> float:
    """Quality relative to cloud-only when the ``share`` of queries with the highest P(cloud better) escalate."""
    n = round(share * len(p_cloud))
    route = np.zeros(len(p_cloud), bool)
    route[np.argsort(-p_cloud, kind="stable")[:n]] = True
    return float(np.where(route, cloud, edge).mean() / max(float(cloud.mean()), 1e-9))
