"""The evaluation's fast paths must not change answers: the prefix-cached llama.cpp path gives the same greedy
text as the runtime's chat path (real SmolLM2), and an identical request is answered from memory once."""

from __future__ import annotations

from frugalstack.edge.evaluation import tasks
from frugalstack.edge.evaluation.model import MemoGenerator, RuntimeGenerator, profile_with_threads

MODEL = "smollm2-135m-instruct-q4_1"
REQUESTS = [
    ([{"role": "system", "content": tasks.INTENT_SYSTEM}, {"role": "user", "content": text}], 12, tasks.INTENT_SCHEMA)
    for text in ("Where is my order 5521?", "Do you have waterproof hiking boots under $80?",
                 "I want a refund for the broken kettle.")
] + [([{"role": "system", "content": "You are a shop assistant."},
       {"role": "user", "content": "Is the blue backpack waterproof?"}], 16, None)]


def test_prefix_cache_gives_the_runtime_answers_and_reuses_the_prefix() -> None:
    profile = profile_with_threads(None, 1)
    answers = {}
    for cached in (False, True):
        gen = RuntimeGenerator(MODEL, profile=profile, prefix_cache=cached)
        try:
            answers[cached] = [gen.generate(m, max_tokens=n, json_schema=s).text for m, n, s in REQUESTS]
            path = gen.path
        finally:
            gen.close()
        assert ("prefix" in path["path"]) is cached
    assert answers[True] == answers[False]
    assert all(tasks.label_of(a) in tasks.INTENTS for a in answers[True][:3])  # grammar still applied
    assert path["reused_prefix_tokens"] > 2 * 40  # the intent system prompt is read once, not three times


def test_memo_answers_identical_requests_once() -> None:
    gen = MemoGenerator(RuntimeGenerator(MODEL, profile=profile_with_threads(None, 1)))
    try:
        msgs, n, schema = REQUESTS[0]
        first = gen.generate(msgs, max_tokens=n, json_schema=schema)
        again = gen.generate([dict(m) for m in msgs], max_tokens=n, json_schema=schema)
        other = gen.generate(msgs, max_tokens=n - 1, json_schema=schema)  # another budget is another request
    finally:
        gen.inner.close()  # type: ignore[attr-defined]
    assert again is first and other is not first
    assert gen.stats.requests == 3 and gen.stats.cache_hits == 1
    assert gen.stats.output_tokens == first.output_tokens + other.output_tokens
