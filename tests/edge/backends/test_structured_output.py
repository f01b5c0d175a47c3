"""``json_schema`` on the step backends (torch, ONNX Runtime, OpenVINO, LiteRT): a token mask in the shared loop.

The model is the tiny random-weight Llama with SmolLM2's real tokenizer (``conftest.tiny_llama``): left
alone it writes noise, so every answer that parses and validates is the mask's doing, not the model's.
The schema is bounded (enums, maxLength, integer ranges, maxItems) so a random model must finish it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from frugalstack.edge.backends import create_backend, load_backend_class
from frugalstack.edge.backends.base import Feature, FinishEvent, GenerationRequest, TokenEvent
from frugalstack.edge.catalog import get_spec
from frugalstack.edge.profiles import RuntimeSettings
from frugalstack.shared.errors import UnsupportedFeature

pytest.importorskip("llguidance", reason="llguidance is not installed (frugalstack[edge])")

SPEC = get_spec("smollm2-135m-instruct-q4_1")
SETTINGS = RuntimeSettings(threads=1, context_size=512, memory_budget_mb=2048)
BOUNDED = {
    "type": "object",
    "properties": {
        "category": {"enum": ["shoes", "bags", "jackets"]},
        "name": {"type": "string", "maxLength": 8},
        "stock": {"type": "integer", "minimum": 0, "maximum": 99},
        "waterproof": {"type": "boolean"},
        "tags": {"type": "array", "items": {"enum": ["new", "sale"]}, "maxItems": 2},
        "size": {"type": "object", "properties": {"eu": {"type": "integer", "minimum": 30, "maximum": 50}},
                 "required": ["eu"], "additionalProperties": False},
    },
    "required": ["category", "name", "stock", "waterproof", "tags", "size"],
    "additionalProperties": False,
}
WITH_NUMBER = {  # numbers, bounds, patterns, const, anyOf, $ref, tuples: the rest of the common vocabulary
    "type": "object",
    "$defs": {"small": {"type": "integer", "minimum": -3, "maximum": 3}},
    "properties": {"price": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
                   "label": {"type": "string", "pattern": "^[a-z]{1,4}$"}, "ok": {"type": "boolean"},
                   "kind": {"enum": ["a", "b", 3]}, "v": {"const": 2},
                   "maybe": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/small"}]},
                   "pair": {"type": "array", "prefixItems": [{"type": "string", "maxLength": 3},
                                                             {"type": "integer", "minimum": 0, "maximum": 9}],
                            "items": False, "minItems": 2}},
    "required": ["price", "label", "ok", "kind", "v", "maybe", "pair"],
    "additionalProperties": False,
}
PROMPT = "Describe the product as JSON:"


def run(backend: Any, request: GenerationRequest) -> tuple[list[TokenEvent], FinishEvent]:
    events = list(backend.generate(request))
    assert isinstance(events[-1], FinishEvent)
    return [e for e in events if isinstance(e, TokenEvent)], events[-1]


# ---------------------------------------------------------------- the mask alone, on the real tokenizer
@pytest.fixture(scope="module")
def table(tiny_llama: Path) -> Any:
    from frugalstack.edge.backends._jsonschema import TokenTable
    from frugalstack.edge.backends._tokenizer import LightTokenizer

    tok = LightTokenizer(tiny_llama)
    return tok, TokenTable(tok.to_json(), tok.eos_token_ids)


@pytest.mark.parametrize("schema", [BOUNDED, WITH_NUMBER], ids=["bounded", "number"])
def test_random_walks_through_the_mask_always_validate(table: Any, schema: dict) -> None:
    """Pick uniformly among allowed tokens (the worst-behaved 'model'): every finished document validates."""
    from frugalstack.edge.backends._jsonschema import JsonConstraint

    tok, tab = table
    rng = np.random.default_rng(0)
    for _ in range(12):
        c, ids = JsonConstraint(tab, schema), []
        for _step in range(400):
            if c.complete:
                break
            allowed = np.flatnonzero(c.allowed())
            assert len(allowed) and not set(allowed.tolist()) & tok.eos_token_ids  # no stopping half-way
            token = int(rng.choice(allowed))
            c.advance(token)
            ids.append(token)
        assert c.complete, tok.decode(ids)
        jsonschema.validate(json.loads(tok.decode(ids)), schema)


def test_mask_forbids_what_the_schema_forbids(table: Any) -> None:
    from frugalstack.edge.backends._jsonschema import JsonConstraint

    tok, tab = table
    c = JsonConstraint(tab, BOUNDED)
    ok = c.allowed()
    starts = {tok.decode([int(i)]) for i in np.flatnonzero(ok)}
    assert starts and all(s.startswith("{") for s in starts), starts  # '{"' (the forced key follows)
    assert not ok[tok.encode("[", add_special_tokens=False)[0]] and not ok[tok.encode(" ", add_special_tokens=False)[0]]
    assert not any(ok[i] for i in tok.eos_token_ids)  # cannot stop before the document is complete
    assert JsonConstraint(tab, {"type": "object"}).allowed()[tok.encode("{", add_special_tokens=False)[0]]
    logits = np.zeros(len(ok) + 7, dtype=np.float32)  # a model head wider than the vocabulary
    masked = c.mask(logits)
    assert np.isneginf(masked[len(ok):]).all() and np.isfinite(masked).sum() == ok.sum()


@pytest.mark.parametrize("schema, match", [
    ({"type": "string", "pattern": "(?=lookahead)a"}, "look-around"),
    ({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}, "required": ["a"]}, "missing"),
    ({"not": {"type": "string"}}, "not"),
    ({"type": "array", "items": {"type": "integer"}, "uniqueItems": True}, "uniqueItems"),
    ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, "oneOf"),  # overlapping branches: cannot enforce
    ({"type": "string", "format": "no-such-format"}, "format"),
])
def test_unsupported_schemas_raise_a_clear_error(table: Any, schema: dict, match: str) -> None:
    from frugalstack.edge.backends._jsonschema import JsonConstraint

    with pytest.raises(UnsupportedFeature, match=match):
        JsonConstraint(table[1], schema)


# ---------------------------------------------------------------- every step backend, end to end
@pytest.fixture(scope="module")
def backends(tiny_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from frugalstack.optimizers.openvino_export import ensure_openvino

    paths: dict[str, Any] = {"torch": tiny_llama, "onnx": tiny_llama,
                             "openvino": lambda: ensure_openvino(tiny_llama, "fp32")}
    try:
        import ai_edge_litert  # noqa: F401

        from frugalstack.optimizers.tflite_writer import write_tflite

        paths["litert"] = lambda: write_tflite(tiny_llama, tmp_path_factory.mktemp("tfl") / "t", seq_len=128)
    except ImportError:
        pass
    out = {}
    for name, path in paths.items():
        backend = create_backend(name)
        backend.load(path() if callable(path) else path, SPEC, SETTINGS)
        out[name] = backend
    yield out
    for b in out.values():
        b.close()


def test_every_step_backend_advertises_json_schema() -> None:
    for name in ("torch", "onnx", "openvino", "litert"):
        assert Feature.JSON_SCHEMA in load_backend_class(name).features, name


def test_constrained_answers_parse_validate_and_agree_across_formats(backends: dict) -> None:
    greedy = GenerationRequest(prompt=PROMPT, max_tokens=60, json_schema=BOUNDED, logprobs=True, top_logprobs=3)
    ref_ids = None
    for name, backend in backends.items():
        events, fin = run(backend, greedy)
        doc = json.loads("".join(e.text for e in events))
        jsonschema.validate(doc, BOUNDED)
        assert fin.reason == "stop", name
        assert all(e.logprob is not None and np.isfinite(e.logprob) for e in events if e.token_id is not None)
        assert all(np.isfinite(list(e.top_logprobs.values())).all() for e in events)
        ids = [e.token_id for e in events if e.token_id is not None]
        ref_ids = ref_ids or ids
        assert ids == ref_ids, name  # fp32 formats, same logits, same mask: same tokens
        for seed in (1, 2):
            sampled = GenerationRequest(prompt=PROMPT, max_tokens=60, json_schema=BOUNDED, temperature=1.0, seed=seed)
            events, fin = run(backend, sampled)
            jsonschema.validate(json.loads("".join(e.text for e in events)), BOUNDED)


def test_chat_with_schema_and_unconstrained_output_differs(backends: dict) -> None:
    from frugalstack.shared.schemas import ChatMessage

    b = backends["onnx"]
    chat = [ChatMessage(role="user", content="A red shoe, please, as JSON.")]
    events, fin = run(b, GenerationRequest(messages=chat, max_tokens=60, json_schema=BOUNDED))
    jsonschema.validate(json.loads("".join(e.text for e in events)), BOUNDED)
    assert fin.reason == "stop" and fin.usage.input_tokens > 5  # the chat template was applied
    free, _ = run(b, GenerationRequest(messages=chat, max_tokens=20))
    with pytest.raises(ValueError):  # the random model alone does not write JSON: the mask is doing the work
        json.loads("".join(e.text for e in free))


def test_unsupported_schema_is_refused_before_generating(backends: dict) -> None:
    with pytest.raises(UnsupportedFeature, match="json_schema"):
        list(backends["torch"].generate(GenerationRequest(prompt=PROMPT, json_schema={"type": "string",
                                                                                       "pattern": "(?=x)y"})))
