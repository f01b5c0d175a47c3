"""Grounded answers: retrieve, fill a prompt from the prompt store, generate with the SLM, check the answer.

``AskResult`` is a plain dataclass so the guardrails can extend it; it carries what the router needs
(retrieval scores, the Reply's usage and logprobs) next to the answer and its citations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from frugalstack.edge.knowledge.checks import CheckFlag, check_answer
from frugalstack.edge.knowledge.filters import Filters
from frugalstack.edge.knowledge.prompts import RAG_ANSWER
from frugalstack.edge.knowledge.store import Hit, KnowledgeStore, Mode

Generate = Callable[..., Any]  # (messages, citations, **params) -> Reply


@dataclass
class RetrievalScores:
    """What the router reads: how sure retrieval was (top score, gap to the runner-up, every hit)."""

    mode: str
    top_score: float | None
    score_gap: float | None
    top_similarity: float | None
    hits: list[dict[str, Any]]


@dataclass
class AskResult:
    question: str
    answer: str
    citations: list[dict[str, Any]]  # cited records (products, doc sections), best first
    cited_ids: list[str]  # product ids / doc ids, deduplicated
    mentioned_ids: list[str]  # the cited ids the answer names by title
    retrieval: RetrievalScores
    checks: list[CheckFlag]
    prompt: str  # name@version of the template used
    reply: Any  # the runtime's Reply (usage, logprobs, timings, trace id)
    extras: dict[str, Any] = field(default_factory=dict)  # room for guard verdicts and the like

    @property
    def grounded(self) -> bool:
        return not self.checks

    @property
    def usage(self) -> Any:
        return self.reply.usage

    @property
    def logprobs(self) -> Any:
        return self.reply.logprobs

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question, "answer": self.answer, "citations": self.citations,
            "cited_ids": self.cited_ids, "mentioned_ids": self.mentioned_ids,
            "retrieval": self.retrieval.__dict__, "checks": [c.to_dict() for c in self.checks],
            "grounded": self.grounded, "prompt": self.prompt, "reply": self.reply.to_dict(), **self.extras,
        }


def context_line(hit: Hit, max_chars: int = 240) -> str:
    """One retrieved item as a compact fact line the small model can copy from."""
    if hit.kind == "doc":
        return f"[{hit.doc_id}] {hit.title}: {hit.text[:max_chars]}"
    r = hit.record
    stock = "in stock" if r.get("in_stock") else "out of stock"
    attrs = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in (r.get("attributes") or {}).items())
    price = f"{r.get('price', 0):.2f} {r.get('currency', '')}".strip()
    return f"[{hit.id}] {hit.title} - price {price}, {stock}. {attrs}."


def scores(hits: list[Hit], mode: str) -> RetrievalScores:
    top = hits[0].score if hits else None
    gap = hits[0].score - hits[1].score if len(hits) > 1 else None
    return RetrievalScores(
        mode=mode, top_score=top, score_gap=gap, top_similarity=hits[0].vector_score if hits else None,
        hits=[{"id": h.id, "score": h.score, "vector_score": h.vector_score, "bm25": h.bm25} for h in hits],
    )


def ask(
    store: KnowledgeStore,
    question: str,
    generate: Generate,
    *,
    k: int = 3,
    prompt: str = RAG_ANSWER,
    mode: Mode = "hybrid",
    filters: Filters | None = None,
    **params: Any,
) -> AskResult:
    """Answer ``question`` from the store; ``generate`` is the runtime's chat (Runtime.ask passes it)."""
    hits = store.search(question, k=k, mode=mode, filters=filters)
    template = store.prompts.get(prompt)
    context = "\n".join(context_line(h) for h in hits) or "(nothing found)"
    text = template.render(context=context, question=question)
    citations, cited_ids = [], []
    for h in hits:
        c = h.citation()
        if c["id"] not in cited_ids:
            cited_ids.append(c["id"])
            citations.append(c)
    params.setdefault("logprobs", True)
    params.setdefault("max_tokens", 128)
    reply = generate([{"role": "user", "content": text}], citations, **params)
    answer = reply.text.strip()
    low = answer.lower()
    mentioned = [c["id"] for c in citations if c.get("title") and str(c["title"]).lower() in low]
    mentioned += [i for i in cited_ids if i.lower() in low and i not in mentioned]
    return AskResult(
        question=question, answer=answer, citations=citations, cited_ids=cited_ids, mentioned_ids=mentioned,
        retrieval=scores(hits, mode), checks=check_answer(answer, citations), prompt=template.ref, reply=reply,
    )
