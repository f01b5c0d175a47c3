"""Where a client's examples come from, behind one small protocol.

A device trains on its own labelled messages: the local feedback store when it exists, or, for simulation,
one non-IID partition of the shipped e-commerce intent queries. Texts are embedded once with the shared
MiniLM (``frugalstack.edge.guard.embed``) and cached as ``.npz``; clients only ever see vectors and labels.
Training pool: the guard's templated intent texts plus, when issue 4's sample dataset is installed, its
dev-split customer queries (with the product category of the product they ask about). Held-out: the
independent, hand-written ``edge/evaluation/data/intents.jsonl`` (texts and paraphrases) plus the sample
dataset's test split; never used for training.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

TRAIN_SEEDS = tuple(range(11, 19))


@dataclass
class LocalData:
    """Embedded examples and integer labels (indices into the task's class list)."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


class DataSource(Protocol):
    """A client's local data; ``load`` runs on the device and its result never leaves it."""

    def load(self) -> LocalData: ...


@dataclass
class IntentCorpus:
    """The whole simulated population's pool plus the held-out set, as vectors."""

    classes: list[str]
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    train_texts: list[str]
    path: Path
    categories: np.ndarray | None = None  # per training example: product category id, -1 when none
    sources: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # task-specific held-out data (router: arm scores)


def cache_dir() -> Path:
    d = Path(os.environ.get("FRUGAL_FL_CACHE", Path.home() / ".cache" / "frugalstack" / "fl"))
    d.mkdir(parents=True, exist_ok=True)
    return d


Row = tuple[str, str, str]  # text, intent, product category ("" when none)


def _sample_queries() -> tuple[list[Row], list[Row]]:
    """Issue 4's labelled queries (dev, test), or nothing when that dataset is not installed."""
    try:
        import gzip

        from frugalstack.edge.sampledata import PRODUCTS_FILE, QUERIES_DEV, QUERIES_TEST
    except ImportError:
        return [], []
    if not (QUERIES_DEV.exists() and QUERIES_TEST.exists() and PRODUCTS_FILE.exists()):
        return [], []
    with gzip.open(PRODUCTS_FILE, "rt", encoding="utf-8") as f:
        cats = {p["id"]: str(p.get("category", "")).split(" > ")[0] for p in map(json.loads, f)}

    def rows(path: Path) -> list[Row]:
        out = []
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                pids = r.get("product_ids") or []
                out.append((r["query"], r["intent"], cats.get(pids[0], "") if pids else ""))
        return out

    return rows(QUERIES_DEV), rows(QUERIES_TEST)


def _intent_texts() -> tuple[list[Row], list[Row], tuple[str, ...]]:
    from frugalstack.edge.guard.train_texts import scope_texts

    raw = resources.files("frugalstack.edge.evaluation").joinpath("data/intents.jsonl").read_text("utf-8")
    test: list[Row] = []
    for line in raw.splitlines():
        if line.strip():
            row = json.loads(line)
            test += [(row["text"], row["intent"], ""), (row["paraphrase"], row["intent"], "")]
    pool: set[Row] = set()
    for seed in TRAIN_SEEDS:
        pool |= {(t, c, "") for t, c in scope_texts(seed)}
    sources: tuple[str, ...] = ("guard-templates", "evaluation-intents")
    dev, sample_test = _sample_queries()
    if dev:
        pool |= set(dev)
        test += sample_test
        sources += ("sampledata-queries",)
    held = {t.lower() for t, _, _ in test}
    train = sorted(r for r in pool if r[0].lower() not in held)
    return train, test, sources


def load_intent_corpus(embedder: str | None = None) -> IntentCorpus:
    """Embed (once, cached by content hash) the intent training pool and the held-out set."""
    train, test, sources = _intent_texts()
    classes = sorted({c for _, c, _ in train} | {c for _, c, _ in test})
    digest = hashlib.sha256(json.dumps([train, test]).encode()).hexdigest()[:16]
    path = cache_dir() / f"intent-{digest}.npz"
    if not path.exists():
        from frugalstack.edge.guard.embed import get_embedder

        emb = get_embedder(embedder)
        x_train = emb.embed([t for t, _, _ in train])
        x_test = emb.embed([t for t, _, _ in test])
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, x_train=x_train, x_test=x_test)
        tmp.replace(path)
    with np.load(path) as z:
        x_train, x_test = z["x_train"], z["x_test"]
    index = {c: i for i, c in enumerate(classes)}
    cat_names = sorted({cat for _, _, cat in train if cat})
    cat_index = {c: i for i, c in enumerate(cat_names)}
    return IntentCorpus(
        classes=classes,
        x_train=x_train.astype(np.float32),
        y_train=np.array([index[c] for _, c, _ in train], np.int64),
        x_test=x_test.astype(np.float32),
        y_test=np.array([index[c] for _, c, _ in test], np.int64),
        train_texts=[t for t, _, _ in train],
        path=path,
        categories=np.array([cat_index.get(cat, -1) for _, _, cat in train], np.int64),
        sources=sources,
    )


def partition_non_iid(
    y: np.ndarray,
    n_clients: int,
    *,
    alpha: float = 0.5,
    mean_size: int = 24,
    seed: int = 0,
    categories: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Per-device intent skew, optional product-category skew, and size skew.

    Each device draws an intent mix from Dirichlet(alpha) and, with ``categories`` (one int per example,
    -1 for none), a category preference from Dirichlet(alpha); its size is log-normal around ``mean_size``
    (2 to 4x mean). For each intent it draws, it picks an example of that intent, weighted by its category
    preference, without replacement inside the device (examples may recur across devices: many customers
    ask the same question), so sizes do not depend on pool sizes.
    """
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    by_class = {int(c): np.flatnonzero(y == c) for c in classes}
    n_cats = int(categories.max()) + 1 if categories is not None and categories.max() >= 0 else 0
    parts: list[np.ndarray] = []
    for _ in range(n_clients):
        size = int(np.clip(rng.lognormal(np.log(mean_size), 0.8), 2, 4 * mean_size))
        mix = rng.dirichlet(np.full(len(classes), alpha))
        pref = rng.dirichlet(np.full(n_cats, alpha)) if n_cats else None
        chosen: set[int] = set()
        for c in rng.choice(classes, size=size, p=mix):
            cand = by_class[int(c)]
            w = np.ones(len(cand))
            if pref is not None and categories is not None:
                cat = categories[cand]
                w = np.where(cat >= 0, pref[np.maximum(cat, 0)] * n_cats, 1.0) + 1e-3
            free = np.array([i not in chosen for i in cand])
            if free.any():
                w = w * free
            chosen.add(int(rng.choice(cand, p=w / w.sum())))
        parts.append(np.array(sorted(chosen), np.int64))
    return parts


def partition_corpus(
    corpus: IntentCorpus, n_clients: int, *, alpha: float = 0.5, mean_size: int = 24, seed: int = 0
) -> list[np.ndarray]:
    """Intent and product-category skew when the corpus knows categories, intent skew otherwise."""
    return partition_non_iid(
        corpus.y_train, n_clients, alpha=alpha, mean_size=mean_size, seed=seed, categories=corpus.categories
    )


def save_partitions(corpus: IntentCorpus, parts: list[np.ndarray], path: Path) -> Path:
    """One ``.npz`` every simulated client reads its own slice from (Ray actors get only the path)."""
    offsets = np.cumsum([0] + [len(p) for p in parts])
    np.savez(path, x=corpus.x_train, y=corpus.y_train, idx=np.concatenate(parts), offsets=offsets)
    return path


_loaded: dict[str, dict[str, np.ndarray]] = {}


@dataclass
class PartitionSource:
    """Client ``partition`` of a file written by :func:`save_partitions`."""

    path: str
    partition: int

    def load(self) -> LocalData:
        z = _loaded.get(self.path)
        if z is None:
            with np.load(self.path) as f:
                z = {k: f[k] for k in f.files}
            _loaded[self.path] = z
        lo, hi = int(z["offsets"][self.partition]), int(z["offsets"][self.partition + 1])
        idx = z["idx"][lo:hi]
        return LocalData(x=z["x"][idx], y=z["y"][idx])
