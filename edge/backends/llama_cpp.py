"""llama.cpp backend (GGUF) through llama-cpp-python.

It drives ``Llama.generate`` token by token, the same loop llama-cpp-python's own completion API uses,
so the overhead over calling the library directly stays small, and it reads per-token logprobs from the
last logits row without ``logits_all`` (which would cost n_ctx x n_vocab floats).
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import sys
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
from frugalstack.edge.gguf import read_gguf
from frugalstack.shared.errors import (
    GenerationError,
    MissingDependencyError,
    ModelLoadError,
    UnsupportedFeature,
    ValidationError,
)
from frugalstack.shared.schemas import Usage

if TYPE_CHECKING:
    from frugalstack.edge.catalog import ModelSpec
    from frugalstack.edge.profiles import RuntimeSettings


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError:
        raise MissingDependencyError("llama-cpp-python", "edge", purpose="the llama.cpp backend") from None
    return llama_cpp


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence llama.cpp's C-level logging on fd 2 while loading (it ignores ``verbose`` in places)."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


class _StopMatcher:
    """Finds stop sequences in streamed text, holding back a tail that could start one."""

    def __init__(self, stops: list[str]):
        self.stops = [s for s in stops if s]
        self.hold = max((len(s) for s in self.stops), default=1) - 1
        self.buffer = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """Return (text safe to emit, stopped)."""
        if not self.stops:
            return text, False
        self.buffer += text
        cut = min((i for i in (self.buffer.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            out, self.buffer = self.buffer[:cut], ""
            return out, True
        if len(self.buffer) <= self.hold:
            return "", False
        out, self.buffer = self.buffer[: len(self.buffer) - self.hold], self.buffer[len(self.buffer) - self.hold :]
        return out, False

    def flush(self) -> str:
        out, self.buffer = self.buffer, ""
        return out


class LlamaCppBackend(BaseBackend):
    name: ClassVar[str] = "llama_cpp"
    features: ClassVar[frozenset[Feature]] = frozenset(
        {
            Feature.STREAM, Feature.LOGPROBS, Feature.STOP, Feature.SEED, Feature.CHAT, Feature.JSON_SCHEMA,
            Feature.IGNORE_EOS,
        }
    )

    def __init__(self) -> None:
        self._llm: Any = None
        self._formatter: Any = None
        self._n_vocab = 0
        self._vocab: Any = None
        self._pieces: dict[tuple[int, bool], bytes] = {}

    def load(self, path: Path, spec: ModelSpec, settings: RuntimeSettings) -> None:
        info = read_gguf(path)  # raises ModelLoadError before llama.cpp can abort on a bad file
        llama_cpp = _import_llama_cpp()
        n_ctx = settings.context_size
        if info.context_length:
            n_ctx = min(n_ctx, info.context_length)
        try:
            with _quiet_stderr():
                self._llm = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=settings.threads,
                    n_threads_batch=settings.threads,
                    n_batch=min(settings.batch_size, n_ctx),
                    logits_all=False,
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(f"llama.cpp could not load {path}: {exc}") from exc
        self._n_vocab = self._llm.n_vocab()
        self._vocab = self._llm._model.vocab
        template = self._llm.metadata.get("tokenizer.chat_template")
        if template:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            model = self._llm._model
            eos, bos = model.token_eos(), model.token_bos()
            self._formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=model.token_get_text(eos) if eos != -1 else "",
                bos_token=model.token_get_text(bos) if bos != -1 else "",
            )

    @property
    def context_size(self) -> int:
        return int(self._llm.n_ctx())

    @property
    def llama(self) -> Any:
        """The underlying ``llama_cpp.Llama`` (for benchmarks and advanced use)."""
        return self._llm

    def _prompt_tokens(self, request: GenerationRequest) -> list[int]:
        if request.messages is not None:
            if self._formatter is None:
                raise UnsupportedFeature("this GGUF model has no chat template; use complete() with a prompt")
            try:
                rendered = self._formatter(messages=[m.model_dump() for m in request.messages]).prompt
            except Exception as exc:  # jinja templates raise arbitrary errors on odd input
                raise ValidationError(f"chat template rejected the messages: {exc}") from exc
            return list(self._llm.tokenize(rendered.encode("utf-8"), add_bos=False, special=True))
        assert request.prompt is not None
        return list(self._llm.tokenize(request.prompt.encode("utf-8"), add_bos=True, special=False))

    def count_prompt_tokens(self, request: GenerationRequest) -> int:
        return len(self._prompt_tokens(request))

    def _encode(self, text: str) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _decode(self, ids: list[int]) -> str:
        return str(self._llm.detokenize(ids).decode("utf-8", errors="ignore"))

    def _piece(self, token: int, special: bool = False) -> bytes:
        """Bytes of one token (cached; llama-cpp-python's own helper pads with NULs)."""
        key = (token, special)
        piece = self._pieces.get(key)
        if piece is None:
            import ctypes

            import llama_cpp

            size = 64
            while True:
                buf = ctypes.create_string_buffer(size)
                n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, size, 0, special)
                if n >= 0:
                    piece = buf.raw[:n]
                    break
                size = -n
            self._pieces[key] = piece
        return piece

    def _grammar(self, schema: dict[str, Any] | None) -> Any:
        if schema is None:
            return None
        from llama_cpp import LlamaGrammar

        try:
            with _quiet_stderr():
                return LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        except Exception as exc:
            raise ValidationError(f"cannot turn the JSON schema into a grammar: {exc}") from exc

    def _logprobs(self, token: int, top_n: int) -> tuple[float, dict[str, float]]:
        import llama_cpp

        ptr = llama_cpp.llama_get_logits_ith(self._llm._ctx.ctx, -1)
        logits = np.ctypeslib.as_array(ptr, shape=(self._n_vocab,))
        peak = float(logits.max())
        log_z = peak + float(np.log(np.exp(logits - peak).sum()))
        top: dict[str, float] = {}
        if top_n:
            idx = np.argpartition(logits, -top_n)[-top_n:]
            for i in idx[np.argsort(logits[idx])[::-1]]:
                piece = self._piece(int(i), special=True).decode("utf-8", errors="replace")
                top[piece] = float(logits[i]) - log_z
        return float(logits[token]) - log_z, top

    def generate(self, request: GenerationRequest) -> Iterator[Event]:
        self.check_features(request)
        llama_cpp = _import_llama_cpp()
        llm = self._llm
        tokens = self._prompt_tokens(request)
        n_prompt = len(tokens)
        budget = min(request.max_tokens, self.context_size - n_prompt)
        if budget <= 0:
            raise ValidationError("the prompt fills the whole context; nothing left to generate")
        if request.seed is not None:
            llm.set_seed(request.seed)
        grammar = self._grammar(request.json_schema)
        want_logprobs = request.logprobs or request.top_logprobs > 0
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        stops = _StopMatcher(request.stop)
        n_out = 0
        reason: str = "length"
        cut_by_stop = False
        llm.reset()  # no KV reuse between requests: each request is measured and behaves the same
        try:
            for token in llm.generate(
                tokens,
                top_k=0,
                top_p=request.top_p,
                min_p=0.0,
                temp=request.temperature,
                repeat_penalty=1.0,
                grammar=grammar,
            ):
                if not request.ignore_eos and llama_cpp.llama_vocab_is_eog(self._vocab, token):
                    reason = "stop"
                    break
                n_out += 1
                lp, top = self._logprobs(token, request.top_logprobs) if want_logprobs else (None, {})
                piece = decoder.decode(self._piece(token))
                text, stopped = stops.feed(piece)
                if text or lp is not None:
                    yield TokenEvent(text=text, token_id=int(token), logprob=lp, top_logprobs=top)
                if stopped:
                    reason, cut_by_stop = "stop", True
                    break
                if n_out >= budget:
                    break
        except (RuntimeError, ValueError) as exc:
            raise GenerationError(f"llama.cpp failed while generating: {exc}") from exc
        if not cut_by_stop:
            tail = stops.flush() + decoder.decode(b"", final=True)
            if tail:
                yield TokenEvent(text=tail)
        usage = Usage(input_tokens=n_prompt, output_tokens=n_out)
        yield FinishEvent(reason="stop" if reason == "stop" else "length", usage=usage)

    def close(self) -> None:
        if self._llm is not None:
            with contextlib.suppress(Exception):
                self._llm.close()
            self._llm = None
