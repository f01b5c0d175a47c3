"""A shared decode loop for runtimes that give next-token logits (torch, ONNX Runtime, OpenVINO, LiteRT).

Sampling, logprobs, stop sequences, seeds, chat templates and JSON-schema constraints (a token mask, see
``_jsonschema``) live here once, so the four backends only implement ``_reset`` and ``_forward`` and behave
identically given the same logits.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from frugalstack.edge.backends.base import (
    BaseBackend,
    Event,
    Feature,
    FinishEvent,
    GenerationRequest,
    TokenEvent,
)
from frugalstack.edge.backends.llama_cpp import _StopMatcher
from frugalstack.shared.errors import UnsupportedFeature, ValidationError
from frugalstack.shared.schemas import Usage

if TYPE_CHECKING:
    from frugalstack.edge.backends._jsonschema import JsonConstraint, TokenTable
    from frugalstack.edge.catalog import ModelSpec
    from frugalstack.edge.profiles import RuntimeSettings


def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    peak = x.max()
    return x - (peak + np.log(np.exp(x - peak).sum()))


def sample(logits: np.ndarray, temperature: float, top_p: float, rng: np.random.Generator) -> int:
    """Greedy at temperature 0, else nucleus sampling with the request's seeded generator."""
    if temperature <= 0.0:
        return int(np.argmax(logits))
    probs = np.exp(log_softmax(logits / temperature))
    if top_p < 1.0:
        order = np.argsort(probs)[::-1]
        keep = order[: int(np.searchsorted(np.cumsum(probs[order]), top_p)) + 1]
        kept = np.zeros_like(probs)
        kept[keep] = probs[keep]
        probs = kept
    probs /= probs.sum()
    return int(rng.choice(len(probs), p=probs))


class StepBackend(BaseBackend):
    """Base of the logits-per-step backends; subclasses load a model and implement two methods."""

    features: ClassVar[frozenset[Feature]] = frozenset(
        {Feature.STREAM, Feature.LOGPROBS, Feature.STOP, Feature.SEED, Feature.CHAT, Feature.JSON_SCHEMA}
    )

    def __init__(self) -> None:
        self._tok: Any = None
        self._n_ctx = 2048
        self._eos: set[int] = set()
        self._table: TokenTable | None = None
        self.model_dir: Path | None = None
        self.spec: ModelSpec | None = None

    # ---------------------------------------------------------------- subclass API
    def _prepare(self, path: Path, settings: RuntimeSettings) -> Path:
        """Return the folder holding the model and its tokenizer (converting ``path`` if needed)."""
        raise NotImplementedError

    def _load_model(self, model_dir: Path, settings: RuntimeSettings) -> None:
        raise NotImplementedError

    def _reset(self) -> None:
        raise NotImplementedError

    def _forward(self, ids: list[int]) -> np.ndarray:
        """Feed ``ids`` after the cached ones; return the last position's logits (1-D float)."""
        raise NotImplementedError

    def score(self, ids: list[int]) -> np.ndarray:
        """Logits at every position of ``ids`` (``[len(ids), vocab]``), for perplexity; subclasses batch it."""
        self._reset()
        rows = [self._forward([tok]) for tok in ids]
        self._reset()
        return np.stack(rows)

    # ---------------------------------------------------------------- protocol
    def load(self, path: Path, spec: ModelSpec, settings: RuntimeSettings) -> None:
        self.spec = spec
        model_dir = self._prepare(Path(path), settings)
        self.model_dir = model_dir
        self._n_ctx = self._context_limit(model_dir, settings.context_size)
        self._load_model(model_dir, settings)
        self._load_tokenizer(model_dir)

    def _load_tokenizer(self, model_dir: Path) -> None:
        from frugalstack.edge.backends._tokenizer import LightTokenizer

        self._tok = LightTokenizer(model_dir)
        self._eos = set(self._tok.eos_token_ids)
        self._table = None

    def _constraint(self, schema: dict[str, Any]) -> JsonConstraint:
        """A per-request mask for ``schema``; the tokenizer's byte table is built on first use, then kept."""
        from frugalstack.edge.backends._jsonschema import JsonConstraint, token_table

        if self._table is None:
            self._table = token_table(self._tok.to_json(), self._eos)
        return JsonConstraint(self._table, schema)

    @staticmethod
    def _context_limit(model_dir: Path, wanted: int) -> int:
        import json

        cfg = model_dir / "config.json"
        if cfg.is_file():
            limit = json.loads(cfg.read_text()).get("max_position_embeddings")
            if isinstance(limit, int) and limit > 0:
                return min(wanted, limit)
        return wanted

    @property
    def context_size(self) -> int:
        return self._n_ctx

    @property
    def tokenizer(self) -> Any:
        return self._tok

    def _prompt_ids(self, request: GenerationRequest) -> list[int]:
        if request.messages is not None:
            if not getattr(self._tok, "chat_template", None):
                raise UnsupportedFeature("this model has no chat template; use complete() with a prompt")
            try:
                text = self._tok.apply_chat_template(
                    [m.model_dump() for m in request.messages], add_generation_prompt=True, tokenize=False
                )
            except Exception as exc:  # jinja templates raise arbitrary errors on odd input
                raise ValidationError(f"chat template rejected the messages: {exc}") from exc
            return list(self._tok.encode(text, add_special_tokens=False))
        assert request.prompt is not None
        return list(self._tok.encode(request.prompt, add_special_tokens=True))

    def count_prompt_tokens(self, request: GenerationRequest) -> int:
        return len(self._prompt_ids(request))

    def _encode(self, text: str) -> list[int]:
        return list(self._tok.encode(text, add_special_tokens=False))

    def _decode(self, ids: list[int]) -> str:
        return str(self._tok.decode(ids))

    def _top(self, logp: np.ndarray, n: int) -> dict[str, float]:
        if not n:
            return {}
        idx = np.argpartition(logp, -n)[-n:]
        return {self._tok.decode([int(i)]): float(logp[i]) for i in idx[np.argsort(logp[idx])[::-1]]
                if np.isfinite(logp[i])}  # under a schema mask, fewer than n tokens may be allowed

    def generate(self, request: GenerationRequest) -> Iterator[Event]:
        self.check_features(request)
        ids = self._prompt_ids(request)
        budget = min(request.max_tokens, self.context_size - len(ids))
        if budget <= 0:
            raise ValidationError("the prompt fills the whole context; nothing left to generate")
        constraint = self._constraint(request.json_schema) if request.json_schema is not None else None
        rng = np.random.default_rng(request.seed)
        want_lp = request.logprobs or request.top_logprobs > 0
        stops = _StopMatcher(request.stop)
        out: list[int] = []
        emitted = ""
        reason, cut = "length", False
        self._reset()
        logits = self._forward(ids)
        while True:
            if constraint is not None:  # logprobs below then describe the distribution actually sampled
                logits = constraint.mask(logits)
            token = sample(logits, request.temperature, request.top_p, rng)
            if token in self._eos:
                reason = "stop"
                break
            if constraint is not None:
                constraint.advance(token)
            out.append(token)
            lp: float | None = None
            top: dict[str, float] = {}
            if want_lp:
                logp = log_softmax(logits)
                lp, top = float(logp[token]), self._top(logp, request.top_logprobs)
            text = self._tok.decode(out, skip_special_tokens=True)
            piece = "" if text.endswith("\ufffd") else text[len(emitted) :]
            if piece:
                emitted = text
            safe, stopped = stops.feed(piece)
            if safe or lp is not None:
                yield TokenEvent(text=safe, token_id=token, logprob=lp, top_logprobs=top)
            if stopped:
                reason, cut = "stop", True
                break
            if constraint is not None and constraint.complete:  # only end-of-sequence could follow
                reason = "stop"
                break
            if len(out) >= budget:
                break
            logits = self._forward([token])
        if not cut:
            tail = stops.flush()
            if tail:
                yield TokenEvent(text=tail)
        yield FinishEvent(reason="stop" if reason == "stop" else "length",
                          usage=Usage(input_tokens=len(ids), output_tokens=len(out)))

    def close(self) -> None:
        self._reset()
