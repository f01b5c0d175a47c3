"""Each numpy-head task as data + held-out scoring: the intent head and the router head share every other part.

``intent``: macro-F1 and accuracy over the intent classes. ``router``: decision accuracy of "the cloud answer
is better", macro-F1, ROC AUC of P(cloud better), and the routed quality relative to cloud-only when the
top 50 % by P(cloud better) escalate (what the head is for). The LoRA task is torch and lives in ``lora.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from frugalstack.edge.fl import model
from frugalstack.edge.fl.data import IntentCorpus, load_intent_corpus
from frugalstack.shared.errors import ConfigError

Evaluator = Callable[[model.Params], dict[str, float]]


def load_corpus(
    task: str, pairs: str | Path | None = None, fold: int | None = None, folds: int = 4
) -> IntentCorpus:
    """``fold``/``folds``: router only, K-fold cross-validation over all pairs (see ``load_router_corpus``)."""
    if task == "intent":
        return load_intent_corpus()
    if task == "router":
        from frugalstack.edge.fl.router_data import load_router_corpus

        return load_router_corpus(Path(pairs) if pairs else None, fold=fold, folds=folds)
    raise ConfigError(f"task {task!r} has no numpy head", hint="use intent or router")


def evaluator(task: str, corpus: IntentCorpus, x: np.ndarray | None = None, y: np.ndarray | None = None) -> Evaluator:
    """Held-out scoring for ``task`` on ``(x, y)`` (default: the corpus's test split)."""
    xs = corpus.x_test if x is None else x
    ys = corpus.y_test if y is None else y
    classes = len(corpus.classes)

    def intent(params: model.Params) -> dict[str, float]:
        return model.evaluate(params, xs, ys, classes)

    def router(params: model.Params) -> dict[str, float]:
        from frugalstack.edge.fl.router_data import auc, routed_quality

        out = model.evaluate(params, xs, ys, classes)
        p_cloud = model.predict_proba(params, xs)[:, 1]
        out["auc"] = auc(p_cloud, ys)
        if x is None:  # the arm scores belong to the test split
            out["quality_rel_at_50pct_cloud"] = routed_quality(
                p_cloud, corpus.extra["edge_test"], corpus.extra["cloud_test"], 0.5
            )
        return out

    return router if task == "router" else intent
