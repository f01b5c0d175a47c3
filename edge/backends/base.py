"""The backend protocol every inference runtime implements.

A backend does one thing: turn a ``GenerationRequest`` into a stream of ``TokenEvent`` ending with a
``FinishEvent``. Timing, telemetry, overflow policy and the non-streaming API live in the runtime, so a
new backend stays one small file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

from frugalstack.shared.errors import UnsupportedFeature, ValidationError
from frugalstack.shared.schemas import ChatMessage, Usage

if TYPE_CHECKING:
    from frugalstack.edge.catalog import ModelSpec
    from frugalstack.edge.profiles import RuntimeSettings


class Feature(StrEnum):
    STREAM = "stream"
    LOGPROBS = "logprobs"
    STOP = "stop"
    SEED = "seed"
    CHAT = "chat"
    JSON_SCHEMA = "json_schema"
    IGNORE_EOS = "ignore_eos"
    EMBEDDINGS = "embeddings"


@dataclass
class GenerationRequest:
    """What to generate: either chat ``messages`` (the backend applies the chat template) or a ``prompt``."""

    messages: list[ChatMessage] | None = None
    prompt: str | None = None
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    logprobs: bool = False
    top_logprobs: int = 0
    json_schema: dict[str, Any] | None = None
    ignore_eos: bool = False  # benchmarks: generate exactly max_tokens

    def validate(self) -> None:
        if (self.messages is None) == (self.prompt is None):
            raise ValidationError("give exactly one of messages or prompt")
        if self.messages is not None and not self.messages:
            raise ValidationError("messages is empty")
        text = self.prompt if self.prompt is not None else "".join(m.content for m in self.messages or [])
        if not text.strip():
            raise ValidationError("the prompt is empty")
        if not 1 <= self.max_tokens <= 1_000_000:
            raise ValidationError(f"max_tokens must be between 1 and 1000000, got {self.max_tokens}")
        if not 0.0 <= self.temperature <= 2.0:
            raise ValidationError(f"temperature must be between 0 and 2, got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValidationError(f"top_p must be in (0, 1], got {self.top_p}")
        if not 0 <= self.top_logprobs <= 20:
            raise ValidationError(f"top_logprobs must be between 0 and 20, got {self.top_logprobs}")
        if len(self.stop) > 16:
            raise ValidationError("at most 16 stop sequences")

    def features(self) -> set[Feature]:
        used = {Feature.CHAT} if self.messages is not None else set()
        if self.logprobs or self.top_logprobs:
            used.add(Feature.LOGPROBS)
        if self.stop:
            used.add(Feature.STOP)
        if self.seed is not None:
            used.add(Feature.SEED)
        if self.json_schema is not None:
            used.add(Feature.JSON_SCHEMA)
        if self.ignore_eos:
            used.add(Feature.IGNORE_EOS)
        return used


@dataclass
class TokenEvent:
    """One generated piece of text (usually one token)."""

    text: str
    token_id: int | None = None
    logprob: float | None = None
    top_logprobs: dict[str, float] = field(default_factory=dict)


@dataclass
class FinishEvent:
    """The last event of every stream."""

    reason: Literal["stop", "length"]
    usage: Usage


Event = TokenEvent | FinishEvent


@runtime_checkable
class Backend(Protocol):
    """What the runtime needs from an inference engine."""

    name: ClassVar[str]
    features: ClassVar[frozenset[Feature]]

    def load(self, path: Path, spec: ModelSpec, settings: RuntimeSettings) -> None: ...

    @property
    def context_size(self) -> int: ...

    def count_prompt_tokens(self, request: GenerationRequest) -> int: ...

    def truncate(self, request: GenerationRequest, max_prompt_tokens: int) -> GenerationRequest: ...

    def generate(self, request: GenerationRequest) -> Iterator[Event]: ...

    def close(self) -> None: ...


class BaseBackend:
    """Shared helpers; subclasses set ``name`` and ``features``."""

    name: ClassVar[str] = "base"
    features: ClassVar[frozenset[Feature]] = frozenset()

    def count_prompt_tokens(self, request: GenerationRequest) -> int:
        raise NotImplementedError

    def _encode(self, text: str) -> list[int]:
        """Token ids of plain text (no special tokens); backends that truncate implement it."""
        raise NotImplementedError

    def _decode(self, ids: list[int]) -> str:
        raise NotImplementedError

    def truncate(self, request: GenerationRequest, max_prompt_tokens: int) -> GenerationRequest:
        """Keep the system message and the newest turns; cut the oldest text first."""
        if request.prompt is not None:
            ids = self._encode(request.prompt)
            return replace(request, prompt=self._decode(ids[-max(1, max_prompt_tokens - 1) :]))
        messages = list(request.messages or [])
        system = [m for m in messages if m.role == "system"][:1]
        rest = [m for m in messages if m not in system]
        while len(rest) > 1 and self.count_prompt_tokens(replace(request, messages=system + rest)) > max_prompt_tokens:
            rest.pop(0)
        trimmed = replace(request, messages=system + rest)
        over = self.count_prompt_tokens(trimmed) - max_prompt_tokens
        if over > 0:  # the newest message alone is too long: keep its end
            last = rest[-1]
            ids = self._encode(last.content)
            text = self._decode(ids[-max(1, len(ids) - over - 8) :])
            trimmed = replace(request, messages=[*system, *rest[:-1], ChatMessage(role=last.role, content=text)])
        return trimmed

    def check_features(self, request: GenerationRequest) -> None:
        missing = request.features() - set(self.features)
        if missing:
            names = ", ".join(sorted(f.value for f in missing))
            raise UnsupportedFeature(f"backend {self.name!r} does not support: {names}")
