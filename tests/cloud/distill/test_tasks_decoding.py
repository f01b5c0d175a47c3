"""Scoring and the pieces of schema-constrained decoding that need no model."""

from __future__ import annotations

import json

import pytest

from frugalstack.cloud.distill.constrained import typed, value_end
from frugalstack.cloud.distill.tasks import TASKS, canonical_json


@pytest.mark.parametrize(("text", "cut"), [(' "black",', 8), (" null}", 5), (' "a, b"', None), (' "a\\\\",', 6),
                                           (" 250\n", 4), (' "x', None)])
def test_value_end_ignores_separators_inside_strings(text: str, cut: int | None) -> None:
    assert value_end(text) == cut


def test_typed_values_fall_back_to_null() -> None:
    assert typed("string", ' "black"') == "black" and typed("string", " 12") is None
    assert typed("integer", " 250") == 250 and typed("integer", " true") is None
    assert typed("boolean", " false") is False and typed("boolean", ' "yes"') is None
    assert typed("string", ' ""') is None and typed("string", " garbage") is None


def test_extraction_score_separates_stated_fields_from_nulls() -> None:
    task = TASKS["extraction"]
    gold = [canonical_json({"colour": "red", "material": None, "waterproof": None, "weight_g": 120})] * 2
    all_null = canonical_json({})
    right = gold[0]
    s = task.score(gold, [all_null, None])
    assert s["field_exact_match"] == pytest.approx(2 / 8) and s["stated_field_match"] == 0.0
    assert s["json_valid"] == 0.5
    s = task.score(gold, [right, task.parse("Sure! " + right + " hope that helps")])
    assert s["field_exact_match"] == 1.0 and s["stated_field_match"] == 1.0 and s["record_exact_match"] == 1.0
    assert task.parse('{"colour": "red", "material": ') is None  # never closed: not valid
    assert json.loads(task.parse('{"colour": "Red", "weight_g": "120"}') or "{}")["weight_g"] is None


def test_grounding_keeps_only_what_the_text_states() -> None:
    from frugalstack.cloud.distill.constrained import grounded

    text = "Made from recycled polyester. Weight: 250 g. It comes in Black. Size: S. Battery: 2.50 h."
    assert grounded("material", "recycled polyester", text) == "recycled polyester"
    assert grounded("colour", "black", text) == "black" and grounded("colour", "green", text) is None
    assert grounded("weight_g", 250, text) == 250 and grounded("weight_g", 560, text) is None
    assert grounded("weight_g", 50, text) is None  # only inside "2.50"
    assert grounded("colour", "s", "A bag in slate grey.") is None  # a letter is not a word
    assert grounded("waterproof", True, text) is None and grounded("waterproof", False, "Not waterproof.") is False
