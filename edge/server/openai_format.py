"""Runtime replies rendered as OpenAI response objects (chat, completion, chunks, logprobs).

OpenAI clients know five finish reasons; an answer the guardrails withheld is ``content_filter``. What the
guard did (action and rails, per direction) rides along in a ``frugal`` field that OpenAI clients keep as an
extra (``response.model_extra["frugal"]``) and in the ``X-Frugal-Guard`` header, so apps can still tell.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from frugalstack.edge.runtime import Reply
from frugalstack.shared.schemas import TokenLogprob

OPENAI_FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})


def finish_reason(reply: Reply) -> str:
    """The wire value: OpenAI's own set only (a guard stop is ``content_filter``, anything else unknown ``stop``)."""
    reason = reply.finish_reason
    if reason in OPENAI_FINISH_REASONS:
        return reason
    return "content_filter" if reason.startswith("guard") else "stop"


def guard_info(reply: Reply) -> dict[str, Any] | None:
    """``{"input": {"action", "rails", "types"}, "output": {...}}`` for each verdict that did more than allow."""
    out: dict[str, Any] = {}
    for direction, verdict in (("input", reply.input_guard), ("output", reply.output_guard)):
        if verdict is None or verdict.action == "allow":
            continue
        acting = [f for f in verdict.findings if f.action == verdict.action] or list(verdict.findings)
        out[direction] = {
            "action": verdict.action,
            "allowed": verdict.allowed,
            "rails": sorted({f.rail for f in acting}),
            "types": sorted({f.type for f in acting}),
        }
    return out or None


def frugal_extra(reply: Reply) -> dict[str, Any]:
    """The ``frugal`` field, only when the guard acted (an unguarded answer is plain OpenAI)."""
    info = guard_info(reply)
    return {"frugal": {"guard": info}} if info else {}


def guard_header(reply: Reply) -> dict[str, str] | None:
    """``X-Frugal-Guard: input=block:injection; output=allow`` style summary, when the guard acted."""
    info = guard_info(reply)
    if not info:
        return None
    parts = [f"{d}={v['action']}:{','.join(v['rails'])}" for d, v in info.items()]
    return {"X-Frugal-Guard": "; ".join(parts)}


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
                "finish_reason": finish_reason(reply),
            }
        ],
        "usage": usage_dict(reply),
        **frugal_extra(reply),
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
                "finish_reason": finish_reason(reply),
            }
        ],
        "usage": usage_dict(reply),
        **frugal_extra(reply),
    }


class ChunkWriter:
    """Server-sent events for one streamed answer, OpenAI's chunk shapes."""

    def __init__(self, model: str, chat: bool):
        self.id = new_id("chatcmpl" if chat else "cmpl")
        self.model = model
        self.chat = chat
        self.created = int(time.time())

    def _chunk(self, choices: list[dict[str, Any]], usage: dict[str, int] | None = None,
               extra: dict[str, Any] | None = None) -> str:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk" if self.chat else "text_completion",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            **(extra or {}),
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
        """The last choice chunk; it carries the ``frugal`` guard field when the guard acted."""
        reason, extra = finish_reason(reply), frugal_extra(reply)
        if self.chat:
            return self._chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": reason}], extra=extra)
        return self._chunk([{"index": 0, "text": "", "logprobs": None, "finish_reason": reason}], extra=extra)

    def usage(self, reply: Reply) -> str:
        return self._chunk([], usage=usage_dict(reply))

    @staticmethod
    def error(body: dict[str, Any]) -> str:
        return f"data: {json.dumps(body)}\n\n"

    @staticmethod
    def done() -> str:
        return "data: [DONE]\n\n"
