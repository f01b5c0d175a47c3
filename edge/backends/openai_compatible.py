"""A remote model server speaking ``/v1/chat/completions``: MLC-LLM serve, Ollama, llama-server, vLLM, ...

Configured by a catalogue entry whose source is a ``RemoteEndpoint`` (base URL, served model name,
API-key env var) or by the constructor. It streams (SSE) and passes logprobs, stop, seed and
``response_format`` through; logprobs come back only when the server returns them (a warning is logged
when it does not). Without a tokenizer, prompt tokens are estimated (4 characters per token) for the
runtime's overflow check; usage figures come from the server when it reports them.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from frugalstack.edge.backends.base import (
    BaseBackend,
    Event,
    Feature,
    FinishEvent,
    GenerationRequest,
    TokenEvent,
)
from frugalstack.shared.errors import (
    ConfigError,
    FrugalError,
    UnknownModelError,
    UpstreamError,
    ValidationError,
)
from frugalstack.shared.schemas import Usage

if TYPE_CHECKING:
    from frugalstack.edge.catalog import ModelSpec
    from frugalstack.edge.profiles import RuntimeSettings

log = logging.getLogger("frugalstack.edge.backends.openai_compatible")


def request_body(request: GenerationRequest, model: str, stream: bool = True) -> dict[str, Any]:
    """The OpenAI request for a ``GenerationRequest`` (chat when it has messages, else a completion)."""
    body: dict[str, Any] = {"model": model, "max_tokens": request.max_tokens, "temperature": request.temperature,
                            "top_p": request.top_p, "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    if request.stop:
        body["stop"] = request.stop
    if request.seed is not None:
        body["seed"] = request.seed
    want_lp = request.logprobs or request.top_logprobs > 0
    if request.messages is not None:
        body["messages"] = [m.model_dump() for m in request.messages]
        if want_lp:
            body["logprobs"] = True
            if request.top_logprobs:
                body["top_logprobs"] = request.top_logprobs
        if request.json_schema is not None:
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": "response", "schema": request.json_schema}}
    else:
        body["prompt"] = request.prompt
        if want_lp:
            body["logprobs"] = max(1, request.top_logprobs)
    return body


def chunks_to_events(chunks: Iterable[dict[str, Any]], want_logprobs: bool, prompt_estimate: int) -> Iterator[Event]:
    """OpenAI stream chunks (chat or completion) as backend events."""
    reason, usage, n_pieces, saw_lp = "length", None, 0, False
    for chunk in chunks:
        if "error" in chunk:
            err = chunk["error"]
            raise UpstreamError(f"the model server failed mid-stream: {err.get('message', err)}")
        if chunk.get("usage"):
            usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            text = choice.get("delta", {}).get("content") if "delta" in choice else choice.get("text")
            lps = choice.get("logprobs") or {}
            items = lps.get("content") or []
            if not items and lps.get("tokens"):  # completion-style logprobs
                items = [{"token": t, "logprob": lp, "top_logprobs": top or {}}
                         for t, lp, top in zip(lps["tokens"], lps["token_logprobs"],
                                               lps.get("top_logprobs") or [{}] * len(lps["tokens"]), strict=False)]
            if text:
                n_pieces += 1
                yield TokenEvent(text=text)
            for it in items:
                saw_lp = True
                top = it.get("top_logprobs") or {}
                if isinstance(top, list):
                    top = {t["token"]: t["logprob"] for t in top}
                yield TokenEvent(text="", token_id=-1, logprob=float(it["logprob"]), top_logprobs=dict(top))
            if choice.get("finish_reason"):
                reason = choice["finish_reason"]
    if want_logprobs and not saw_lp:
        log.warning("logprobs were requested but the model server returned none")
    used = Usage(input_tokens=usage.get("prompt_tokens", 0), output_tokens=usage.get("completion_tokens", 0)) \
        if usage else Usage(input_tokens=prompt_estimate, output_tokens=n_pieces)
    yield FinishEvent(reason="stop" if reason == "stop" else "length", usage=used)


def iter_sse(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            yield json.loads(data)
        except json.JSONDecodeError as exc:
            raise UpstreamError(f"the model server sent a malformed event: {data[:200]!r}") from exc


class OpenAICompatibleBackend(BaseBackend):
    name: ClassVar[str] = "openai_compatible"
    features: ClassVar[frozenset[Feature]] = frozenset(
        {Feature.STREAM, Feature.LOGPROBS, Feature.STOP, Feature.SEED, Feature.CHAT, Feature.JSON_SCHEMA}
    )

    def __init__(self, base_url: str | None = None, model: str | None = None, api_key: str | None = None,
                 timeout_s: float = 120.0):
        self._given = (base_url, model, api_key)
        self.base_url = base_url
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self._n_ctx = 4096
        self._client: Any = None

    def load(self, path: Path, spec: ModelSpec, settings: RuntimeSettings) -> None:
        import httpx

        self.close()
        self.base_url, self.model, self.api_key = self._given
        src = spec.source
        if getattr(src, "kind", None) == "remote":
            self.base_url = self.base_url or src.base_url  # type: ignore[union-attr]
            self.model = self.model or src.model  # type: ignore[union-attr]
            env = src.api_key_env  # type: ignore[union-attr]
            self.api_key = self.api_key or (os.environ.get(env) if env else None)
        self.base_url = self.base_url or os.environ.get("FRUGAL_OPENAI_BASE_URL")
        if not self.base_url:
            raise ConfigError("the openai_compatible backend needs a base URL",
                              hint="use a catalogue entry with a remote source, or set FRUGAL_OPENAI_BASE_URL")
        self.model = self.model or spec.id
        self._n_ctx = min(spec.context_length or settings.context_size, settings.context_size)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        self._client = httpx.Client(base_url=self.base_url.rstrip("/"), headers=headers, timeout=self.timeout_s)

    @property
    def context_size(self) -> int:
        return self._n_ctx

    def count_prompt_tokens(self, request: GenerationRequest) -> int:
        text = request.prompt or "".join(m.content for m in request.messages or [])
        return max(1, len(text) // 4)

    def truncate(self, request: GenerationRequest, max_prompt_tokens: int) -> GenerationRequest:
        from dataclasses import replace

        keep = max_prompt_tokens * 4
        if request.prompt is not None:
            return replace(request, prompt=request.prompt[-keep:])
        msgs = list(request.messages or [])
        last = msgs[-1]
        return replace(request, messages=[*msgs[:-1], last.model_copy(update={"content": last.content[-keep:]})])

    def _raise_for(self, status: int, text: str) -> None:
        try:
            message = json.loads(text)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = text[:300]
        if status == 404:
            raise UnknownModelError(f"model server: {message}")
        if 400 <= status < 500:
            raise ValidationError(f"model server rejected the request ({status}): {message}")
        raise UpstreamError(f"model server error {status}: {message}")

    def generate(self, request: GenerationRequest) -> Iterator[Event]:
        import httpx

        self.check_features(request)
        path = "/chat/completions" if request.messages is not None else "/completions"
        body = request_body(request, self.model or "")
        want_lp = request.logprobs or request.top_logprobs > 0
        try:
            with self._client.stream("POST", path, json=body) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    self._raise_for(resp.status_code, resp.text)
                yield from chunks_to_events(iter_sse(resp.iter_lines()), want_lp, self.count_prompt_tokens(request))
        except FrugalError:
            raise
        except httpx.HTTPError as exc:
            raise UpstreamError(f"cannot reach the model server at {self.base_url}: {exc}") from exc

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
