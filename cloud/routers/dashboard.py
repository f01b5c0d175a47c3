"""``/dashboard``: the operators' web page, and ``/v1/stats/overview`` it draws from."""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from frugalstack.cloud.deps import Reader, StateDep
from frugalstack.cloud.schemas.stats import Overview
from frugalstack.cloud.services import stats

router = APIRouter(tags=["observability"])


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
def dashboard() -> str:
    """Static page; it asks for an API key (or reads ``#key=...``) and fetches the overview with it."""
    return (resources.files("frugalstack.cloud") / "static" / "dashboard.html").read_text(encoding="utf-8")


@router.get("/v1/stats/overview", response_model=Overview)
def overview(state: StateDep, who: Reader, days: Annotated[int, Query(ge=1, le=366)] = 30) -> Overview:
    """Fleet requests, edge share, cost, energy, latency percentiles, guard verdicts, feedback, drift alerts,
    model versions per profile — from the daily aggregates."""
    with state.db.read() as s:
        return Overview.model_validate(stats.overview(s, days))
