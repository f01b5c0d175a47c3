"""``response_format: json_schema`` is grammar-constrained on llama.cpp: every answer parses and validates."""

from __future__ import annotations

import json

import jsonschema
from openai import OpenAI

MODEL = "smollm2-135m-instruct-q4_1"
PRODUCT_SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"enum": ["shoes", "bags", "jackets", "watches"]},
        "color": {"enum": ["red", "blue", "black", "white", "green"]},
        "in_stock": {"type": "boolean"},
    },
    "required": ["category", "color", "in_stock"],
    "additionalProperties": False,
}
PRODUCTS = ["a red running shoe", "a black leather bag", "a blue rain jacket", "a white sports watch"]


def test_100_generations_all_parse(live_server) -> None:
    client = OpenAI(base_url=live_server.base_url + "/v1", api_key="local", max_retries=0, timeout=300)
    failures, seen = 0, set()
    for i in range(100):
        r = client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "system", "content": "Answer in JSON."},
                      {"role": "user", "content": f"Attributes of {PRODUCTS[i % 4]}?"}],
            max_tokens=40,
            temperature=1.0,
            seed=i,
            response_format={"type": "json_schema", "json_schema": {"name": "product", "schema": PRODUCT_SCHEMA}},
        )
        try:
            obj = json.loads(r.choices[0].message.content)
            jsonschema.validate(obj, PRODUCT_SCHEMA)
            seen.add(json.dumps(obj, sort_keys=True))
        except (json.JSONDecodeError, jsonschema.ValidationError):
            failures += 1
    assert failures == 0
    assert len(seen) > 3  # sampling at temperature 1 really varies the answers


def test_json_object_mode(live_server) -> None:
    client = OpenAI(base_url=live_server.base_url + "/v1", api_key="local", max_retries=0, timeout=300)
    r = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "A product as JSON."}], max_tokens=40,
        response_format={"type": "json_object"},
    )
    text = r.choices[0].message.content
    if r.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(text), dict)
    else:
        assert text.lstrip().startswith("{")
