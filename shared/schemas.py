"""Wire types that cross the edge/cloud boundary (chat messages, usage, trace records)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    content: str


class Usage(BaseModel):
    input_tokens: int = Field(0, ge=0)
    output_tokens: int = Field(0, ge=0)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class TokenLogprob(BaseModel):
    """One generated token with its log-probability (natural log) and the runner-up tokens."""

    token: str
    token_id: int
    logprob: float
    top_logprobs: dict[str, float] = Field(default_factory=dict)


class TraceRecord(BaseModel):
    """One request as the edge saw it; field names follow the OpenTelemetry GenAI conventions.

    Raw text is absent unless the app opted in: it must never leave the device by accident.
    """

    trace_id: str
    timestamp: float
    operation: str = "chat"
    model: str
    backend: str
    device_profile: str
    input_tokens: int = 0
    output_tokens: int = 0
    duration_ms: float = 0.0
    ttft_ms: float | None = None
    tokens_per_s: float | None = None
    finish_reason: str | None = None
    status: Literal["ok", "error"] = "ok"
    error_type: str | None = None
    prompt: str | None = None
    completion: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)

    def otel_attributes(self) -> dict[str, Any]:
        """The record as OpenTelemetry GenAI span attributes."""
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": self.operation,
            "gen_ai.request.model": self.model,
            "gen_ai.provider.name": self.backend,
            "gen_ai.usage.input_tokens": self.input_tokens,
            "gen_ai.usage.output_tokens": self.output_tokens,
            "gen_ai.client.operation.duration": self.duration_ms / 1000.0,
            "frugal.device_profile": self.device_profile,
            "frugal.status": self.status,
        }
        if self.ttft_ms is not None:
            attrs["gen_ai.server.time_to_first_token"] = self.ttft_ms / 1000.0
        if self.finish_reason:
            attrs["gen_ai.response.finish_reasons"] = [self.finish_reason]
        if self.error_type:
            attrs["error.type"] = self.error_type
        attrs.update(self.attributes)
        return attrs
