"""``/v1/chat/completions`` and ``/v1/models``: the OpenAI-compatible gateway the edge router escalates to."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from frugalstack.cloud.db.tables_ops import UsageRecord
from frugalstack.cloud.deps import Reader, StateDep, require
from frugalstack.cloud.schemas.gateway import (
    ChatCompletion,
    ChatCompletionRequest,
    Choice,
    ChoiceMessage,
    CompletionUsage,
    ModelEntry,
    ModelList,
    UsageSummary,
)
from frugalstack.cloud.services import usage as usage_service
from frugalstack.cloud.services.auth import Principal
from frugalstack.cloud.services.gateway import GatewayResult
from frugalstack.cloud.state import CloudState
from frugalstack.shared.errors import FrugalError

router = APIRouter(tags=["gateway"])
Caller = Annotated[Principal, Depends(require({"admin", "operator", "device"}))]


def _check_store(state: CloudState, body: ChatCompletionRequest) -> tuple[str | None, str | None]:
    with state.db.read() as s:
        return usage_service.prompt_policy(s, body)


def _record(state: CloudState, who: Principal, r: GatewayResult, kept: tuple[str | None, str | None]) -> None:
    with state.db.write() as s:
        usage_service.record(s, who, r, state.settings, *kept)


@router.get("/v1/models", response_model=ModelList, tags=["gateway"])
def list_gateway_models(state: StateDep, who: Caller) -> ModelList:
    return ModelList(data=[ModelEntry(id=state.settings.gateway_model)])


@router.post("/v1/chat/completions", response_model=ChatCompletion, responses={
    200: {"content": {"text/event-stream": {}}, "description": "JSON, or SSE chunks when stream=true"}})
async def chat_completions(body: ChatCompletionRequest, state: StateDep, who: Caller) -> Any:
    """OpenAI-compatible; ``stream: true`` answers with server-sent events ending in ``data: [DONE]``."""
    kept = await run_in_threadpool(_check_store, state, body)  # refuse a disallowed store=true before the model
    backend = await run_in_threadpool(state.gateway)
    cid, created = "chatcmpl-" + uuid.uuid4().hex[:24], int(time.time())
    if not body.stream:
        r: GatewayResult = await run_in_threadpool(backend.complete, body)
        await run_in_threadpool(_record, state, who, r, kept)
        return ChatCompletion(id=cid, created=created, model=r.model, choices=[
            Choice(message=ChoiceMessage(content=r.text), finish_reason=r.finish_reason)],
            usage=CompletionUsage(prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens,
                                  total_tokens=r.prompt_tokens + r.completion_tokens))
    include_usage = bool((body.stream_options or {}).get("include_usage"))

    def chunk(delta: dict[str, Any], finish: str | None, model: str) -> str:
        c = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(c)}\n\n"

    def events() -> Iterator[str]:
        model = backend.model
        yield chunk({"role": "assistant", "content": ""}, None, model)
        try:
            for item in backend.stream(body):
                if isinstance(item, GatewayResult):
                    _record(state, who, item, kept)
                    yield chunk({}, item.finish_reason, item.model)
                    if include_usage:
                        u = {"prompt_tokens": item.prompt_tokens, "completion_tokens": item.completion_tokens,
                             "total_tokens": item.prompt_tokens + item.completion_tokens}
                        yield "data: " + json.dumps({"id": cid, "object": "chat.completion.chunk",
                                                     "created": created, "model": item.model, "choices": [],
                                                     "usage": u}) + "\n\n"
                else:
                    yield chunk({"content": item}, None, model)
        except FrugalError as exc:
            yield f"data: {json.dumps(exc.to_dict())}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/v1/usage", response_model=list[UsageSummary])
def usage(state: StateDep, who: Reader,
          since: Annotated[date | None, Query()] = None) -> list[UsageSummary]:
    """Gateway usage and cost per key x day x model."""
    q = select(UsageRecord.key_id, UsageRecord.day, UsageRecord.model, func.count(),
               func.sum(UsageRecord.input_tokens), func.sum(UsageRecord.output_tokens),
               func.sum(UsageRecord.cost_usd)).group_by(UsageRecord.key_id, UsageRecord.day, UsageRecord.model)
    if since:
        q = q.where(UsageRecord.day >= since)
    with state.db.read() as s:
        return [UsageSummary(key_id=k, day=d.isoformat(), model=m, requests=n, input_tokens=int(i or 0),
                             output_tokens=int(o or 0), cost_usd=float(c or 0)) for k, d, m, n, i, o, c in s.execute(q)]
