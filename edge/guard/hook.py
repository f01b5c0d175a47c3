"""How the edge runtime applies the guard: input rails before generation, output rails after.

``Runtime(guard=GuardPipeline())`` routes every non-streaming ``chat``/``complete`` through here. A
``block`` or ``escalate`` on the input never reaches the model: the reply carries the policy's safe message
and the verdict (``reply.input_guard``), so the app or the router can act (escalate = send to the cloud).
``redact`` rewrites the user's text before the model sees it. Per call, ``guard=False`` turns the guard
off, ``guard=["pii", "grounding"]`` runs exactly those rails, ``guard={"scope": False}`` switches one off.

A reply the guard stopped (input or output, ``block`` or ``escalate``) has ``finish_reason ==
"content_filter"``, the OpenAI value clients already handle; ``reply.guard_verdict`` says which verdict,
action and rails did it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from frugalstack.edge.guard.pipeline import cited_terms
from frugalstack.edge.guard.policy import INPUT_RAILS, OUTPUT_RAILS
from frugalstack.shared.schemas import ChatMessage, Usage

if TYPE_CHECKING:
    from frugalstack.edge.backends import GenerationRequest
    from frugalstack.edge.guard.pipeline import GuardPipeline
    from frugalstack.edge.runtime import Reply, Runtime, Stream


#: The knowledge store's RAG template puts the customer's question after this marker.
QUESTION_MARKER = "Question:"
#: OpenAI's finish reason for an answer withheld by a content filter (block or escalate, input or output).
CONTENT_FILTER = "content_filter"


def split_rails(rails: Any, known: tuple[str, ...]) -> Mapping[str, bool] | list[str] | None:
    """One per-call selection for both directions: keep the names that apply to ``known``."""
    if rails is None or rails is True:
        return None
    if isinstance(rails, str):
        rails = [rails]
    if isinstance(rails, Mapping):
        return {k: bool(v) for k, v in rails.items() if k in known}
    if isinstance(rails, Iterable) and not isinstance(rails, str | bytes):
        return [r for r in rails if r in known]
    raise TypeError(f"guard must be True/False, a list of rail names or a dict of switches, got {rails!r}")


def _guard_input(
    runtime: Runtime,
    request: GenerationRequest,
    rails: Any,
    citations: list[dict[str, Any]] | None,
    user: str | None,
) -> tuple[GenerationRequest, Any, Reply | None]:
    """The input side, shared by whole and streamed answers: (request for the model, input verdict, the
    blocked reply when the verdict withholds the answer, else None)."""
    from frugalstack.edge import runtime as _rt  # the runtime module imports this one lazily

    guard: GuardPipeline = runtime.guard
    start = time.perf_counter()
    text = _user_text(request)
    if text is None:
        return request, None, None
    prefix = ""
    if citations is not None and QUESTION_MARKER in text:
        # A RAG prompt: the facts come from the store (scanned below as retrieved documents); only the
        # customer's question after the template's marker is user input.
        cut = text.rindex(QUESTION_MARKER) + len(QUESTION_MARKER)
        prefix, text = text[:cut], text[cut:]
    # Retrieved records' text is scanned for injection too (a poisoned review, title or attribute), and so
    # are the earlier user turns, which the app re-sends unchecked (an instruction planted turns ago).
    retrieved = [_citation_text(c) for c in citations or []] + _earlier_user_turns(request)
    verdict_in = guard.check_input(
        text,
        rails=split_rails(rails, INPUT_RAILS),
        retrieved=[r for r in retrieved if r],
        allow_terms=cited_terms(citations),
    )
    if not verdict_in.allowed:
        trace_id = uuid.uuid4().hex
        _note_escalation(runtime, trace_id, verdict_in.action, user)
        blocked = _rt.Reply(
            text=verdict_in.message or "",
            model=runtime.spec.id,
            backend=runtime.backend_name,
            profile=runtime.profile.id,
            usage=Usage(),
            finish_reason=CONTENT_FILTER,
            latency_ms=(time.perf_counter() - start) * 1000,
            ttft_ms=None,
            tokens_per_s=None,
            trace_id=trace_id,
            input_guard=verdict_in,
        )
        return request, verdict_in, blocked
    if verdict_in.action == "redact":
        request = _with_user_text(request, prefix + verdict_in.redacted_text)
    return _redact_history(guard, request, rails), verdict_in, None


def run_guarded(
    runtime: Runtime,
    request: GenerationRequest,
    operation: str,
    rails: Any,
    citations: list[dict[str, Any]] | None = None,
    user: str | None = None,
) -> Reply:
    """Check the newest user text, generate (unless blocked), check the answer against ``citations``."""
    guard: GuardPipeline = runtime.guard
    request, verdict_in, blocked = _guard_input(runtime, request, rails, citations, user)
    if blocked is not None:
        return blocked
    reply = runtime._generate(request, operation)
    reply.input_guard = verdict_in
    verdict_out = guard.check_output(
        reply.text, citations=citations, json_schema=request.json_schema, rails=split_rails(rails, OUTPUT_RAILS)
    )
    reply.output_guard = verdict_out
    if not verdict_out.allowed:
        reply.text = verdict_out.message or ""
        reply.finish_reason = CONTENT_FILTER
        _note_escalation(runtime, reply.trace_id, verdict_out.action, user)
    elif verdict_out.action == "redact":
        reply.text = verdict_out.redacted_text
    return reply


def stream_guarded(runtime: Runtime, request: GenerationRequest, operation: str, rails: Any,
                   user: str | None = None) -> Stream:
    """Streaming: the same input rails as ``run_guarded`` before the first token (earlier turns scanned and
    redacted too; a block streams the safe message instead); the output rails run once the stream ends and
    set ``stream.reply.output_guard`` (already-shown text cannot be taken back, so the app decides what to do
    with a late verdict; ``finish_reason`` is then ``content_filter``)."""
    from frugalstack.edge import runtime as _rt

    request, verdict_in, blocked = _guard_input(runtime, request, rails, None, user)
    if blocked is not None:
        stopped = _rt.Stream(iter([blocked.text]))
        stopped.reply = blocked
        return stopped
    inner = runtime._stream(request, operation, False)
    outer = _rt.Stream(iter(()))

    def events() -> Iterator[str]:
        yield from inner
        reply = inner.reply
        if reply is not None:
            reply.input_guard = verdict_in
            reply.output_guard = runtime.guard.check_output(
                reply.text, json_schema=request.json_schema, rails=split_rails(rails, OUTPUT_RAILS)
            )
            if not reply.output_guard.allowed:  # shown already; the finish reason still says the guard objected
                reply.finish_reason = CONTENT_FILTER
                _note_escalation(runtime, reply.trace_id, reply.output_guard.action, user)
            reply.feedback_store = runtime.feedback_store
        outer.reply = reply

    outer._events = events()
    return outer


def _note_escalation(runtime: Runtime, trace_id: str, action: str, user: str | None = None) -> None:
    """An escalation is an implicit feedback signal (the edge answer was not good enough to show)."""
    store = getattr(runtime, "feedback_store", None)
    if action == "escalate" and store is not None:
        store.signal(trace_id, "escalated", user_id=user)


def _citation_text(c: Mapping[str, Any]) -> str:
    """Everything of a cited record that reaches the model: a doc's text, a product's title, brand, attributes."""
    if c.get("text") or c.get("description"):
        return str(c.get("text") or c.get("description"))
    raw = c.get("attributes")
    attrs: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    parts = [c.get("title"), c.get("brand"), c.get("category"), *attrs.keys(), *attrs.values()]
    return " ".join(str(p) for p in parts if p not in (None, ""))


def _earlier_user_turns(request: GenerationRequest) -> list[str]:
    users = [m.content for m in request.messages or [] if m.role == "user" and isinstance(m.content, str)]
    return users[:-1]


def _redact_history(guard: GuardPipeline, request: GenerationRequest, rails: Any) -> GenerationRequest:
    """PII typed in earlier turns is redacted too before the model sees the conversation again."""
    selected = split_rails(rails, INPUT_RAILS)
    if not request.messages or (selected is not None and (
            (isinstance(selected, Mapping) and selected.get("pii") is False)
            or (not isinstance(selected, Mapping) and "pii" not in selected))):
        return request
    last = max((i for i, m in enumerate(request.messages) if m.role == "user"), default=-1)
    messages = list(request.messages)
    for i, m in enumerate(messages[:last]):
        if m.role == "user" and isinstance(m.content, str) and m.content.strip():
            v = guard.check_input(m.content, rails=["pii"])
            if v.action == "redact":
                messages[i] = ChatMessage(role="user", content=v.redacted_text)
    return replace(request, messages=messages)


def _user_text(request: GenerationRequest) -> str | None:
    if request.prompt is not None:
        return request.prompt
    for m in reversed(request.messages or []):
        if m.role == "user":
            return m.content
    return None


def _with_user_text(request: GenerationRequest, text: str) -> GenerationRequest:
    if request.prompt is not None:
        return replace(request, prompt=text)
    messages = list(request.messages or [])
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].role == "user":
            messages[i] = ChatMessage(role="user", content=text)
            break
    return replace(request, messages=messages)
