"""The local OpenAI-compatible server (``frugal edge serve``) as a FastAPI app.

Desktop apps already speak the OpenAI API; pointing their base URL at this server runs them on the
device's SLM. Bodies are read with a size cap and validated by hand, so every bad request gets an
OpenAI-style 4xx body (``{"error": {"message", "type", "param", "code"}}``) and never a 500.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from frugalstack.edge.runtime import Reply, Runtime, Stream
from frugalstack.edge.server.admission import Admission, Ticket
from frugalstack.edge.server.models import ModelPool, ServerConfig
from frugalstack.edge.server.openai_format import ChunkWriter, chat_response, completion_response, guard_header
from frugalstack.edge.server.protocol import ChatCompletionRequest, CompletionRequest, EmbeddingRequest
from frugalstack.edge.server.spec import document_request_bodies
from frugalstack.edge.settings import EdgeSettings
from frugalstack.shared.errors import FrugalError, PayloadTooLargeError, UnsupportedFeature, ValidationError
from frugalstack.shared.schemas import ChatMessage

log = logging.getLogger("frugalstack.edge.server")
M = TypeVar("M", bound=BaseModel)


class BadRequest(ValidationError):
    """OpenAI answers malformed requests with 400 (not 422); ``param`` names the field."""

    http_status = 400

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message, details={"param": param} if param else None)
        self.param = param


def error_body(exc: FrugalError) -> dict[str, Any]:
    return {
        "error": {
            "message": str(exc),
            "type": "invalid_request_error" if exc.http_status < 500 else "server_error",
            "param": exc.details.get("param"),
            "code": exc.code,
        }
    }


def error_response(exc: FrugalError) -> JSONResponse:
    status = 400 if exc.http_status == 422 else exc.http_status
    retry = exc.details.get("retry_after")
    headers = {"Retry-After": str(retry)} if retry is not None else None
    return JSONResponse(error_body(exc), status_code=status, headers=headers)


def _close_generator(gen: Any) -> None:
    """Close a generator another thread may be inside of (a piece takes milliseconds): retry until idle."""
    for _ in range(3000):
        try:
            gen.close()
            return
        except ValueError:  # "generator already executing"
            time.sleep(0.01)


class HeldStream(StreamingResponse):
    """A streaming response that gives its admission slot back when it ends, however it ends.

    When the client hangs up, Starlette abandons the body iterator; it would close (and free the
    runtime's lock) only when garbage collected. Close it here, then free the slot.
    """

    def __init__(self, content: Iterator[str], ticket: Ticket, headers: dict[str, str] | None = None):
        super().__init__(content, media_type="text/event-stream", headers=headers)
        self.content, self.ticket = content, ticket

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(_close_generator, self.content)
            self.ticket.release()


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON, refusing (413) once it grows past ``limit`` bytes without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"request body of {declared} bytes is over the limit of {limit}")
    size, chunks = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None


def parse(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise BadRequest(f"invalid value for '{loc}': {err['msg']}", param=loc) from None


def _common_params(req: ChatCompletionRequest | CompletionRequest, pool: ModelPool, rt: Runtime,
                   max_tokens: int | None) -> dict[str, Any]:
    if req.n != 1:
        raise UnsupportedFeature("n > 1 is not supported by the local server; send n requests")
    if req.presence_penalty or req.frequency_penalty:
        raise UnsupportedFeature("presence_penalty / frequency_penalty are not supported by this runtime")
    cap = pool.max_tokens_cap(rt)
    if max_tokens is None:
        max_tokens = cap
    elif max_tokens <= 0:
        raise BadRequest(f"max_tokens must be at least 1, got {max_tokens}", param="max_tokens")
    elif max_tokens > cap:
        raise BadRequest(f"max_tokens of {max_tokens} is over this model's limit of {cap}", param="max_tokens")
    params: dict[str, Any] = {"max_tokens": max_tokens, "stop": req.stop_list(), "seed": req.seed}
    if req.temperature is not None:
        params["temperature"] = req.temperature
    if req.top_p is not None:
        params["top_p"] = req.top_p
    return params


def chat_params(req: ChatCompletionRequest, pool: ModelPool, rt: Runtime) -> dict[str, Any]:
    if req.tools:
        raise UnsupportedFeature("tool calling is not supported by the local server")
    max_tokens = req.max_completion_tokens if req.max_completion_tokens is not None else req.max_tokens
    params = _common_params(req, pool, rt, max_tokens)
    if req.top_logprobs and not req.logprobs:
        raise BadRequest("top_logprobs needs logprobs: true", param="top_logprobs")
    params["logprobs"] = req.logprobs
    params["top_logprobs"] = req.top_logprobs or 0
    fmt = req.response_format
    if fmt is not None and fmt.type == "json_object":
        params["json_schema"] = {"type": "object"}
    elif fmt is not None and fmt.type == "json_schema":
        if fmt.json_schema is None or not fmt.json_schema.schema_:
            raise BadRequest("response_format json_schema needs json_schema.schema", param="response_format")
        params["json_schema"] = fmt.json_schema.schema_
    return params


def chat_messages(req: ChatCompletionRequest) -> list[ChatMessage]:
    role_map = {"developer": "system"}
    return [ChatMessage(role=role_map.get(m.role, m.role), content=m.text()) for m in req.messages]


def completion_params(req: CompletionRequest, pool: ModelPool, rt: Runtime) -> tuple[str, dict[str, Any]]:
    if req.echo:
        raise UnsupportedFeature("echo is not supported by the local server")
    if req.suffix:
        raise UnsupportedFeature("suffix (fill-in-the-middle) is not supported by this model")
    prompts = [req.prompt] if isinstance(req.prompt, str) else req.prompt
    if len(prompts) != 1:
        raise UnsupportedFeature("batched prompts are not supported; send one prompt per request")
    params = _common_params(req, pool, rt, req.max_tokens)
    if req.logprobs is not None:
        params["logprobs"] = True
        params["top_logprobs"] = req.logprobs
    return prompts[0], params


def _sse(stream: Stream, writer: ChunkWriter, first: str | None, include_usage: bool, logprobs: bool) -> Iterator[str]:
    events = iter(stream)
    try:
        if writer.chat:
            yield writer.role()
        if first is not None:
            yield writer.text(first)
            for piece in events:
                yield writer.text(piece)
        reply = stream.reply
        if reply is not None:
            if logprobs:
                yield writer.logprobs(reply)
            yield writer.finish(reply)
            if include_usage:
                yield writer.usage(reply)
    except FrugalError as exc:  # after the first byte the status is sent: report in-band
        yield writer.error(error_body(exc))
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()  # releases the runtime lock if the client went away
    yield writer.done()


def _start(stream: Stream) -> str | None:
    """Run the stream to its first piece so request errors surface as a 4xx before any byte is sent."""
    return next(iter(stream), None)


async def admitted(
    admission: Admission,
    stream: bool,
    run: Callable[[], Reply],
    open_stream: Callable[[], Stream],
    render: Callable[[Reply], dict[str, Any]],
    sse: Callable[[Stream, str | None], Iterator[str]],
) -> JSONResponse | StreamingResponse:
    """One generation under an admission slot: ``run`` it whole, or open the stream and start it (so errors
    before the first token are a 4xx); the slot is freed on every path (a stream frees it when it ends)."""
    ticket = await admission.acquire()
    try:
        if not stream:
            reply = await run_in_threadpool(run)
            ticket.release()
            return JSONResponse(render(reply), headers=guard_header(reply))
        opened = await run_in_threadpool(open_stream)  # the input rails run here: off the event loop
        first = await run_in_threadpool(_start, opened)
    except BaseException:
        ticket.release()
        raise
    # an input-rail stop is known before the first byte: say so in a header too (a late output verdict is in-band)
    headers = guard_header(opened.reply) if opened.reply is not None else None
    return HeldStream(sse(opened, first), ticket, headers)


def start_telemetry_sync(settings: EdgeSettings) -> Any:
    """Ship telemetry through the durable outbox while serving, when this device is enrolled.

    Enrolled means ``FRUGAL_CLOUD_URL``, ``FRUGAL_DEVICE_KEY`` and ``FRUGAL_DEVICE_ID`` are all set (the
    same variables as ``frugal edge telemetry sync``); otherwise nothing leaves the device.
    """
    url, key, device = (os.environ.get(n, "").strip() for n in
                        ("FRUGAL_CLOUD_URL", "FRUGAL_DEVICE_KEY", "FRUGAL_DEVICE_ID"))
    if not (url and key and device):
        return None
    from frugalstack.edge.ota.sync import TelemetrySync

    interval = float(os.environ.get("FRUGAL_TELEMETRY_INTERVAL_S", "60"))
    log.info("telemetry sync to %s every %.0f s (device %s)", url, interval, device)
    return TelemetrySync(settings.telemetry_path, url, key, device, interval_s=interval).start()


def create_app(config: ServerConfig | None = None, settings: EdgeSettings | None = None) -> FastAPI:
    """Build the app; models load at start-up when ``config.preload``, else on first request."""
    config = config or ServerConfig()
    pool = ModelPool(config, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        if config.preload and config.models:
            await run_in_threadpool(pool.runtime, config.models[0])
        sync = start_telemetry_sync(pool.settings)
        app.state.telemetry_sync = sync
        yield
        if sync is not None:
            await run_in_threadpool(sync.stop)
        await run_in_threadpool(pool.close)

    app = FastAPI(title="frugalstack edge server", version="1", lifespan=lifespan)
    document_request_bodies(app)
    app.state.pool = pool
    admission = Admission(config.max_concurrent, config.max_queue, config.queue_timeout_s)
    app.state.admission = admission
    guards: list[Any] = []  # the guard pipeline, built on first use (spaCy and MiniLM take seconds)
    guard_lock = threading.Lock()

    def guard_pipeline() -> Any:
        with guard_lock:
            if not guards:
                from frugalstack.edge.guard.pipeline import GuardPipeline

                guards.append(GuardPipeline(config.guard_policy))
            return guards[0]

    @app.exception_handler(FrugalError)
    async def _frugal(_: Request, exc: FrugalError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        body = {"error": {"message": str(exc.detail), "type": "invalid_request_error", "param": None, "code": code}}
        return JSONResponse(body, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected server error")
        body = {"error": {"message": f"internal error: {type(exc).__name__}", "type": "server_error",
                          "param": None, "code": "internal_error"}}
        return JSONResponse(body, status_code=500)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "models": config.models, "embedding_models": config.embedding_models,
                "admission": admission.stats()}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": pool.list()}

    @app.get("/v1/models/{model_id}")
    async def model(model_id: str) -> dict[str, Any]:
        for m in pool.list():
            if m["id"] == model_id:
                return m
        raise pool._unknown(model_id, "chat")

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> JSONResponse | StreamingResponse:
        req = parse(ChatCompletionRequest, await read_json(request, config.max_body_bytes))
        rt = await run_in_threadpool(pool.runtime, req.model)
        params = chat_params(req, pool, rt)
        messages = chat_messages(req)
        usage = bool(req.stream_options and req.stream_options.include_usage)
        return await admitted(
            admission, req.stream, lambda: rt.chat(messages, **params), lambda: rt.stream(messages, **params),
            lambda reply: chat_response(reply, req.model),
            lambda stream, first: _sse(stream, ChunkWriter(req.model, chat=True), first, usage, req.logprobs))

    @app.post("/v1/completions", response_model=None)
    async def completions(request: Request) -> JSONResponse | StreamingResponse:
        req = parse(CompletionRequest, await read_json(request, config.max_body_bytes))
        rt = await run_in_threadpool(pool.runtime, req.model)
        prompt, params = completion_params(req, pool, rt)
        usage = bool(req.stream_options and req.stream_options.include_usage)
        logprobs = req.logprobs is not None
        return await admitted(
            admission, req.stream, lambda: rt.complete(prompt, **params), lambda: rt.stream_complete(prompt, **params),
            lambda reply: completion_response(reply, req.model),
            lambda stream, first: _sse(stream, ChunkWriter(req.model, chat=False), first, usage, logprobs))

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> JSONResponse:
        req = parse(EmbeddingRequest, await read_json(request, config.max_body_bytes))
        texts = req.texts()
        if not texts or any(not t for t in texts):
            raise BadRequest("input must be a non-empty string or a list of non-empty strings", param="input")
        if len(texts) > config.max_embedding_inputs:
            raise BadRequest(f"at most {config.max_embedding_inputs} inputs per request", param="input")
        emb = await run_in_threadpool(pool.embedder, req.model)
        if req.dimensions is not None and req.dimensions != emb.dimensions:
            raise UnsupportedFeature(f"model {req.model} only returns {emb.dimensions} dimensions")
        vectors = await run_in_threadpool(emb.embed, texts)
        n_tokens = await run_in_threadpool(emb.count_tokens, texts)
        data = []
        for i, vec in enumerate(vectors):
            value: Any = (
                base64.b64encode(vec.astype("<f4").tobytes()).decode("ascii")
                if req.encoding_format == "base64"
                else [float(x) for x in vec]
            )
            data.append({"object": "embedding", "index": i, "embedding": value})
        return JSONResponse({"object": "list", "data": data, "model": req.model,
                             "usage": {"prompt_tokens": n_tokens, "total_tokens": n_tokens}})

    @app.post("/v1/guard")
    async def guard(request: Request) -> JSONResponse:
        """Run the guardrails on a text; same JSON as ``frugal guard check --json``."""
        from frugalstack.edge.guard.api import GuardRequest, handle

        req = parse(GuardRequest, await read_json(request, config.max_body_bytes))
        pipeline = await run_in_threadpool(guard_pipeline)
        return JSONResponse(await run_in_threadpool(handle, req, pipeline))

    return app


def serve(config: ServerConfig, settings: EdgeSettings | None = None) -> None:
    """Run the app with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(config, settings), host=config.host, port=config.port, log_level="info")
