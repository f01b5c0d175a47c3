"""Schema-constrained JSON decoding, shared by the local teacher and the students' evaluation.

Keys, braces and separators are forced; only each value is decoded (greedily, until a ',' or '}' outside a
string), typed against the schema and, given the input text, kept only when the text states it; else null.
A deployment does the first part with a JSON-schema grammar (llama.cpp's ``response_format``) and the
second with a check against the input, so a student is judged on the values it extracts, not on whether
it can type the skeleton; the free-running JSON validity is reported next to it.

Heads end with ``":`` and values are fed as `` <value>,``: the same token boundaries as the canonical JSON the
few-shot examples and the student's training targets use (a head ending in a space would put the model at a
token boundary it never saw).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from frugalstack.cloud.distill.tasks import FIELDS, canonical_json

# (ids to feed, cache) -> (logits of the last position [1, vocab], cache); the caller owns threads and no_grad
Step = Callable[[list[int], Any], tuple[Any, Any]]


def model_step(model: Any) -> Step:
    """A ``Step`` over a transformers causal LM with a KV cache."""
    import torch

    core = model.get_base_model() if hasattr(model, "get_base_model") else model

    def run(ids: list[int], cache: Any) -> tuple[Any, Any]:
        with torch.no_grad():
            out = core(input_ids=torch.tensor([ids]), past_key_values=cache, use_cache=True, logits_to_keep=1)
        return out.logits[0], out.past_key_values

    return run


def value_end(text: str) -> int | None:
    """Index where a JSON scalar ends in ``text`` (at a ',' or '}' or newline outside quotes), or None."""
    in_str = False
    esc = False
    for i, ch in enumerate(text):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in ",}\n":
            return i
    return None


def typed(kind: str, text: str) -> Any:
    """The JSON value in ``text`` when it has the schema's type, else None."""
    try:
        value = json.loads(text.strip())
    except ValueError:
        return None
    ok = {"string": isinstance(value, str) and bool(value.strip()), "boolean": isinstance(value, bool),
          "integer": isinstance(value, int) and not isinstance(value, bool)}[kind]
    return value if ok else None


def grounded(key: str, value: Any, source: str) -> Any:
    """``value`` when the source text states it, else None: extraction copies, it does not guess. A string
    or number must occur in the text as a whole word or phrase; a yes/no field needs its name in the text.
    (A 135M model, teacher or student, otherwise fills fields with values from its few-shot examples.)"""
    if value is None:
        return None
    low = source.lower()
    if isinstance(value, bool):
        return value if key.replace("_", " ") in low else None
    needle = str(value).lower()
    return value if re.search(rf"(?<![\w.]){re.escape(needle)}(?![\w])", low) else None


def extract_json(step: Step, tok: Any, prompt: list[int], *, start: tuple[Any, Any] | None = None,
                 source: str | None = None, max_value_tokens: int = 12) -> tuple[str, list[float], int]:
    """The canonical JSON the model fills in after ``prompt``, the log-probs of its value tokens, and how
    many tokens it generated. ``start``: (logits, cache) after ``prompt`` when the caller already ran it
    (the teacher reuses a cached few-shot prefix); ``source``: the input text, to keep grounded values only."""
    import torch

    logits, cache = start if start is not None else step(prompt, None)
    out: dict[str, Any] = {}
    lps: list[float] = []
    generated = 0
    keys = list(FIELDS)
    pending: list[int] = []
    for i, key in enumerate(keys):
        head = ('{"' if i == 0 else ' "') + key + '":'
        logits, cache = step(pending + list(tok(head, add_special_tokens=False)["input_ids"]), cache)
        text, fed = "", 0
        for _ in range(max_value_tokens):
            logp = torch.log_softmax(logits[-1].float(), -1)
            tid = int(logp.argmax())
            piece = tok.decode([tid])
            lps.append(float(logp[tid]))
            generated += 1
            cut = value_end(text + piece)
            if cut is not None:
                text = (text + piece)[:cut]
                break
            text += piece
            logits, cache = step([tid], cache)
            fed += 1
        out[key] = typed(FIELDS[key], text)
        if source is not None:
            out[key] = grounded(key, out[key], source)
        if fed:  # drop the generated tokens; the canonical value is fed instead
            cache.crop(cache.get_seq_length() - fed)
        pending = list(tok(" " + json.dumps(out[key]) + ("," if i + 1 < len(keys) else "}"),
                           add_special_tokens=False)["input_ids"])
    return canonical_json(out), lps, generated
