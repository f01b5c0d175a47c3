"""Gateway usage: tokens and cost per call and key, an audit entry per call, the prompt only by opt-in.

Raw prompt text is never kept by default. A caller opts in per request (``store: true`` with
``metadata: {"use_case": ID}``), and only a use case whose governance record says ``allow_raw_prompts``
(a change that is itself audited) may keep it; anything else is refused before the model runs. The
text lands in ``usage_records.prompt_text`` (deleted by the ``usage`` retention policy), never in the
append-only audit log, whose entry only says that a prompt was kept.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from frugalstack.cloud.db.base import new_id
from frugalstack.cloud.db.tables_data import UseCase
from frugalstack.cloud.db.tables_ops import UsageRecord
from frugalstack.cloud.schemas.gateway import ChatCompletionRequest
from frugalstack.cloud.services import audit, crud
from frugalstack.cloud.services.gateway import GatewayResult, cost_usd
from frugalstack.cloud.settings import CloudSettings
from frugalstack.shared.errors import PermissionDeniedError, ValidationError


def prompt_policy(session: Session, req: ChatCompletionRequest) -> tuple[str | None, str | None]:
    """(use case id, prompt text to keep or None); raises when ``store`` is asked but not allowed."""
    use_case_id = (req.metadata or {}).get("use_case")
    if not req.store:
        return use_case_id, None
    if not use_case_id:
        raise ValidationError("store=true needs metadata.use_case: the use case whose governance record "
                              "allows keeping raw prompts")
    uc = crud.get_or_404(session, UseCase, use_case_id, "use case")
    if not uc.allow_raw_prompts:
        raise PermissionDeniedError(f"use case {uc.name!r} does not allow keeping raw prompts",
                                    hint="an operator sets allow_raw_prompts on its governance record (audited)")
    return uc.id, "\n".join(f"{m.role}: {m.text}" for m in req.messages)


def record(session: Session, who: Any, r: GatewayResult, settings: CloudSettings, use_case_id: str | None,
           prompt_text: str | None) -> UsageRecord:
    """One usage row and one audit entry (who, model, tokens, cost; whether a prompt was kept)."""
    cost = cost_usd(settings, r.prompt_tokens, r.completion_tokens)
    row = UsageRecord(id=new_id(), key_id=who.key_id, day=date.today(), model=r.model,
                      input_tokens=r.prompt_tokens, output_tokens=r.completion_tokens, cost_usd=cost,
                      latency_ms=r.latency_ms, use_case_id=use_case_id, prompt_text=prompt_text)
    session.add(row)
    audit.record(session, who, "gateway.chat", "usage_record", row.id, None, None, {
        "model": r.model, "input_tokens": r.prompt_tokens, "output_tokens": r.completion_tokens,
        "cost_usd": round(cost, 10), "use_case_id": use_case_id, "prompt_stored": prompt_text is not None})
    return row
