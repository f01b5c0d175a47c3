"""The runtime feeds the feedback store's re-ask signal in real use (real SmolLM2, real SQLite): each chat,
stream or ask question of a known user is observed; a repeat within the window marks the earlier answer
``reasked``, stored only with the user's consent (else only the day counter moves)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

QUESTION = "Is the blue backpack waterproof?"


@pytest.fixture(scope="module")
def one_thread() -> Any:
    from frugalstack.edge.profiles import get_profile

    base = get_profile("laptop-x86")
    return base.model_copy(update={"runtime": base.runtime.model_copy(update={"threads": 1})})


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Any]:
    from frugalstack.edge.feedback.store import FeedbackStore

    s = FeedbackStore(tmp_path / "fb.db", min_bucket=1)
    s.set_consent("anna", True)
    s.set_consent("bob", False)
    yield s
    s.close()


def _reasked(store: Any) -> list[str]:
    return [r["trace_id"] for r in store.list(limit=100) if r.get("signal") == "reasked"]


def test_chat_and_stream_questions_are_observed(store: Any, one_thread: Any) -> None:
    from frugalstack.edge.runtime import Runtime

    with Runtime(profile=one_thread, telemetry=False, guard=False, feedback=store, user="anna") as rt:
        first = rt.chat(QUESTION, max_tokens=2)  # the runtime's default user
        assert first.user == "anna"
        rt.chat("is the BLUE backpack waterproof??", max_tokens=2)
        assert _reasked(store) == [first.trace_id]
        other = rt.chat("What sizes does the rain jacket come in?", max_tokens=2)  # a new question: no signal
        streamed = rt.stream("what sizes does the rain jacket come in", max_tokens=2)
        "".join(streamed)
        assert streamed.reply is not None and streamed.reply.user == "anna"
        assert sorted(_reasked(store)) == sorted([first.trace_id, other.trace_id])
        # reply.feedback links to the asker by default: stored because anna consented
        assert first.feedback(thumbs="down") is not None

        # bob did not consent: his re-ask only moves the counter; a per-call user overrides the default
        bob = rt.chat("Do you ship to Norway?", max_tokens=2, user="bob")
        rt.chat("Do you ship to Norway?", max_tokens=2, user="bob")
        assert bob.user == "bob" and bob.trace_id not in _reasked(store)
        assert bob.feedback(rating=2) is None and not store.list(trace_id=bob.trace_id)
        assert store.export()["implicit"]["reasked"] == 3

    # no user id: nothing to link a re-ask to, nothing observed
    with Runtime(profile=one_thread, telemetry=False, guard=False, feedback=store) as anon:
        anon.chat(QUESTION, max_tokens=2)
        anon.chat(QUESTION, max_tokens=2)
    assert store.export()["implicit"]["reasked"] == 3


def test_ask_questions_are_observed(store: Any, one_thread: Any, tmp_path: Path) -> None:
    from frugalstack.edge.knowledge.ingest import ingest
    from frugalstack.edge.knowledge.store import KnowledgeStore
    from frugalstack.edge.runtime import Runtime
    from frugalstack.edge.sampledata import DOCS_DIR

    shutil.copytree(DOCS_DIR, tmp_path / "catalog" / "docs")
    kb = KnowledgeStore(tmp_path / "k.db")
    assert not ingest(kb, tmp_path / "catalog").errors
    try:
        with Runtime(profile=one_thread, telemetry=False, guard=False, feedback=store) as rt:
            a = rt.ask("How much does standard delivery cost?", db=kb, k=2, max_tokens=2, route=False, user="anna")
            b = rt.ask("how much does standard delivery cost", db=kb, k=2, max_tokens=2, route=False, user="anna")
    finally:
        kb.close()
    assert a.reply.trace_id != b.reply.trace_id
    assert _reasked(store) == [a.reply.trace_id]
