"""Deterministic training texts for the two linear heads (injection, scope), built from slot templates.

The phrase lists live in ``data/train_phrases.json``. The evaluation set is written separately by hand
(``data/eval_handwritten.jsonl``) and training texts too close to any evaluation case are dropped when the
data is built (``build_data.py``), so the reported figures are held-out.
"""

from __future__ import annotations

import json
import random
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def phrases() -> dict[str, Any]:
    text = resources.files("frugalstack.edge.guard").joinpath("data/train_phrases.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def injection_texts(seed: int = 7) -> list[tuple[str, str]]:
    """(text, label) pairs: ``injection`` and ``benign`` (many benign ones use the same trigger words)."""
    p = phrases()
    products = p["products"]
    rng = random.Random(seed)
    pos: list[str] = []
    for verb in p["inj_verbs"]:
        for obj in rng.sample(p["inj_objects"], 5):
            x = f"{verb} {obj} {rng.choice(p['inj_tails'])}"
            pos.append(rng.choice(p["wrappers"]).format(x=x[0].upper() + x[1:], p=rng.choice(products)))
    for t in p["roleplay"]:
        for persona in rng.sample(p["personas"], 4):
            pos.append(t.format(p=persona) + " " + rng.choice(p["inj_tails"]).removeprefix("and ").capitalize() + ".")
    for t in p["leak"]:
        pos += [t, rng.choice(p["wrappers"]).format(x=t, p=rng.choice(products))]
    for t in p["social"]:
        for _ in range(3):
            pos.append(t.format(n=rng.choice([50, 90, 100]), p=rng.choice(products)))
    neg: list[str] = []
    for t in p["benign_ignore"] + p["benign_plain"]:
        for _ in range(4):
            neg.append(t.format(p=rng.choice(products), c=rng.choice(p["colours"])))
    # Ordinary shop and off-topic questions are benign too: they keep the head from flagging any short message.
    neg += [t for t, _ in scope_texts(seed + 1)]
    neg += ["ok", "hi", "yes", "no", "thanks", "hello?", "help", "?", "great", "cool, thanks a lot"]
    pos, neg = sorted(set(pos)), sorted(set(neg))
    return [(t, "injection") for t in pos] + [(t, "benign") for t in neg]


def scope_texts(seed: int = 11) -> list[tuple[str, str]]:
    """(text, intent) pairs over 10 shop intents and ``out_of_scope``."""
    p = phrases()
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for intent, templates in p["intents"].items():
        for t in templates:
            for _ in range(3):
                text = t.format(
                    p=rng.choice(p["shop_items"]),
                    c=rng.choice(p["colours"]),
                    n=rng.choice([30, 50, 100, 250]),
                    s=rng.choice(["M", "L", "42", "10"]),
                    o=f"#{rng.randint(10000, 99999)}",
                )
                out.append((text, intent))
    out += [(t, "out_of_scope") for t in p["out_of_scope"]]
    return sorted(set(out))
