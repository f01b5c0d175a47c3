"""The shipped e-commerce tasks: what a row must hold, the prompts, how an answer is parsed and scored.

Each task is one small object behind the ``Task`` protocol, so a third task is one more class.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

INTENTS = ("product_question", "product_search", "compare", "shipping", "account", "return_refund", "chit_chat",
           "out_of_scope", "payment", "order_status", "complaint")
# The extraction schema: what a product description states; null when the text does not say it.
FIELDS: dict[str, str] = {"colour": "string", "material": "string", "waterproof": "boolean", "weight_g": "integer"}


@dataclass(frozen=True)
class Example:
    """One task instance: the input text, the gold answer (canonical text) and a stable id."""

    task: str
    id: str
    text: str
    gold: str
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


class Task(Protocol):
    name: str

    def example(self, row: dict[str, Any]) -> Example:
        """The row as an Example; raises ValueError saying what is wrong with a malformed row."""

    def instruction(self) -> str: ...

    def parse(self, text: str) -> str | None:
        """The canonical answer in a model's output, or None when the output is unusable."""

    def score(self, golds: list[str], preds: list[str | None]) -> dict[str, float]: ...


def user_prompt(task: Task, text: str) -> str:
    return f"{task.instruction()}\n\nInput: {text}\nAnswer:"


def prompt_input(user_content: str) -> str:
    """The input text inside a ``user_prompt`` (the local teacher grounds its extraction in it)."""
    return user_content.rpartition("\nInput: ")[2].removesuffix("\nAnswer:")


def _text(row: dict[str, Any], key: str, max_len: int = 2000) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key!r} must be a non-empty string")
    if len(value) > max_len:
        raise ValueError(f"{key!r} is longer than {max_len} characters")
    return " ".join(value.split())


class IntentTask:
    name = "intent"

    def example(self, row: dict[str, Any]) -> Example:
        text = _text(row, "text", 500)
        label = row.get("label")
        if label not in INTENTS:
            raise ValueError(f"label {label!r} is not one of the {len(INTENTS)} intents")
        return Example("intent", str(row.get("id") or text[:40]), text, str(label))

    def instruction(self) -> str:
        return ("Classify the customer message into exactly one intent from: " + ", ".join(INTENTS)
                + ". Reply with the intent only.")

    def parse(self, text: str) -> str | None:
        words = re.findall(r"[a-z_]+", text.lower())
        return next((w for w in words if w in INTENTS), None)

    def score(self, golds: list[str], preds: list[str | None]) -> dict[str, float]:
        n = max(1, len(golds))
        acc = sum(g == p for g, p in zip(golds, preds, strict=True)) / n
        f1s = []
        for label in sorted(set(golds)):
            tp = sum(g == label and p == label for g, p in zip(golds, preds, strict=True))
            fp = sum(g != label and p == label for g, p in zip(golds, preds, strict=True))
            fn = sum(g == label and p != label for g, p in zip(golds, preds, strict=True))
            f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
        valid = sum(p is not None for p in preds) / n
        return {"accuracy": acc, "macro_f1": sum(f1s) / max(1, len(f1s)), "valid": valid,
                "score": sum(f1s) / max(1, len(f1s))}


def canonical_json(obj: dict[str, Any]) -> str:
    return json.dumps({k: obj.get(k) for k in FIELDS}, ensure_ascii=False)


def _coerce(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if kind == "integer":
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float) and float(value).is_integer():
            return int(value)
        return None
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def gold_attributes(description: str, attributes: dict[str, Any]) -> dict[str, Any]:
    """The schema fields the description actually states (a catalogue value the text never mentions is null)."""
    low = description.lower()
    out: dict[str, Any] = {}
    for key, kind in FIELDS.items():
        value = attributes.get(key)
        if kind == "string":
            out[key] = value.lower() if isinstance(value, str) and value.lower() in low else None
        elif kind == "boolean":
            out[key] = value if isinstance(value, bool) and key in low else None
        else:
            ok = isinstance(value, int) and not isinstance(value, bool) and re.search(rf"\b{value}\b", low)
            out[key] = value if ok else None
    return out


class ExtractionTask:
    name = "extraction"

    def example(self, row: dict[str, Any]) -> Example:
        text = _text(row, "text", 1500)
        attrs = row.get("attributes")
        if not isinstance(attrs, dict):
            raise ValueError("'attributes' must be an object")
        for key, kind in FIELDS.items():
            if attrs.get(key) is not None and _coerce(kind, attrs[key]) is None:
                raise ValueError(f"attribute {key!r} must be a {kind}")
        gold = {k: _coerce(kind, attrs.get(k)) for k, kind in FIELDS.items()}
        return Example("extraction", str(row.get("id") or text[:40]), text, canonical_json(gold))

    def instruction(self) -> str:
        schema = ", ".join(f'"{k}": {v} or null' for k, v in FIELDS.items())
        return ("Extract the product attributes stated in the description as one JSON object {" + schema
                + "}. Use null when the description does not say. Reply with the JSON only.")

    def parse(self, text: str) -> str | None:
        start = text.find("{")
        if start < 0:
            return None
        try:
            obj, _ = json.JSONDecoder().raw_decode(text[start:])
        except ValueError:
            return None
        if not isinstance(obj, dict):
            return None
        return canonical_json({k: _coerce(kind, obj.get(k)) for k, kind in FIELDS.items()})

    def score(self, golds: list[str], preds: list[str | None]) -> dict[str, float]:
        n = max(1, len(golds))
        fields_ok = exact = stated = stated_ok = 0
        for g, p in zip(golds, preds, strict=True):
            gd = json.loads(g)
            pd = json.loads(p) if p is not None else {}
            hits = sum(gd[k] == pd.get(k, "\0missing") for k in FIELDS)
            fields_ok += hits
            exact += hits == len(FIELDS)
            stated += sum(gd[k] is not None for k in FIELDS)
            stated_ok += sum(gd[k] is not None and gd[k] == pd.get(k) for k in FIELDS)
        field_em = fields_ok / (n * len(FIELDS))
        # most gold fields are null (an all-null answer scores ~0.6 field exact match on the sample), so the
        # match on the fields the text does state says whether anything is actually extracted
        return {"field_exact_match": field_em, "record_exact_match": exact / n,
                "stated_field_match": stated_ok / max(1, stated),
                "json_valid": sum(p is not None for p in preds) / n, "score": field_em}


TASKS: dict[str, Task] = {"intent": IntentTask(), "extraction": ExtractionTask()}
