"""Answer quality for the route evaluation: exact facts first, an optional LLM-judge rubric second.

Exact facts (product ids, prices, attribute values, policy facts) are checked word-bounded in the answer;
a negated yes/no fact ("not waterproof") never counts as "yes". The judge is any OpenAI-compatible model
given the shipped rubric (``data/judge_rubric.md``); with the small models available offline here it is
noisy, so it is off unless asked for and reported separately.
"""

from __future__ import annotations

import re
from importlib import resources

from frugalstack.edge.router.dataset import EvalQuery

_NEG = re.compile(r"\b(?:not|isn't|is not|no)\b")


_NEGATED_STOCK = re.compile(r"\b(?:out of stock|not (?:in stock|available)|unavailable|isn't (?:in stock|available))")


def _found(answer_low: str, accepted: list[str]) -> bool:
    acc = [a.lower() for a in accepted]
    if "yes" in acc and re.search(r"\b(?:not|isn't|is not)\s+waterproof|\bno\b", answer_low):
        return False
    if ("in stock" in acc or "available" in acc) and _NEGATED_STOCK.search(answer_low):
        return False
    if "no" in acc and re.search(r"\byes\b", answer_low) and not _NEG.search(answer_low):
        return False
    return any(re.search(r"(?<![\w.])" + re.escape(a) + r"(?![\w])", answer_low) for a in acc)


def fact_score(answer: str, q: EvalQuery) -> float:
    """Share of the query's facts stated in the answer (1.0 when the query lists none and the answer is non-empty)."""
    low = answer.lower()
    if not q.facts:
        return float(bool(answer.strip()))
    return sum(_found(low, f) for f in q.facts) / len(q.facts)


def judge_prompt(question: str, reference: str, answer: str) -> str:
    template = (resources.files("frugalstack.edge.router") / "data" / "judge_rubric.md").read_text(encoding="utf-8")
    return template.format(question=question, reference=reference, answer=answer)


def parse_judge(text: str) -> float | None:
    """The rubric score mapped to [0, 1], or None when the judge did not give one."""
    m = re.search(r"score\s*[:=]?\s*([1-5])", text, re.IGNORECASE) or re.search(r"\b([1-5])\b", text)
    return (int(m.group(1)) - 1) / 4 if m else None
