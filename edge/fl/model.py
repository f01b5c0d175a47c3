"""A small softmax head (logistic regression, or a one-hidden-layer MLP) over sentence embeddings, in numpy.

numpy keeps the ClientApp light: a Ray actor or a phone process trains it without torch. Parameters are
an ordered ``dict[str, np.ndarray]`` so they map one-to-one onto a Flower ``ArrayRecord``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class HeadSpec:
    """Shape of the head: input width, classes, hidden width (0 = logistic regression)."""

    dim: int
    classes: int
    hidden: int = 0


def init_params(spec: HeadSpec, seed: int = 0) -> Params:
    rng = np.random.default_rng(seed)
    if spec.hidden <= 0:
        return {"w": np.zeros((spec.dim, spec.classes), np.float32), "b": np.zeros(spec.classes, np.float32)}
    return {
        "w1": (rng.standard_normal((spec.dim, spec.hidden)) * np.sqrt(2.0 / spec.dim)).astype(np.float32),
        "b1": np.zeros(spec.hidden, np.float32),
        "w": (rng.standard_normal((spec.hidden, spec.classes)) * np.sqrt(1.0 / spec.hidden)).astype(np.float32),
        "b": np.zeros(spec.classes, np.float32),
    }


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _forward(p: Params, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    if "w1" in p:
        h = np.maximum(x @ p["w1"] + p["b1"], 0.0)
        return h @ p["w"] + p["b"], h
    return x @ p["w"] + p["b"], None


def predict_proba(p: Params, x: np.ndarray) -> np.ndarray:
    return _softmax(_forward(p, x)[0])


def predict(p: Params, x: np.ndarray) -> np.ndarray:
    return np.asarray(_forward(p, x)[0].argmax(axis=1))


def _grads(p: Params, x: np.ndarray, y: np.ndarray, l2: float, sw: np.ndarray | None = None) -> tuple[Params, float]:
    logits, h = _forward(p, x)
    prob = _softmax(logits)
    n = len(y)
    sw = np.ones(n, np.float32) if sw is None else sw
    loss = float((-np.log(prob[np.arange(n), y] + 1e-12) * sw).mean())
    d = prob
    d[np.arange(n), y] -= 1.0
    d *= sw[:, None] / n
    g: Params = {}
    top = h if h is not None else x
    g["w"] = top.T @ d + l2 * p["w"]
    g["b"] = d.sum(axis=0)
    if h is not None:
        dh = (d @ p["w"].T) * (h > 0)
        g["w1"] = x.T @ dh + l2 * p["w1"]
        g["b1"] = dh.sum(axis=0)
    return g, loss


def train(
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    *,
    steps: int,
    lr: float = 5.0,
    batch_size: int = 32,
    l2: float = 1e-4,
    proximal_mu: float = 0.0,
    seed: int = 0,
    balanced: bool = False,
) -> tuple[Params, float]:
    """Minibatch SGD from ``params``; ``proximal_mu`` > 0 adds FedProx's (mu/2)·||w - w_global||² term.

    ``balanced``: weigh each class by the inverse of its share *in this data* (a device knows only its own
    counts), so a rare outcome such as "the cloud was better" is not drowned out."""
    rng = np.random.default_rng(seed)
    weights = None
    if balanced and len(y):
        counts = np.bincount(y, minlength=int(y.max()) + 1).astype(np.float32)
        present = counts > 0
        weights = np.where(present, len(y) / (present.sum() * np.maximum(counts, 1)), 0.0)[y].astype(np.float32)
    anchor = {k: v.copy() for k, v in params.items()}
    p = {k: v.astype(np.float32).copy() for k, v in params.items()}
    loss = float("nan")
    for _ in range(max(steps, 0)):
        idx = rng.choice(len(y), size=min(batch_size, len(y)), replace=False)
        g, loss = _grads(p, x[idx], y[idx], l2, None if weights is None else weights[idx])
        for k in p:
            step = g[k] + (proximal_mu * (p[k] - anchor[k]) if proximal_mu > 0 else 0.0)
            p[k] = (p[k] - lr * step).astype(np.float32)
    return p, loss


def evaluate(p: Params, x: np.ndarray, y: np.ndarray, classes: int) -> dict[str, float]:
    """Accuracy and macro-F1 (over the classes present in ``y`` or predicted)."""
    if len(y) == 0:
        return {"accuracy": float("nan"), "macro_f1": float("nan")}
    pred = predict(p, x)
    f1s = []
    for c in range(classes):
        tp = int(((pred == c) & (y == c)).sum())
        fp = int(((pred == c) & (y != c)).sum())
        fn = int(((pred != c) & (y == c)).sum())
        if tp + fp + fn == 0:
            continue
        f1s.append(2 * tp / (2 * tp + fp + fn))
    return {"accuracy": float((pred == y).mean()), "macro_f1": float(np.mean(f1s))}
