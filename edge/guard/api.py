"""The wire shape of ``POST /v1/guard`` (request model + handler), kept here so the edge server only adds
a route: ``@app.post("/v1/guard") def guard(req: GuardRequest) -> dict: return handle(req, pipeline)``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from frugalstack.edge.guard.pipeline import GuardPipeline


class GuardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=1_000_000)
    direction: Literal["input", "output"] = "input"
    rails: list[str] | dict[str, bool] | None = Field(None, description="rails to run (default: the policy's)")
    citations: list[dict[str, Any]] = Field(default_factory=list, description="cited records (output, grounding)")
    json_schema: dict[str, Any] | None = Field(None, description="schema the answer must follow (output)")
    retrieved: list[str] = Field(default_factory=list, description="retrieved documents (input, injection)")


def handle(request: GuardRequest, pipeline: GuardPipeline) -> dict[str, Any]:
    """Run the guard; the response is ``GuardVerdict.public()`` (same JSON as ``frugal guard check --json``)."""
    if request.direction == "output":
        verdict = pipeline.check_output(
            request.text, citations=request.citations, json_schema=request.json_schema, rails=request.rails
        )
    else:
        verdict = pipeline.check_input(request.text, rails=request.rails, retrieved=request.retrieved)
    return verdict.public()
