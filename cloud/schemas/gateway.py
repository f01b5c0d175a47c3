"""OpenAI-compatible chat completion request/response (the subset the gateway serves)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["text"]
    text: str = Field(max_length=200_000)


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[TextPart] = Field(description="text, or OpenAI content parts of type text")

    @field_validator("content")
    @classmethod
    def _text(cls, v: str | list[TextPart]) -> str | list[TextPart]:
        size = len(v) if isinstance(v, str) else sum(len(p.text) for p in v)
        if size > 200_000:
            raise ValueError("message content is over 200000 characters")
        return v

    @property
    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(p.text for p in self.content)


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [{"model": "smollm2-135m-instruct-q4_1",
                                         "messages": [{"role": "user", "content": "Is the backpack waterproof?"}],
                                         "max_tokens": 64}]},
    )

    model: str | None = Field(None, max_length=200)
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=500)
    max_tokens: int | None = Field(None, ge=1, le=8192)
    max_completion_tokens: int | None = Field(None, ge=1, le=8192)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    store: bool = Field(False, description="keep the prompt text; needs metadata.use_case whose governance "
                                           "record allows raw prompts (else 403). Default: never kept")
    metadata: dict[str, str] | None = Field(None, max_length=16, description='e.g. {"use_case": "<use case id>"}')


class ChoiceMessage(BaseModel):
    role: str = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: ChoiceMessage
    finish_reason: str


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: str = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage


class ModelEntry(BaseModel):
    id: str
    object: str = "model"
    created: int = 0
    owned_by: str = "frugalstack"


class ModelList(BaseModel):
    object: str = "list"
    data: list[ModelEntry]


class UsageSummary(BaseModel):
    key_id: str
    day: str
    model: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
