"""The edge runtime apps embed: one model on one backend, shaped by a device profile.

It owns what every backend shares: request validation, the context-overflow policy, timing (TTFT,
decode tokens/s), a trace record per request, and a lock (llama.cpp contexts are not thread-safe).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from frugalstack.edge.backends import Backend, FinishEvent, GenerationRequest, TokenEvent, create_backend
from frugalstack.edge.catalog import ModelSpec, get_spec, resolve_path
from frugalstack.edge.profiles import DeviceProfile, get_profile
from frugalstack.edge.reply import Reply, Stream
from frugalstack.edge.settings import EdgeSettings
from frugalstack.edge.telemetry import TelemetryStore
from frugalstack.shared.errors import (
    ConfigError,
    ContextOverflowError,
    FrugalError,
    PayloadTooLargeError,
    ValidationError,
)
from frugalstack.shared.schemas import ChatMessage, TokenLogprob, TraceRecord, Usage

log = logging.getLogger("frugalstack.edge")

Messages = str | Sequence[ChatMessage | dict[str, str]]
#: A user id (a str) on the public calls; typed Any so callers that spread a ``**params`` dict of sampling
#: values still type-check (the id is only hashed and compared by the feedback store).
UserId = Any


def _to_messages(messages: Messages, system: str | None) -> list[ChatMessage]:
    if isinstance(messages, str):
        out = [ChatMessage(role="user", content=messages)]
    else:
        out = []
        for m in messages:
            try:
                out.append(m if isinstance(m, ChatMessage) else ChatMessage.model_validate(m))
            except Exception as exc:
                raise ValidationError(f"invalid chat message {m!r}: {exc}") from exc
    if system is not None:
        out = [ChatMessage(role="system", content=system), *[m for m in out if m.role != "system"]]
    return out


def _last_user_text(messages: list[ChatMessage]) -> str | None:
    return next((m.content for m in reversed(messages) if m.role == "user"), None)


def _request(params: dict[str, Any], **what: Any) -> GenerationRequest:
    if not isinstance(what.get("prompt", ""), str):
        raise ValidationError("prompt must be a string")
    try:
        return GenerationRequest(**what, **params)
    except TypeError as exc:
        raise ValidationError(f"unknown generation parameter: {exc}") from exc


def _make_guard(guard: Any, settings: EdgeSettings) -> Any:
    if guard is False or (guard is None and not settings.guard):
        return None
    if guard is None or guard is True or isinstance(guard, str | Path):
        from frugalstack.edge.guard.pipeline import GuardPipeline  # models load on the first check

        return GuardPipeline(settings.guard_policy if guard is None or guard is True else guard)
    return guard


class Runtime:
    """Load a model once, then ``chat``, ``complete`` or ``stream`` with it.

    >>> rt = Runtime()                      # embedded SmolLM2, host profile
    >>> rt.chat("Is the blue backpack waterproof?").text
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        profile: str | Path | DeviceProfile | None = None,
        backend: str | None = None,
        settings: EdgeSettings | None = None,
        telemetry: bool | TelemetryStore | None = None,
        guard: Any = None,
        feedback: Any = None,
        user: str | None = None,
        artifacts: str | Path | None = None,
    ):
        self.feedback_store = feedback  # FeedbackStore | None: what reply.feedback(...) writes to
        # the default user id for feedback (per call: chat/stream/ask(user=...)); with a feedback store, each
        # chat/ask question of a known user is observed, so re-asking within the window marks the earlier
        # answer ``reasked`` (stored only with that user's consent, else only counted)
        self.user = user
        self.settings = settings or EdgeSettings()
        # GuardPipeline | None: rails on every chat/ask/stream (frugalstack.edge.guard.hook). None follows
        # settings.guard (on by default, policy settings.guard_policy); False: off; a path/name: that policy.
        self.guard = _make_guard(guard, self.settings)
        self.profile = get_profile(profile if profile is not None else self.settings.profile)
        self.spec: ModelSpec = get_spec(model or self.settings.model)
        if self.spec.task == "embedding":
            raise ConfigError(f"model {self.spec.id} is an embedding model; pick a chat model")
        # artifacts = a `frugal optimize` output: the profile's planner picks format, backend, device, context
        self.plan: dict[str, Any] | None = None
        if artifacts is not None:
            from frugalstack.optimizers.plan import plan_runtime

            self.plan = plan_runtime(self.profile, artifacts)
        self.backend_name = backend or (self.plan["backend"] if self.plan else self.spec.backend)
        path = Path(self.plan["artifact_path"]) if self.plan else resolve_path(self.spec)
        self._check_memory(path)
        run_settings = self.profile.runtime.model_copy(update={"threads": self._threads()})
        if self.plan:
            run_settings = run_settings.model_copy(
                update={"context_size": self.plan["context_size"], "device": self.plan["device"]})
        self._backend: Backend = create_backend(self.backend_name)
        self._backend.load(path, self.spec, run_settings)
        self._lock = threading.Lock()
        self._telemetry: TelemetryStore | None
        if isinstance(telemetry, TelemetryStore):
            self._telemetry = telemetry
        elif telemetry if telemetry is not None else self.settings.telemetry:
            self._telemetry = TelemetryStore(self.settings.telemetry_path, record_text=self.settings.record_text)
        else:
            self._telemetry = None

    def _threads(self) -> int:
        wanted = self.profile.runtime.threads
        try:
            usable = len(os.sched_getaffinity(0))
        except AttributeError:
            usable = os.cpu_count() or 1
        if wanted > usable:
            log.info("profile %s asks for %d threads; this host has %d", self.profile.id, wanted, usable)
        return max(1, min(wanted, usable))

    def _check_memory(self, path: Path) -> None:
        size_mb = path.stat().st_size / 2**20 if path.is_file() else 0.0
        budget = self.profile.runtime.memory_budget_mb
        if size_mb > budget:
            raise ConfigError(
                f"model {self.spec.id} needs ~{size_mb:.0f} MB, "
                f"over the {budget} MB budget of profile {self.profile.id}",
                hint="pick a smaller quantization or another profile",
            )

    # ------------------------------------------------------------------ public API
    @property
    def model_id(self) -> str:
        return self.spec.id

    @property
    def context_size(self) -> int:
        return self._backend.context_size

    @property
    def backend(self) -> Backend:
        return self._backend

    def chat(self, messages: Messages, *, system: str | None = None, guard: Any = None, user: UserId = None,
             **params: Any) -> Reply:
        """Answer a conversation (a string is one user turn); ``guard`` switches rails per call (see hook);
        ``user`` links feedback and re-ask signals to the asker (default: ``Runtime(user=...)``)."""
        msgs = _to_messages(messages, system)
        reply = self._run(_request(params, messages=msgs), "chat", guard, user=user)
        self._observe(reply, _last_user_text(msgs))
        return reply

    def complete(self, prompt: str, guard: Any = None, **params: Any) -> Reply:
        """Continue raw text without a chat template."""
        return self._run(_request(params, prompt=prompt), "text_completion", guard)

    def ask(
        self, question: str, *, db: Any, k: int = 3, prompt: str = "rag-answer", guard: Any = None,
        route: Any = None, user: UserId = None, **params: Any
    ) -> Any:
        """Grounded answer from a knowledge DB (path or KnowledgeStore); logic in frugalstack.edge.knowledge.rag.

        Routed by default (``route=False`` turns it off; a dict passes router/cloud/intent, see
        frugalstack.edge.router.hook.routed_ask); ``result.extras["route"]`` says where and why."""
        from frugalstack.edge.knowledge.rag import ask as rag_ask
        from frugalstack.edge.knowledge.store import KnowledgeStore

        store = db if isinstance(db, KnowledgeStore) else KnowledgeStore(db)

        def generate(messages: Messages, citations: list[dict[str, Any]], **p: Any) -> Reply:
            return self._run(_request(p, messages=_to_messages(messages, None)), "chat", guard, citations, user)

        try:
            if route is False:
                result = rag_ask(store, question, generate, k=k, prompt=prompt, **params)
            else:
                from frugalstack.edge.router.hook import routed_ask

                result = routed_ask(self, question, lambda: rag_ask(store, question, generate, k=k, prompt=prompt,
                                                                    **params), route)
        finally:
            if store is not db:
                store.close()
        self._observe(getattr(result, "reply", None), question)
        return result

    def stream(self, messages: Messages, *, system: str | None = None, guard: Any = None, user: UserId = None,
               **params: Any) -> Stream:
        """Like ``chat`` but yields text as it is generated (input rails before, output verdict after)."""
        msgs = _to_messages(messages, system)
        return self._stream(_request(params, messages=msgs), "chat", guard, user, _last_user_text(msgs))

    def stream_complete(self, prompt: str, guard: Any = None, **params: Any) -> Stream:
        return self._stream(_request(params, prompt=prompt), "text_completion", guard)

    def close(self) -> None:
        self._backend.close()
        if self._telemetry is not None:
            self._telemetry.close()
            self._telemetry = None

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _prepare(self, request: GenerationRequest) -> GenerationRequest:
        chars = len(request.prompt or "") + sum(len(m.content) for m in request.messages or [])
        if chars > self.settings.max_input_chars:
            raise PayloadTooLargeError(
                f"input of {chars} characters is over the limit of {self.settings.max_input_chars}"
            )
        request.validate()
        n_ctx = self._backend.context_size
        n_prompt = self._backend.count_prompt_tokens(request)
        room = min(request.max_tokens, 16)  # the prompt must leave room to answer
        if n_prompt + room > n_ctx:
            if self.settings.overflow == "error":
                raise ContextOverflowError(
                    f"prompt is {n_prompt} tokens; the context holds {n_ctx} "
                    f"(with room for {room} answer tokens)",
                    hint="shorten the input, or set FRUGAL_OVERFLOW=truncate to keep the newest tokens",
                    details={"prompt_tokens": n_prompt, "context_size": n_ctx},
                )
            request = self._backend.truncate(request, n_ctx - room)
            log.warning("prompt of %d tokens truncated to fit a %d-token context", n_prompt, n_ctx)
        return replace(request, max_tokens=min(request.max_tokens, 1_000_000))

    def _events(self, request: GenerationRequest, operation: str, sink: Stream | None) -> Iterator[str]:
        trace_id = uuid.uuid4().hex
        start = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        logprobs: list[TokenLogprob] = []
        usage = Usage()
        reason = "length"
        try:
            with self._lock:
                request = self._prepare(request)
                for event in self._backend.generate(request):
                    if isinstance(event, TokenEvent):
                        if first is None:
                            first = time.perf_counter()
                        if event.logprob is not None and event.token_id is not None:
                            logprobs.append(
                                TokenLogprob(
                                    token=event.text,
                                    token_id=event.token_id,
                                    logprob=event.logprob,
                                    top_logprobs=event.top_logprobs,
                                )
                            )
                        if event.text:
                            pieces.append(event.text)
                            yield event.text
                    elif isinstance(event, FinishEvent):
                        usage, reason = event.usage, event.reason
        except FrugalError as exc:
            self._trace(trace_id, operation, request, start, first, usage, None, "", error=exc)
            raise
        end = time.perf_counter()
        text = "".join(pieces)
        decode_s = end - first if first is not None else 0.0
        tps = (usage.output_tokens - 1) / decode_s if usage.output_tokens > 1 and decode_s > 0 else None
        reply = Reply(
            text=text,
            model=self.spec.id,
            backend=self.backend_name,
            profile=self.profile.id,
            usage=usage,
            finish_reason=reason,
            latency_ms=(end - start) * 1000,
            ttft_ms=(first - start) * 1000 if first is not None else None,
            tokens_per_s=tps,
            trace_id=trace_id,
            logprobs=logprobs if (request.logprobs or request.top_logprobs) else None,
        )
        self._trace(trace_id, operation, request, start, first, usage, reply, text)
        if sink is not None:
            sink.reply = reply

    def _trace(
        self,
        trace_id: str,
        operation: str,
        request: GenerationRequest,
        start: float,
        first: float | None,
        usage: Usage,
        reply: Reply | None,
        text: str,
        error: FrugalError | None = None,
    ) -> None:
        if self._telemetry is None:
            return
        prompt = None
        if self._telemetry.record_text:  # joined only when it will be stored: the store drops it otherwise
            prompt = request.prompt if request.prompt is not None else "\n".join(
                f"{m.role}: {m.content}" for m in request.messages or []
            )
        record = TraceRecord(
            trace_id=trace_id,
            timestamp=time.time(),
            operation=operation,
            model=self.spec.id,
            backend=self.backend_name,
            device_profile=self.profile.id,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            duration_ms=(time.perf_counter() - start) * 1000,
            ttft_ms=(first - start) * 1000 if first is not None else None,
            tokens_per_s=reply.tokens_per_s if reply else None,
            finish_reason=reply.finish_reason if reply else None,
            status="error" if error else "ok",
            error_type=error.code if error else None,
            prompt=prompt,
            completion=text or None,
        )
        try:
            self._telemetry.record(record)
        except Exception as exc:  # telemetry must never break an answer
            log.warning("could not record trace %s: %s", trace_id, exc)

    def _run(self, request: GenerationRequest, operation: str, guard: Any = None,
             citations: list[dict[str, Any]] | None = None, user: str | None = None) -> Reply:
        user = user if user is not None else self.user
        if self.guard is not None and guard is not False:
            from frugalstack.edge.guard.hook import run_guarded

            reply = run_guarded(self, request, operation, guard, citations, user=user)
        else:
            reply = self._generate(request, operation)
        reply.feedback_store, reply.user = self.feedback_store, user
        return reply

    def _observe(self, reply: Reply | None, question: str | None) -> None:
        """Tell the feedback store a user asked ``question`` (answered by ``reply``): a re-ask of the previous
        question within its window marks the previous answer ``reasked``. Never breaks an answer."""
        if self.feedback_store is None or reply is None or reply.user is None or not question:
            return
        try:
            self.feedback_store.observe_question(reply.user, reply.trace_id, question)
        except Exception as exc:  # feedback, like telemetry, must never cost the user the answer
            log.warning("could not record a question for feedback: %s", exc)

    def _generate(self, request: GenerationRequest, operation: str) -> Reply:
        sink = Stream(iter(()))
        for _ in self._events(request, operation, sink):
            pass
        assert sink.reply is not None
        return sink.reply

    def _stream(self, request: GenerationRequest, operation: str, guard: Any = None, user: str | None = None,
                question: str | None = None) -> Stream:
        user = user if user is not None else self.user
        if self.guard is not None and guard is not False:
            from frugalstack.edge.guard.hook import stream_guarded

            inner = stream_guarded(self, request, operation, guard, user)
        else:
            inner = Stream(iter(()))
            inner._events = self._events(request, operation, inner)
        outer = Stream(iter(()))
        if inner.reply is not None:  # stopped by the input rails: the reply exists before the first piece
            inner.reply.feedback_store, inner.reply.user = self.feedback_store, user
            outer.reply = inner.reply

        def events() -> Iterator[str]:
            yield from inner
            reply = inner.reply
            if reply is not None:
                reply.feedback_store, reply.user = self.feedback_store, user
                self._observe(reply, question)
            outer.reply = reply

        outer._events = events()
        return outer
