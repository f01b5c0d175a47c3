"""Linear heads over the shared MiniLM embedding: prompt-injection (binary) and scope (intents).

Training uses scikit-learn's logistic regression on the shipped labelled sets; inference is a numpy dot
product, so the rails never import scikit-learn. Heads ship as JSON (``data/heads.json``) with the
cross-validated precision/recall measured at training time; ``frugal guard train`` rebuilds them.
"""

from __future__ import annotations

import json
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from frugalstack.shared.errors import ConfigError, MissingDependencyError

HEADS_FILE = "data/heads.json"


class LinearHead(BaseModel):
    """softmax(W·x + b) over ``classes`` (binary heads store two classes)."""

    name: str
    classes: list[str]
    coef: list[list[float]]
    intercept: list[float]
    embedder: str
    n_train: int
    metrics: dict[str, float] = {}

    def proba(self, vectors: np.ndarray) -> np.ndarray:
        w = np.asarray(self.coef, dtype=np.float32)
        b = np.asarray(self.intercept, dtype=np.float32)
        logits = vectors @ w.T + b
        if logits.shape[1] == 1:  # sklearn's binary form: one logit for classes[1]
            p1 = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            return np.stack([1.0 - p1, p1], axis=1)
        logits = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return np.asarray(e / e.sum(axis=1, keepdims=True))


_lock = threading.Lock()
_heads: dict[str, LinearHead] | None = None


def load_heads(path: Path | None = None) -> dict[str, LinearHead]:
    """The shipped heads (cached), or those in ``path``."""
    global _heads
    if path is not None:
        return _parse(Path(path).read_text("utf-8"), str(path))
    with _lock:
        if _heads is None:
            text = resources.files("frugalstack.edge.guard").joinpath(HEADS_FILE).read_text("utf-8")
            _heads = _parse(text, HEADS_FILE)
        return _heads


def _parse(text: str, where: str) -> dict[str, LinearHead]:
    try:
        raw = json.loads(text)
        return {k: LinearHead.model_validate(v) for k, v in raw.items()}
    except Exception as exc:
        raise ConfigError(f"cannot read classifier heads from {where}: {exc}", hint="run `frugal guard train`") from exc


def read_jsonl(name: str) -> list[dict[str, Any]]:
    text = resources.files("frugalstack.edge.guard").joinpath(f"data/{name}").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def train_head(name: str, texts: list[str], labels: list[str], embedder: Any, *, c: float = 4.0) -> LinearHead:
    """Fit a logistic regression on embeddings; 5-fold CV gives the precision/recall stored with it."""
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import precision_recall_fscore_support
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
    except ImportError:
        raise MissingDependencyError("scikit-learn", "guard", purpose="training guard classifiers") from None
    x = embedder.embed(texts)
    y = np.asarray(labels)
    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    classes = sorted(set(labels))
    probs = cross_val_predict(model, x, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")
    positive = "injection" if "injection" in classes else "out_of_scope"
    # The operating threshold is chosen on out-of-fold training predictions (best F1), never on the eval set.
    p_pos = probs[:, classes.index(positive)]
    truth = y == positive
    best = max(np.arange(0.2, 0.81, 0.05), key=lambda t: _f1(truth, p_pos >= t))
    p, r, f, _ = precision_recall_fscore_support(truth, p_pos >= best, average="binary")
    model.fit(x, y)
    return LinearHead(
        name=name,
        classes=[str(c_) for c_ in model.classes_],
        coef=model.coef_.tolist(),
        intercept=model.intercept_.tolist(),
        embedder=embedder.name,
        n_train=len(texts),
        metrics={
            "cv_precision": round(float(p), 4),
            "cv_recall": round(float(r), 4),
            "cv_f1": round(float(f), 4),
            "threshold": round(float(best), 2),
        },
    )


def _f1(truth: np.ndarray, pred: np.ndarray) -> float:
    tp = float((truth & pred).sum())
    return 2 * tp / max(1.0, float(truth.sum() + pred.sum()))


def train_all(out: Path | None = None, embedder: Any | None = None) -> dict[str, LinearHead]:
    """Train the injection and scope heads from the shipped sets and write them as JSON."""
    from frugalstack.edge.guard.embed import get_embedder

    emb = embedder or get_embedder()
    inj = read_jsonl("injection_train.jsonl")
    scope = read_jsonl("scope_train.jsonl")
    heads = {
        "injection": train_head("injection", [r["text"] for r in inj], [r["label"] for r in inj], emb),
        "scope": train_head("scope", [r["text"] for r in scope], [r["intent"] for r in scope], emb, c=8.0),
    }
    target = out or Path(str(resources.files("frugalstack.edge.guard").joinpath(HEADS_FILE)))
    target.write_text(json.dumps({k: h.model_dump() for k, h in heads.items()}) + "\n", "utf-8")
    global _heads
    with _lock:
        _heads = None
    return heads
