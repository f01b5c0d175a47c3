"""Where a client's examples come from, behind one small protocol.

A device trains on its own labelled messages: the local feedback store when it exists, or, for simulation,
one non-IID partition of the shipped e-commerce intent queries. Texts are embedded once with the shared
MiniLM (``frugalstack.edge.guard.embed``) and cached as ``.npz``; clients only ever see vectors and labels.
The held-out set is the independent, hand-written ``edge/evaluation/data/intents.jsonl`` (texts and their
paraphrases), never used for training.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

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


def cache_dir() -> Path:
    d = Path(os.environ.get("FRUGAL_FL_CACHE", Path.home() / ".cache" / "frugalstack" / "fl"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def _intent_texts() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    from frugalstack.edge.guard.train_texts import scope_texts

    raw = resources.files("frugalstack.edge.evaluation").joinpath("data/intents.jsonl").read_text("utf-8")
    test: list[tuple[str, str]] = []
    for line in raw.splitlines():
        if line.strip():
            row = json.loads(line)
            test += [(row["text"], row["intent"]), (row["paraphrase"], row["intent"])]
    held = {t.lower() for t, _ in test}
    pool: set[tuple[str, str]] = set()
    for seed in TRAIN_SEEDS:
        pool |= set(scope_texts(seed))
    train = sorted((t, c) for t, c in pool if t.lower() not in held)
    return train, test


def load_intent_corpus(embedder: str | None = None) -> IntentCorpus:
    """Embed (once, cached by content hash) the intent training pool and the held-out set."""
    train, test = _intent_texts()
    classes = sorted({c for _, c in train} | {c for _, c in test})
    digest = hashlib.sha256(json.dumps([train, test]).encode()).hexdigest()[:16]
    path = cache_dir() / f"intent-{digest}.npz"
    if not path.exists():
        from frugalstack.edge.guard.embed import get_embedder

        emb = get_embedder(embedder)
        x_train = emb.embed([t for t, _ in train])
        x_test = emb.embed([t for t, _ in test])
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, x_train=x_train, x_test=x_test)
        tmp.replace(path)
    with np.load(path) as z:
        x_train, x_test = z["x_train"], z["x_test"]
    index = {c: i for i, c in enumerate(classes)}
    return IntentCorpus(
        classes=classes,
        x_train=x_train.astype(np.float32),
        y_train=np.array([index[c] for _, c in train], np.int64),
        x_test=x_test.astype(np.float32),
        y_test=np.array([index[c] for _, c in test], np.int64),
        train_texts=[t for t, _ in train],
        path=path,
    )


def partition_non_iid(
    y: np.ndarray, n_clients: int, *, alpha: float = 0.5, mean_size: int = 24, seed: int = 0
) -> list[np.ndarray]:
    """Per-device intent skew (Dirichlet(alpha) over classes) and size skew (log-normal sizes, 2..4x mean).

    A device draws its examples without replacement from each class's pool; when a pool runs dry it is
    reshuffled (many customers ask the same templated question), so sizes do not depend on pool size.
    """
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    pools = {int(c): list(rng.permutation(np.flatnonzero(y == c))) for c in classes}
    cursor = dict.fromkeys(pools, 0)
    parts: list[np.ndarray] = []
    for _ in range(n_clients):
        size = int(np.clip(rng.lognormal(np.log(mean_size), 0.8), 2, 4 * mean_size))
        mix = rng.dirichlet(np.full(len(classes), alpha))
        labels = rng.choice(classes, size=size, p=mix)
        idx = []
        for c in labels:
            pool = pools[int(c)]
            if cursor[int(c)] >= len(pool):
                rng.shuffle(pool)
                cursor[int(c)] = 0
            idx.append(pool[cursor[int(c)]])
            cursor[int(c)] += 1
        parts.append(np.array(sorted(set(idx)), np.int64))
    return parts


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
