"""Learned: a logistic-regression head that predicts "the cloud answer is better" (RouteLLM / Hybrid LLM).

Input: the query's MiniLM embedding (384-d, unit norm) next to the standardised confidence signals. The
head's parameters are plain numpy arrays (``get_params``/``set_params``, an ordered ``dict[str, ndarray]``)
so Flower can average them like any other client update; the signal normaliser is fixed at central
training time and is *not* federated. A saved head is one ``.npz`` plus a JSON card with its version.

Optional feature-store inputs (``feature_names``, e.g. ``edge.router.features.HEAD_FEATURES``) follow the
signals, standardised by their own fixed ``fmean``/``fstd``; a missing value (NaN, or no features in the
context) is the training mean, i.e. neutral. A head without them has exactly the old shapes, files and
version digest, so heads saved before (and the federated head) still load and verify.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from frugalstack.edge.router.signals import FEATURES, compute
from frugalstack.edge.router.types import RouteContext, ThresholdRouter
from frugalstack.shared.errors import ConfigError, ValidationError

Params = dict[str, np.ndarray]
EMBED_DIM = 384


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))))


class LearnedRouter(ThresholdRouter):
    """P(cloud better | embedding, signals) >= threshold escalates."""

    name = "learned"
    needs_draft = True

    def __init__(self, threshold: float = 0.5, embed_dim: int = EMBED_DIM, use_signals: bool = True,
                 embedder: Any = None, feature_names: Sequence[str] = ()):
        super().__init__(threshold)
        self.embed_dim = embed_dim
        self.use_signals = use_signals
        self.needs_draft = use_signals
        self.feature_names = tuple(feature_names)
        self.dim = embed_dim + (len(FEATURES) if use_signals else 0) + len(self.feature_names)
        self.params: Params = {"w": np.zeros(self.dim, np.float32), "b": np.zeros(1, np.float32)}
        self.mean = np.zeros(len(FEATURES), np.float32)
        self.std = np.ones(len(FEATURES), np.float32)
        self.fmean = np.zeros(len(self.feature_names), np.float32)
        self.fstd = np.ones(len(self.feature_names), np.float32)
        self.version = "untrained"
        self.trained_on: dict[str, Any] = {}
        self._embedder = embedder

    # ------------------------------------------------------------------ parameters (Flower sees these)
    def get_params(self) -> Params:
        return {k: v.copy() for k, v in self.params.items()}

    def set_params(self, params: Params) -> None:
        for k, v in params.items():
            if k not in self.params or np.shape(v) != self.params[k].shape:
                raise ValidationError(f"parameter {k} of shape {np.shape(v)} does not fit the head "
                                      f"({ {n: a.shape for n, a in self.params.items()} })")
        self.params = {k: np.asarray(params[k], np.float32).copy() for k in self.params}
        self.version = self._digest()

    # ------------------------------------------------------------------ features
    def features(self, embedding: np.ndarray, signal_rows: np.ndarray | None,
                 feature_rows: np.ndarray | None = None) -> np.ndarray:
        """Rows of [embedding, standardised signals, standardised feature-store inputs] for the head."""
        x = np.asarray(embedding, np.float32).reshape(-1, self.embed_dim)
        parts = [x]
        if self.use_signals:
            if signal_rows is None:
                raise ValidationError("this learned head needs the draft's signals")
            parts.append((np.asarray(signal_rows, np.float32).reshape(len(x), -1) - self.mean) / self.std)
        if self.feature_names:
            if feature_rows is None:  # no feature store on this device: every input neutral
                parts.append(np.zeros((len(x), len(self.feature_names)), np.float32))
            else:
                f = (np.asarray(feature_rows, np.float32).reshape(len(x), -1) - self.fmean) / self.fstd
                parts.append(np.nan_to_num(f, nan=0.0))
        return x if len(parts) == 1 else np.hstack(parts).astype(np.float32)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return _sigmoid(x @ self.params["w"] + self.params["b"][0])

    def _embed(self, ctx: RouteContext) -> np.ndarray:
        if ctx.embedding is not None:
            return np.asarray(ctx.embedding, np.float32)
        if self._embedder is None:
            from frugalstack.edge.guard.embed import get_embedder

            self._embedder = get_embedder()
        return np.asarray(self._embedder.embed([ctx.query])[0], np.float32)

    def score(self, ctx: RouteContext) -> tuple[float, str]:
        sig = compute(ctx.query, ctx.draft).vector() if self.use_signals else None
        feats = None
        if self.feature_names and ctx.features:
            feats = np.array([float(ctx.features.get(n, np.nan)) for n in self.feature_names], np.float32)
        p = float(self.predict_proba(self.features(self._embed(ctx), sig, feats))[0])
        return p, f"learned head {self.version} gives P(cloud better)={p:.2f}"

    # ------------------------------------------------------------------ training
    def fit(self, x_embed: np.ndarray, signal_rows: np.ndarray | None, y: np.ndarray, *, epochs: int = 300,
            lr: float = 0.5, l2: float = 1e-3, seed: int = 0,
            feature_rows: np.ndarray | None = None) -> dict[str, float]:
        """Full-batch gradient descent on class-balanced log loss; returns the final loss and accuracy."""
        y = np.asarray(y, np.float32).reshape(-1)
        if len(y) < 4 or y.min() == y.max():
            raise ValidationError("training needs at least 4 labelled pairs with both outcomes")
        if self.use_signals and signal_rows is not None:
            s = np.asarray(signal_rows, np.float32)
            self.mean = s.mean(axis=0)
            self.std = np.where(s.std(axis=0) > 1e-6, s.std(axis=0), 1.0).astype(np.float32)
        if self.feature_names and feature_rows is not None:
            f = np.asarray(feature_rows, np.float32).reshape(len(y), -1)
            known = np.isfinite(f)
            cnt = np.maximum(known.sum(axis=0), 1)
            self.fmean = (np.where(known, f, 0.0).sum(axis=0) / cnt).astype(np.float32)
            sd = np.sqrt(np.where(known, (f - self.fmean) ** 2, 0.0).sum(axis=0) / cnt)
            self.fstd = np.where(sd > 1e-6, sd, 1.0).astype(np.float32)
        x = self.features(x_embed, signal_rows, feature_rows)
        pos = y.mean()
        sample_w = np.where(y > 0.5, 0.5 / pos, 0.5 / (1 - pos)).astype(np.float32)
        rng = np.random.default_rng(seed)
        w = (rng.standard_normal(self.dim) * 0.01).astype(np.float32)
        b = np.zeros(1, np.float32)
        for _ in range(epochs):
            p = _sigmoid(x @ w + b[0])
            g = (p - y) * sample_w / len(y)
            w -= lr * (x.T @ g + l2 * w)
            b -= lr * g.sum(keepdims=True)
        self.params = {"w": w, "b": b}
        p = self.predict_proba(x)
        loss = float(-(sample_w * (y * np.log(p + 1e-9) + (1 - y) * np.log(1 - p + 1e-9))).mean())
        self.version = self._digest()
        self.trained_on = {"examples": len(y), "positive_share": round(float(pos), 4),
                           "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        return {"loss": loss, "accuracy": float(((p >= 0.5) == (y > 0.5)).mean())}

    def _digest(self) -> str:
        h = hashlib.sha256()
        for k in sorted(self.params):
            h.update(k.encode() + self.params[k].tobytes())
        h.update(self.mean.tobytes() + self.std.tobytes())
        if self.feature_names:  # heads without feature inputs keep the digest they always had
            h.update("\n".join(self.feature_names).encode() + self.fmean.tobytes() + self.fstd.tobytes())
        return "lr-" + h.hexdigest()[:12]

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write ``path`` (.npz) and ``path.json`` (version, threshold, training card)."""
        p = Path(path).with_suffix(".npz")
        p.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {"mean": self.mean, "std": self.std, **self._feature_arrays(),
                                         **{f"param_{k}": v for k, v in self.params.items()}}
        np.savez(p, **arrays)  # type: ignore[arg-type]
        card = {"version": self.version, "threshold": self.threshold, "embed_dim": self.embed_dim,
                "use_signals": self.use_signals, "features": list(FEATURES), "trained_on": self.trained_on,
                **self._feature_card(), **(extra or {})}
        p.with_suffix(".json").write_text(json.dumps(card, indent=2))
        return p

    def _feature_arrays(self) -> dict[str, np.ndarray]:
        if not self.feature_names:
            return {}
        return {"feature_names": np.array(self.feature_names), "fmean": self.fmean, "fstd": self.fstd}

    def _feature_card(self) -> dict[str, Any]:
        if not self.feature_names:
            return {}
        from frugalstack.edge.router.features import FEATURES_VERSION

        return {"feature_names": list(self.feature_names), "features_version": FEATURES_VERSION}

    def _load_feature_arrays(self, data: Any) -> None:
        if self.feature_names:
            self.fmean, self.fstd = np.asarray(data["fmean"], np.float32), np.asarray(data["fstd"], np.float32)

    @classmethod
    def from_softmax(cls, params: Params, mean: np.ndarray, std: np.ndarray, threshold: float = 0.5, *,
                     feature_names: Sequence[str] = (), fmean: np.ndarray | None = None,
                     fstd: np.ndarray | None = None) -> LearnedRouter:
        """The head a federated run trained (2-class softmax ``{"w": (d, 2), "b": (2,)}``) as a logistic one:
        softmax over two logits is the sigmoid of their difference. A head federated with feature-store
        inputs passes their names and fixed normaliser (``fmean``/``fstd``)."""
        w, b = np.asarray(params["w"], np.float32), np.asarray(params["b"], np.float32)
        if w.ndim != 2 or w.shape[1] != 2 or b.shape != (2,):
            raise ValidationError(f"not a 2-class softmax head: w {w.shape}, b {b.shape}")
        router = cls(threshold, embed_dim=w.shape[0] - len(FEATURES) - len(feature_names), use_signals=True,
                     feature_names=feature_names)
        router.mean, router.std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
        if feature_names:
            router.fmean = np.zeros(len(feature_names), np.float32) if fmean is None else np.asarray(fmean, np.float32)
            router.fstd = np.ones(len(feature_names), np.float32) if fstd is None else np.asarray(fstd, np.float32)
        router.set_params({"w": w[:, 1] - w[:, 0], "b": b[1:] - b[:1]})
        router.trained_on = {"federated": True}
        return router

    def to_bytes(self) -> bytes:
        """One self-contained ``.npz`` (what the registry stores and the manifest points devices at)."""
        import io

        buf = io.BytesIO()
        arrays: dict[str, np.ndarray] = {
            "mean": self.mean, "std": self.std, "threshold": np.array(self.threshold, np.float32),
            "embed_dim": np.array(self.embed_dim, np.int64), "use_signals": np.array(self.use_signals),
            **self._feature_arrays(), **{f"param_{k}": v for k, v in self.params.items()}}
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes, embedder: Any = None) -> LearnedRouter:
        import io

        with np.load(io.BytesIO(blob)) as data:
            names = [str(n) for n in data["feature_names"]] if "feature_names" in data.files else []
            router = cls(float(data["threshold"]), int(data["embed_dim"]), bool(data["use_signals"]), embedder,
                         feature_names=names)
            router.mean, router.std = data["mean"], data["std"]
            router._load_feature_arrays(data)
            router.set_params({k[len("param_"):]: data[k] for k in data.files if k.startswith("param_")})
        return router

    @classmethod
    def load(cls, path: str | Path, embedder: Any = None) -> LearnedRouter:
        p = Path(path).with_suffix(".npz")
        if not p.is_file():
            raise ConfigError(f"no learned router at {p}", hint="train one with `frugal route calibrate`")
        card = json.loads(p.with_suffix(".json").read_text())
        router = cls(card.get("threshold", 0.5), card["embed_dim"], card["use_signals"], embedder,
                     feature_names=card.get("feature_names", ()))  # cards from before feature inputs: none
        with np.load(p) as data:
            router.mean, router.std = data["mean"], data["std"]
            router._load_feature_arrays(data)
            router.set_params({k[len("param_"):]: data[k] for k in data.files if k.startswith("param_")})
        if router.version != card["version"]:
            raise ConfigError(f"learned router {p} does not match its card (version {card['version']})")
        router.trained_on = card.get("trained_on", {})
        return router
