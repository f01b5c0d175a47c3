"""What a generation returns: ``Reply`` (text, usage, timings, trace id, guard verdicts, feedback link) and
``Stream`` (pieces as they come, the ``Reply`` at the end). Kept apart from the runtime so the server,
the guard hook and apps can use the types without the runtime's machinery.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from frugalstack.shared.errors import ConfigError
from frugalstack.shared.schemas import TokenLogprob, Usage


@dataclass
class Reply:
    """A finished generation with the figures apps and the router need."""

    text: str
    model: str
    backend: str
    profile: str
    usage: Usage
    finish_reason: str
    latency_ms: float
    ttft_ms: float | None
    tokens_per_s: float | None
    trace_id: str
    logprobs: list[TokenLogprob] | None = None
    input_guard: Any = None  # GuardVerdict on the user's text when the runtime has a guard (the default)
    output_guard: Any = None  # GuardVerdict on the answer
    feedback_store: Any = field(default=None, repr=False)  # FeedbackStore from Runtime(feedback=...)
    user: str | None = field(default=None, repr=False)  # who asked (feedback consent is per user)

    @property
    def guard_verdict(self) -> Any:
        """The GuardVerdict that withheld this answer (``finish_reason == "content_filter"``), else None."""
        for verdict in (self.output_guard, self.input_guard):
            if verdict is not None and not verdict.allowed:
                return verdict
        return None

    def feedback(self, **what: Any) -> int | None:
        """Record thumbs/rating/correction/chosen_product for this answer, linked to its trace id (and, unless
        ``user_id=`` says otherwise, to the user who asked)."""
        if self.feedback_store is None:
            raise ConfigError("this runtime has no feedback store", hint="Runtime(feedback=FeedbackStore(path))")
        what.setdefault("user_id", self.user)
        result: int | None = self.feedback_store.record(self.trace_id, **what)
        return result

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "text": self.text,
            "model": self.model,
            "backend": self.backend,
            "profile": self.profile,
            "usage": {"input_tokens": self.usage.input_tokens, "output_tokens": self.usage.output_tokens},
            "finish_reason": self.finish_reason,
            "ttft_ms": _round(self.ttft_ms),
            "latency_ms": _round(self.latency_ms),
            "tokens_per_s": _round(self.tokens_per_s),
            "trace_id": self.trace_id,
        }
        if self.logprobs is not None:
            out["logprobs"] = [lp.model_dump() for lp in self.logprobs]
        for key in ("input_guard", "output_guard"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key).public()
        return out


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


@dataclass
class Stream:
    """Iterate for text pieces; ``reply`` is set once the stream is exhausted."""

    _events: Iterator[str]
    reply: Reply | None = field(default=None)

    def __iter__(self) -> Iterator[str]:
        return self._events
