"""The API teacher over a real loopback server: timeouts, 500s and garbage are counted, retried and skipped
(the run goes on), answers are cached by content hash so a rerun asks nothing, tokens and cost add up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from frugalstack.cloud.distill.config import TeacherConfig
from frugalstack.cloud.distill.tasks import TASKS, Example
from frugalstack.cloud.distill.teacher import TeacherCache, TeacherStats, label_examples
from frugalstack.cloud.distill.teacher_openai import OpenAITeacher


def _examples() -> list[Example]:
    texts = ["Where is my parcel, has it shipped?", "SLOW question about shipping", "GARBAGE please",
             "FLAKY show me boots", "I want my money back", "Is it waterproof?"]
    return [Example("intent", f"x{i}", t, "shipping") for i, t in enumerate(texts)]


def test_misbehaving_teacher_is_counted_retried_and_skipped(tmp_path: Path,
                                                            teacher_server: tuple[str, Any]) -> None:
    url, behaviour = teacher_server
    cfg = TeacherConfig(kind="openai", base_url=url, timeout_s=0.5, max_retries=1, max_concurrency=3)
    cache = TeacherCache(tmp_path / "cache.sqlite")
    stats = TeacherStats()
    exs = _examples()
    got = label_examples(OpenAITeacher(cfg, url, "k"), cfg, cache, exs, {"intent": []}, stats)
    assert set(got) == {"x0", "x3", "x4", "x5"}  # SLOW and GARBAGE skipped; FLAKY recovered on retry
    assert got["x0"]["answer"] == "shipping" and got["x4"]["answer"] == "return_refund"
    assert got["x3"]["answer"] == "product_search"
    assert got["x0"]["logprob"] == -0.25 and got["x0"]["token_logprobs"] == [-0.25]
    assert stats.timeouts == 2 and stats.garbage == 2 and stats.errors == 1
    assert stats.skipped == 2 and sorted(stats.skipped_ids) == ["x1", "x2"]
    assert stats.retries == 3 and stats.requests == 9
    ok_calls = 4 + 2  # four answers plus two garbage replies carry usage
    assert stats.prompt_tokens == 50 * ok_calls and stats.completion_tokens == 5 * ok_calls
    assert abs(stats.cost_usd - (50 * 0.05 + 5 * 0.20) * ok_calls / 1e6) < 1e-12
    # a rerun (a resumed run) asks only for what is missing
    before = behaviour.calls
    again = TeacherStats()
    got2 = label_examples(OpenAITeacher(cfg, url, "k"), cfg, cache, exs, {"intent": []}, again)
    assert got2 == got and again.cache_hits == 4 and again.requests == 4  # the two failures, asked twice each
    assert behaviour.calls - before >= 4
    assert len(cache) == 4
    cache.close()


def test_cache_key_changes_with_the_prompt(tmp_path: Path, teacher_server: tuple[str, Any]) -> None:
    url, _ = teacher_server
    cfg = TeacherConfig(kind="openai", base_url=url, max_retries=0)
    cache = TeacherCache(tmp_path / "c.sqlite")
    ex = [Example("intent", "a", "Where is my parcel?", "shipping")]
    shots = {"intent": [Example("intent", "s", "I want my money back", "return_refund")]}
    label_examples(OpenAITeacher(cfg, url, None), cfg, cache, ex, {"intent": []}, TeacherStats())
    stats = TeacherStats()
    label_examples(OpenAITeacher(cfg, url, None), cfg, cache, ex, shots, stats)
    assert stats.cache_hits == 0 and len(cache) == 2
    assert TASKS["intent"].parse("shipping") == "shipping"
    cache.close()


def test_local_constrained_teacher_matches_brute_force_scoring(tiny_llama: Path) -> None:
    """The batched label scoring over a shared prompt cache picks what full-sequence scoring picks, and the
    extraction skeleton always yields valid JSON of the schema."""
    import torch

    from frugalstack.cloud.distill.models import answer_ids, chat_ids
    from frugalstack.cloud.distill.tasks import INTENTS
    from frugalstack.cloud.distill.teacher import messages_for
    from frugalstack.cloud.distill.teacher_local import LocalTeacher

    teacher = LocalTeacher(tiny_llama, threads=1)
    ex = Example("intent", "a", "Where is my parcel?", "shipping")
    msgs = messages_for(TASKS["intent"], ex, [])
    reply = teacher.ask(TASKS["intent"], msgs)
    prompt = chat_ids(teacher.tok, msgs)
    totals = {}
    with torch.no_grad():
        for label in INTENTS:
            ans = answer_ids(teacher.tok, label)
            logp = torch.log_softmax(teacher.model(input_ids=torch.tensor([prompt + ans])).logits[0], -1)
            totals[label] = sum(float(logp[len(prompt) - 1 + j, t]) for j, t in enumerate(ans))
    assert reply.text == max(totals, key=lambda k: totals[k])
    assert abs(reply.logprob - totals[reply.text]) < 1e-3
    ext = teacher.ask(TASKS["extraction"], messages_for(TASKS["extraction"], Example(
        "extraction", "b", "A red bag. Weight: 120 g.", "{}"), []))
    assert TASKS["extraction"].parse(ext.text) == ext.text


def test_prefix_cache_changes_nothing_and_student_schema_decoding_is_valid(tiny_llama: Path) -> None:
    """The teacher's reused few-shot KV prefix gives the answers a fresh teacher gives; schema decoding over a
    plain model (the students' evaluation) always yields the schema's JSON and agrees with the teacher's path."""
    from frugalstack.cloud.distill.constrained import extract_json, model_step
    from frugalstack.cloud.distill.models import chat_ids
    from frugalstack.cloud.distill.teacher import messages_for
    from frugalstack.cloud.distill.teacher_local import LocalTeacher

    task = TASKS["extraction"]
    shots = [Example("extraction", "s", "A blue tent. Made from nylon. Weight: 900 g.",
                     '{"colour": "blue", "material": "nylon", "waterproof": null, "weight_g": 900}')]
    texts = ["A red bag. Weight: 120 g.", "Waterproof: yes. It comes in black.", "A wool hat in grey."]
    warm = LocalTeacher(tiny_llama, threads=1)
    answers = [warm.ask(task, messages_for(task, Example("extraction", t, t, "{}"), shots)) for t in texts]
    assert warm._prefix["extraction"][0]  # the prefix was kept and reused for the second and third prompt
    for text, reply in zip(texts, answers, strict=True):
        msgs = messages_for(task, Example("extraction", text, text, "{}"), shots)
        assert LocalTeacher(tiny_llama, threads=1).ask(task, msgs).text == reply.text
        got, _, generated = extract_json(model_step(warm.model), warm.tok, chat_ids(warm.tok, msgs))
        assert got == reply.text and task.parse(got) == got and generated >= 4
