"""Config validation and the dataset reader: malformed rows are reported and skipped, never fatal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from frugalstack.cloud.distill import CONFIGS_DIR
from frugalstack.cloud.distill.config import load_config
from frugalstack.cloud.distill.data import load_examples, sample_rows, split
from frugalstack.cloud.distill.tasks import TASKS
from frugalstack.shared.errors import ConfigError, ValidationError


def test_shipped_configs_validate() -> None:
    names = sorted(p.name for p in CONFIGS_DIR.glob("*.yaml"))
    assert "demo.yaml" in names
    for path in CONFIGS_DIR.glob("*.yaml"):
        assert load_config(path).name


@pytest.mark.parametrize(("raw", "needle"), [
    ({"train": {"mode": "token"}, "teacher": {"kind": "openai"}}, "needs teacher.kind=local"),
    ({"train": {"lr": -1}}, "train.lr"),
    ({"tasks": ["haiku"]}, "tasks.0"),
    ({"data": {"source": "file"}}, "data.path"),
    ({"nonsense": 1}, "nonsense"),
])
def test_bad_config_names_the_field(raw: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        load_config(raw)


def test_bad_yaml_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("tasks: [intent\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "c.yaml")


def test_malformed_rows_are_reported_and_skipped(tmp_path: Path, rows_file: Path) -> None:
    good = rows_file.read_text()
    bad = ['{"task": "intent", "text": "hello", "label": "not-an-intent"}', "this is not json", "[1, 2]",
           '{"task": "poetry", "text": "x"}', '{"task": "intent", "text": "", "label": "shipping"}',
           '{"task": "extraction", "text": "a bag", "attributes": {"weight_g": "heavy"}}',
           '{"task": "intent", "id": "i0", "text": "dup", "label": "shipping"}', "[" * 100_000]
    path = tmp_path / "mixed.jsonl"
    path.write_text(good + "\n".join(bad) + "\n")
    cfg = load_config({"data": {"source": "file", "path": str(path)}})
    loaded = load_examples(cfg, tmp_path)
    assert {t: len(v) for t, v in loaded.examples.items()} == {"intent": 12, "extraction": 12}
    reasons = " | ".join(s["reason"] for s in loaded.skipped)
    assert len(loaded.skipped) == len(bad)
    for needle in ("not one of", "not JSON", "not a JSON object", "unknown task", "non-empty", "integer", "duplicate",
                   "nested too deeply"):
        assert needle in reasons
    assert all(s["line"] > 24 for s in loaded.skipped)


def test_too_few_rows_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"task": "intent", "text": "hi", "label": "chit_chat"}) + "\n")
    with pytest.raises(ValidationError, match="usable rows"):
        load_examples(load_config({"tasks": ["intent"], "data": {"source": "file", "path": str(path)}}), tmp_path)


def test_sample_rows_and_split_are_deterministic(tmp_path: Path) -> None:
    rows = sample_rows()
    assert {r["task"] for r in rows} == {"intent", "extraction"}
    cfg = load_config({"data": {"limit_per_task": 40}})
    a = load_examples(cfg, tmp_path).examples["intent"]
    b = load_examples(cfg, tmp_path).examples["intent"]
    assert [e.id for e in a] == [e.id for e in b]
    parts = split(a, 0.15, 0.25)
    assert (len(parts["test"]), len(parts["dev"]), len(parts["train"])) == (10, 6, 24)
    assert not {e.id for e in parts["test"]} & {e.id for e in parts["train"]}


def test_task_parsing_and_scores() -> None:
    intent, extraction = TASKS["intent"], TASKS["extraction"]
    assert intent.parse("Intent: shipping.") == "shipping"
    assert intent.parse("no idea") is None
    s = intent.score(["shipping", "payment", "shipping"], ["shipping", None, "payment"])
    assert s["accuracy"] == pytest.approx(1 / 3) and s["valid"] == pytest.approx(2 / 3)
    assert s["macro_f1"] == pytest.approx((2 / 3 + 0) / 2)
    gold = extraction.parse('{"colour": "Black", "material": "nylon", "waterproof": null, "weight_g": 250}')
    assert gold == '{"colour": "black", "material": "nylon", "waterproof": null, "weight_g": 250}'
    assert extraction.parse("sure! {broken") is None
    half = '{"colour": "black", "material": null, "waterproof": null, "weight_g": 1}'
    r = extraction.score([gold, gold], [half, None])
    assert r["field_exact_match"] == pytest.approx(2 / 8) and r["json_valid"] == 0.5 and r["record_exact_match"] == 0
