"""Parsers, scorers, perturbations, suites and the gate: deterministic pieces every record depends on."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from frugalstack.edge.evaluation import gate, robustness, tasks
from frugalstack.edge.evaluation.suite import load_suite
from frugalstack.shared.errors import ConfigError, NotFoundError


def test_parse_json_and_labels() -> None:
    assert tasks.parse_json('Sure! ```json\n{"intent": "shipping"}\n``` done') == {"intent": "shipping"}
    assert tasks.parse_json("{not json} then {\"a\": {\"b\": 1}}") == {"a": {"b": 1}}
    assert tasks.parse_json("no braces") is None
    assert tasks.label_of('{"intent": "order_status"}') == "order_status"
    assert tasks.label_of("This looks like a return refund question") == "return_refund"
    assert tasks.label_of("I cannot tell") == "none"


def test_fact_found_respects_words_and_negation() -> None:
    price = {"kind": "price", "fact": "$99.99", "accept": ["99.99"]}
    assert tasks.fact_found("It costs $99.99.", price)
    assert not tasks.fact_found("It costs $199.99.", price)
    wet = {"kind": "waterproof", "fact": "yes", "accept": ["is waterproof", "yes"]}
    assert tasks.fact_found("Yes, it is waterproof.", wet)
    assert not tasks.fact_found("No, it is not waterproof.", wet)


def test_bm25_finds_the_named_product() -> None:
    data = load_suite("tiny")[0].data_dir()
    products = tasks.read_jsonl(data / "products.jsonl")
    index = tasks.BM25([(p["id"], tasks._record(p)) for p in products])
    qa = tasks.read_jsonl(data / "qa.jsonl")
    hits = sum(q["product_id"] in {h[0] for h in index.search(q["question"], 3)} for q in qa[:40])
    assert hits >= 30


def test_perturbations_are_deterministic_and_change_text() -> None:
    item = {"text": "Where is my order #123456? I want a refund please", "paraphrase": "my package has not arrived"}
    for kind in ("typos", "casing", "code_switch", "paraphrase"):
        a = robustness.perturb(kind, item, random.Random(5))
        assert a == robustness.perturb(kind, item, random.Random(5))
        assert a != item["text"]


def test_suites_load_and_fail_clearly(tmp_path: Path) -> None:
    suite, where = load_suite("default")
    assert suite.version and where is None and suite.dataset_version().startswith("builtin@sha256:")
    assert suite.dataset_version() == load_suite("tiny")[0].dataset_version()
    with pytest.raises(NotFoundError):
        load_suite("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nversion: '1'\ntasks: {intent: {limit: 0}}\n")
    with pytest.raises(ConfigError, match="invalid"):
        load_suite(bad)
    other = tmp_path / "s.yaml"
    other.write_text("name: x\nversion: '1'\ndata: missing-dir\n")
    with pytest.raises(ConfigError, match="not found"):
        load_suite(other)[0].data_dir(tmp_path)


def test_gate_thresholds_merge_and_failures() -> None:
    th = gate.thresholds_for("no-such-use-case")
    assert th == gate.thresholds_for("default") and "intent.accuracy" in th
    assert gate.merge({"a": 0.5}, {"a": 0.1, "b": 0.2}) == {"a": 0.5, "b": 0.2}  # only tightened
    v = gate.check({"intent.accuracy": {"value": 0.1}}, "default")
    assert not v["passed"] and any(f.startswith("intent.accuracy = 0.1 <") for f in v["failures"])
    assert any("qa.answer_fact is missing" in f for f in v["failures"])


def test_sample_dataset_feeds_intent_and_qa() -> None:
    pytest.importorskip("frugalstack.edge.sampledata")
    suite, _ = load_suite("sampledata")
    data = suite.data_dir()
    intents = tasks.load_intents(data)
    assert len(intents) >= 150 and {r["intent"] for r in intents} <= set(tasks.INTENTS)
    qa = tasks.load_qa(data)
    assert len(qa) >= 100 and all(q["accept"] and q["product_id"] for q in qa)
    assert tasks.find(data, "extraction.jsonl") == tasks.BUILTIN / "extraction.jsonl"  # falls back to ours
    assert suite.dataset_version() != load_suite("default")[0].dataset_version()
    products = tasks.read_jsonl(tasks.find(data, "products.jsonl"))
    index = tasks.BM25([(p["id"], tasks._record(p)) for p in products])
    hits = sum(q["product_id"] in {h[0] for h in index.search(q["question"], 3)} for q in qa[:30])
    assert hits >= 10
