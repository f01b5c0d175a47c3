"""Runtime replies rendered as OpenAI response objects (chat, completion, chunks, logprobs)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from frugalstack.edge.runtime import Reply
from frugalstack.shared.schemas import TokenLogprob


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def usage_dict(reply: Reply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.usage.input_tokens,
        "completion_tokens": reply.usage.output_tokens,
        "total_tokens": reply.usage.total_tokens,
    }


def _bytes(token: str) -> list[int]:
    return list(token.encode("utf-8"))


def chat_logprobs(items: list[TokenLogprob] | None) -> dict[str, Any] | None:
    if items is None:
        return None
    content = [
        {
            "token": lp.token,
            "logprob": lp.logprob,
            "bytes": _bytes(lp.token),
            "top_logprobs": [{"token": t, "logprob": v, "bytes": _bytes(t)} for t, v in lp.top_logprobs.items()],
        }
        for lp in items
    ]
    return {"content": content, "refusal": None}


def completion_logprobs(items: list[TokenLogprob] | None) -> dict[str, Any] | None:
    if items is None:
        return None
    offsets, pos = [], 0
    for lp in items:
        offsets.append(pos)
        pos += len(lp.token)
    return {
        "tokens": [lp.token for lp in items],
        "token_logprobs": [lp.logprob for lp in items],
        "top_logprobs": [dict(lp.top_logprobs) for lp in items],
        "text_offset": offsets,
    }


def chat_response(reply: Reply, model: str) -> dict[str, Any]:
    return {
        "id": new_id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": f"frugalstack-{reply.backend}",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text, "refusal": None},
                "logprobs": chat_logprobs(reply.logprobs),
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": usage_dict(reply),
    }


def completion_response(reply: Reply, model: str) -> dict[str, Any]:
    return {
        "id": new_id("cmpl"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": f"frugalstack-{reply.backend}",
        "choices": [
            {
                "index": 0,
                "text": reply.text,
                "logprobs": completion_logprobs(reply.logprobs),
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": usage_dict(reply),
    }


class ChunkWriter:
    """Server-sent events for one streamed answer, OpenAI's chunk shapes."""

    def __init__(self, model: str, chat: bool):
        self.id = new_id("chatcmpl" if chat else "cmpl")
        self.model = model
        self.chat = chat
        self.created = int(time.time())

    def _chunk(self, choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> str:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk" if self.chat else "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if usage is not None:
            body["usage"] = usage
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    def role(self) -> str:
        return self._chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None,
                             "finish_reason": None}])

    def text(self, piece: str) -> str:
        if self.chat:
            return self._chunk([{"index": 0, "delta": {"content": piece}, "logprobs": None, "finish_reason": None}])
        return self._chunk([{"index": 0, "text": piece, "logprobs": None, "finish_reason": None}])

    def logprobs(self, reply: Reply) -> str:
        """Logprobs of the whole answer in one chunk (the runtime streams text only)."""
        if self.chat:
            return self._chunk([{"index": 0, "delta": {}, "logprobs": chat_logprobs(reply.logprobs),
                                 "finish_reason": None}])
        return self._chunk([{"index": 0, "text": "", "logprobs": completion_logprobs(reply.logprobs),
                             "finish_reason": None}])

    def finish(self, reply: Reply) -> str:
        if self.chat:
            return self._chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": reply.finish_reason}])
        return self._chunk([{"index": 0, "text": "", "logprobs": None, "finish_reason": reply.finish_reason}])

    def usage(self, reply: Reply) -> str:
        return self._chunk([], usage=usage_dict(reply))

    @staticmethod
    def error(body: dict[str, Any]) -> str:
        return f"data: {json.dumps(body)}\n\n"

    @staticmethod
    def done() -> str:
        return "data: [DONE]\n\n"
