"""The gateway's chat backends: the embedded model through the edge Runtime, or any OpenAI-compatible upstream.

Both speak the same small interface: ``complete`` returns a ``GatewayResult``; ``stream`` yields text pieces
and ends with a ``GatewayResult`` carrying usage.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from frugalstack.cloud.schemas.gateway import ChatCompletionRequest
from frugalstack.cloud.settings import CloudSettings
from frugalstack.shared.errors import FrugalError, UpstreamError


@dataclass
class GatewayResult:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    model: str
    latency_ms: float


class ChatBackend(Protocol):
    model: str

    def complete(self, req: ChatCompletionRequest) -> GatewayResult: ...

    def stream(self, req: ChatCompletionRequest) -> Iterator[str | GatewayResult]: ...

    def close(self) -> None: ...


def _params(req: ChatCompletionRequest) -> dict[str, Any]:
    params: dict[str, Any] = {"max_tokens": req.max_completion_tokens or req.max_tokens or 256}
    if req.temperature is not None:
        params["temperature"] = req.temperature
    if req.top_p is not None:
        params["top_p"] = req.top_p
    if req.seed is not None:
        params["seed"] = req.seed
    if req.stop:
        params["stop"] = [req.stop] if isinstance(req.stop, str) else list(req.stop)
    return params


class LocalBackend:
    """The embedded SmolLM2 GGUF (or any edge-catalogue chat model) run in-process via llama.cpp."""

    def __init__(self, settings: CloudSettings):
        from frugalstack.edge.profiles import get_profile
        from frugalstack.edge.runtime import Runtime

        profile = get_profile(settings.gateway_profile)
        if settings.gateway_threads:
            profile = profile.model_copy(update={
                "runtime": profile.runtime.model_copy(update={"threads": settings.gateway_threads})})
        # No edge guard here: the device already ran its rails before escalating, and an OpenAI-compatible
        # gateway returns what the model says (callers run their own policy).
        self.runtime = Runtime(settings.gateway_model, profile=profile, telemetry=False, guard=False)
        self.model = self.runtime.model_id

    @staticmethod
    def _messages(req: ChatCompletionRequest) -> list[dict[str, str]]:
        return [{"role": "system" if m.role == "developer" else m.role, "content": m.text} for m in req.messages]

    def complete(self, req: ChatCompletionRequest) -> GatewayResult:
        r = self.runtime.chat(self._messages(req), **_params(req))
        return GatewayResult(r.text, r.finish_reason, r.usage.input_tokens, r.usage.output_tokens, r.model,
                             r.latency_ms)

    def stream(self, req: ChatCompletionRequest) -> Iterator[str | GatewayResult]:
        s = self.runtime.stream(self._messages(req), **_params(req))
        yield from s
        r = s.reply
        if r is not None:
            yield GatewayResult(r.text, r.finish_reason, r.usage.input_tokens, r.usage.output_tokens, r.model,
                                r.latency_ms)

    def close(self) -> None:
        self.runtime.close()


class UpstreamBackend:
    """Forward to an OpenAI-compatible server (URL + key); usage comes from its answer."""

    def __init__(self, settings: CloudSettings):
        import httpx

        assert settings.gateway_upstream_url
        headers = {"Authorization": f"Bearer {settings.gateway_upstream_key}"} if settings.gateway_upstream_key else {}
        self.client = httpx.Client(base_url=settings.gateway_upstream_url.rstrip("/"), headers=headers,
                                   timeout=settings.gateway_timeout_s)
        self.model = settings.gateway_model

    def _body(self, req: ChatCompletionRequest, stream: bool) -> dict[str, Any]:
        body = req.model_dump(exclude_none=True, exclude={"stream", "stream_options", "store", "metadata"})
        body["model"] = req.model or self.model
        body["stream"] = stream
        if stream:
            body["stream_options"] = {"include_usage": True}
        return body

    def complete(self, req: ChatCompletionRequest) -> GatewayResult:
        start = time.perf_counter()
        try:
            r = self.client.post("/chat/completions", json=self._body(req, False))
            r.raise_for_status()
            data = r.json()
            choice = data["choices"][0]
            usage = data.get("usage") or {}
            return GatewayResult(choice["message"].get("content") or "", choice.get("finish_reason") or "stop",
                                 int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)),
                                 data.get("model", body_model(req, self.model)), (time.perf_counter() - start) * 1000)
        except FrugalError:
            raise
        except Exception as exc:
            raise UpstreamError(f"upstream chat completion failed: {exc}") from exc

    def stream(self, req: ChatCompletionRequest) -> Iterator[str | GatewayResult]:
        start = time.perf_counter()
        pieces: list[str] = []
        finish, model = "stop", body_model(req, self.model)
        usage: dict[str, Any] = {}
        try:
            with self.client.stream("POST", "/chat/completions", json=self._body(req, True)) as r:
                r.raise_for_status()
                for line in r.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        break
                    chunk = json.loads(payload)
                    model = chunk.get("model", model)
                    usage = chunk.get("usage") or usage
                    for choice in chunk.get("choices", []):
                        piece = (choice.get("delta") or {}).get("content")
                        if piece:
                            pieces.append(piece)
                            yield piece
                        finish = choice.get("finish_reason") or finish
        except Exception as exc:
            raise UpstreamError(f"upstream stream failed: {exc}") from exc
        yield GatewayResult("".join(pieces), finish, int(usage.get("prompt_tokens", 0)),
                            int(usage.get("completion_tokens", 0)), model, (time.perf_counter() - start) * 1000)

    def close(self) -> None:
        self.client.close()


def body_model(req: ChatCompletionRequest, default: str) -> str:
    return req.model or default


def make_backend(settings: CloudSettings) -> ChatBackend:
    return UpstreamBackend(settings) if settings.gateway_upstream_url else LocalBackend(settings)


def cost_usd(settings: CloudSettings, prompt_tokens: int, completion_tokens: int) -> float:
    return (prompt_tokens * settings.gateway_price_in_per_mtok
            + completion_tokens * settings.gateway_price_out_per_mtok) / 1e6
