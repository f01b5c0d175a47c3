"""Typed, reversible redaction: ``<CARD>``, ``<EMAIL>``, ``<NAME_2>``... with a vault kept on the device.

The same value always gets the same placeholder within one text, and an index appears only when a type
has several distinct values, so the model sees readable text and the app can put the values back.
"""

from __future__ import annotations

import re

from frugalstack.edge.guard.types import Finding

PLACEHOLDER: dict[str, str] = {
    "CREDIT_CARD": "CARD", "IBAN": "IBAN", "EMAIL": "EMAIL", "PHONE": "PHONE", "ADDRESS": "ADDRESS",
    "PERSON": "NAME", "LOCATION": "LOCATION", "ORDER_NUMBER": "ORDER", "NATIONAL_ID": "NATIONAL_ID",
}  # fmt: skip
_TOKEN = re.compile(r"<([A-Z_]+?)(?:_(\d+))?>")


def redact(text: str, findings: list[Finding]) -> tuple[str, dict[str, str]]:
    """Replace the spans of ``findings`` (non-overlapping after the rails resolve them) by placeholders."""
    spans = sorted({(f.start, f.end, f.type) for f in findings if f.end > f.start}, key=lambda s: s[0])
    kept: list[tuple[int, int, str]] = []
    for s in spans:
        if not kept or s[0] >= kept[-1][1]:
            kept.append(s)
    distinct: dict[str, list[str]] = {}
    for start, end, kind in kept:
        values = distinct.setdefault(kind, [])
        if text[start:end] not in values:
            values.append(text[start:end])
    vault: dict[str, str] = {}
    pieces: list[str] = []
    pos = 0
    for start, end, kind in kept:
        value = text[start:end]
        label = PLACEHOLDER.get(kind, kind)
        values = distinct[kind]
        token = f"<{label}>" if len(values) == 1 else f"<{label}_{values.index(value) + 1}>"
        vault[token] = value
        pieces += [text[pos:start], token]
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces), vault


def restore(text: str, vault: dict[str, str]) -> str:
    """Put vault values back for every placeholder the text still contains (unknown ones stay)."""
    if not vault:
        return text
    return _TOKEN.sub(lambda m: vault.get(m.group(0), m.group(0)), text)
