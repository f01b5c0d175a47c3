"""Native MLC-LLM backend through ``mlc_llm.MLCEngine``, only where ``mlc_llm`` is importable.

mlc-llm does not ship on PyPI (every ``mlc-*`` name there is a placeholder); it comes from MLC's own
wheel index. Without it this backend raises a clear error saying so; the usual alternative is
``mlc_llm serve`` plus the ``openai_compatible`` backend. The engine speaks the OpenAI API in-process,
so its streamed chunks are translated by the same code as the remote backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from frugalstack.edge.backends.base import BaseBackend, Event, Feature, GenerationRequest
from frugalstack.edge.backends.openai_compatible import chunks_to_events, request_body
from frugalstack.shared.errors import GenerationError, MissingDependencyError, ModelLoadError

if TYPE_CHECKING:
    from frugalstack.edge.catalog import ModelSpec
    from frugalstack.edge.profiles import RuntimeSettings

MLC_HINT = (
    "mlc-llm is not on PyPI (the mlc-* names there are 1 KB placeholders); install it from MLC's wheel "
    "index: pip install --pre -f https://mlc.ai/wheels mlc-llm-nightly-cpu mlc-ai-nightly-cpu "
    "(see https://llm.mlc.ai/docs/install/mlc_llm.html), or run `mlc_llm serve` and use the "
    "openai_compatible backend"
)


def import_mlc() -> Any:
    try:
        import mlc_llm
    except ImportError:
        raise MissingDependencyError("mlc-llm", "mlc", purpose="the native MLC-LLM backend", hint=MLC_HINT) from None
    return mlc_llm


class MlcBackend(BaseBackend):
    name: ClassVar[str] = "mlc"
    features: ClassVar[frozenset[Feature]] = frozenset(
        {Feature.STREAM, Feature.LOGPROBS, Feature.STOP, Feature.SEED, Feature.CHAT, Feature.JSON_SCHEMA}
    )

    def __init__(self) -> None:
        self._engine: Any = None
        self._model = ""
        self._n_ctx = 4096

    def load(self, path: Path, spec: ModelSpec, settings: RuntimeSettings) -> None:
        mlc_llm = import_mlc()
        device = {"CPU": "cpu", "GPU": "auto", "NPU": "auto", "AUTO": "auto"}[settings.device]
        try:
            self._engine = mlc_llm.MLCEngine(model=str(path), device=device, mode="local")
        except Exception as exc:  # tvm raises its own error types
            raise ModelLoadError(f"MLCEngine could not load {path}: {exc}") from exc
        self._model = str(path)
        self._n_ctx = min(spec.context_length or settings.context_size, settings.context_size)

    @property
    def context_size(self) -> int:
        return self._n_ctx

    def count_prompt_tokens(self, request: GenerationRequest) -> int:
        text = request.prompt or "".join(m.content for m in request.messages or [])
        return max(1, len(text) // 4)  # MLCEngine exposes no tokenizer count; an estimate for the overflow check

    def truncate(self, request: GenerationRequest, max_prompt_tokens: int) -> GenerationRequest:
        from frugalstack.edge.backends.openai_compatible import OpenAICompatibleBackend

        return OpenAICompatibleBackend.truncate(self, request, max_prompt_tokens)  # type: ignore[arg-type]

    def generate(self, request: GenerationRequest) -> Iterator[Event]:
        self.check_features(request)
        body = request_body(request, self._model)
        body.pop("model")
        api = self._engine.chat.completions if request.messages is not None else self._engine.completions
        want_lp = request.logprobs or request.top_logprobs > 0
        try:
            chunks = (c.model_dump() if hasattr(c, "model_dump") else c for c in api.create(**body))
            yield from chunks_to_events(chunks, want_lp, self.count_prompt_tokens(request))
        except (RuntimeError, ValueError) as exc:
            raise GenerationError(f"MLC-LLM failed while generating: {exc}") from exc

    def close(self) -> None:
        if self._engine is not None:
            self._engine.terminate()
            self._engine = None
