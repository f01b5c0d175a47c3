"""Check prices, stock and attribute values stated in an answer against the cited records.

The checks only flag; the guardrails decide what to do. They look sentence by sentence at the products
named in that sentence (or the only cited product), so a true statement about one product is not held
against another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_SENTENCE = re.compile(r"(?:[^.!?\n]|\.(?=\d))+(?:[.!?]|$)")
_PRICE = re.compile(
    r"(?:(?:€|EUR|\$|£)\s?(\d{1,3}(?:[,\s]\d{3})*(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?))"
    r"|(?:(\d{1,3}(?:,\d{3})*(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?)\s?(?:€|EUR|euros?|\$|USD|£|GBP)\b)",
    re.I,
)
_OUT = re.compile(r"\b(out of stock|sold out|not (?:currently )?(?:in stock|available)|unavailable|no stock)\b", re.I)
_IN = re.compile(r"\b(in stock|available now|is available|are available|can buy it now)\b", re.I)
_NEG = re.compile(r"\b(not|isn't|is not|aren't|no|never|without)\s+(?:\w+\s+)?$", re.I)
_COLOURS = {"black", "white", "navy", "red", "green", "grey", "gray", "blue", "beige", "olive", "yellow", "pink",
            "brown", "silver", "gold", "purple", "orange"}
_HOURS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:hours|hrs|h)\b", re.I)


@dataclass
class CheckFlag:
    """One claim in the answer that the cited records contradict (or that nothing cited supports)."""

    kind: str  # PRICE_MISMATCH, UNCITED_PRICE, STOCK_MISMATCH, ATTRIBUTE_MISMATCH
    claim: str
    expected: Any
    citation_id: str | None
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _named(sentence: str, products: list[dict[str, Any]]) -> list[dict[str, Any]]:
    low = sentence.lower()
    out = []
    for p in products:
        title = str(p.get("title", "")).lower()
        words = title.split()
        short = " ".join(words[1:3]) if len(words) > 2 else title  # "Alta Pro" of "Brand Alta Pro Jacket"
        if title and (title in low or (short and short in low)):
            out.append(p)
    return out


def _num(text: str) -> float:
    return float(text.replace(",", "").replace(" ", ""))


def check_answer(answer: str, citations: list[dict[str, Any]]) -> list[CheckFlag]:
    """Flags for every price, stock or attribute claim that disagrees with the cited records."""
    products = [c for c in citations if "price" in c or "attributes" in c]
    doc_text = " ".join(str(c.get("text", "")) for c in citations if "text" in c)
    flags: list[CheckFlag] = []
    for m in _SENTENCE.finditer(answer):
        s = m.group().strip()
        if not s:
            continue
        named = _named(s, products)
        targets = named or (products if len(products) == 1 else [])
        flags += _prices(s, named or products, doc_text, bool(citations))
        flags += _stock(s, targets)
        flags += _attributes(s, targets)
    return flags


def _prices(s: str, cands: list[dict[str, Any]], doc_text: str, cited: bool) -> list[CheckFlag]:
    out = []
    for m in _PRICE.finditer(s):
        raw = m.group(1) or m.group(2)
        try:
            value = _num(raw)
        except ValueError:
            continue
        if not cited:
            out.append(CheckFlag("UNCITED_PRICE", m.group(), None, None, s))
            continue
        known = [float(c["price"]) for c in cands if isinstance(c.get("price"), int | float)]
        if any(abs(value - p) < 0.011 for p in known) or (raw in doc_text or f"{value:g}" in doc_text):
            continue
        out.append(CheckFlag("PRICE_MISMATCH", m.group(), known[:4], cands[0]["id"] if cands else None, s))
    return out


def _stock(s: str, targets: list[dict[str, Any]]) -> list[CheckFlag]:
    neg = _OUT.search(s)
    pos = None if neg else _IN.search(s)
    if not (neg or pos):
        return []
    claim = pos is not None
    return [
        CheckFlag("STOCK_MISMATCH", (neg or pos).group(), p["in_stock"], p.get("id"), s)  # type: ignore[union-attr]
        for p in targets
        if isinstance(p.get("in_stock"), bool) and p["in_stock"] != claim
    ]


def _attributes(s: str, targets: list[dict[str, Any]]) -> list[CheckFlag]:
    out = []
    low = s.lower()
    words = set(re.findall(r"[a-z]+", low))
    for p in targets:
        attrs = p.get("attributes") or {}
        for key, val in attrs.items():
            if isinstance(val, bool):
                phrase = key.replace("_", " ")
                at = low.find(phrase)
                if at < 0:
                    continue
                claim = not _NEG.search(low[max(0, at - 25) : at])
                if claim != val:
                    out.append(CheckFlag("ATTRIBUTE_MISMATCH", f"{key}={claim}", val, p.get("id"), s))
            elif key == "colour" and isinstance(val, str):
                said = (words & _COLOURS) - {val.lower()}
                if said and val.lower() not in words:
                    out.append(CheckFlag("ATTRIBUTE_MISMATCH", f"colour={sorted(said)[0]}", val, p.get("id"), s))
            elif key.startswith("battery_life") and isinstance(val, int | float) and val:
                for h in _HOURS.findall(s):
                    if abs(float(h) - float(val)) > 0.01:
                        out.append(CheckFlag("ATTRIBUTE_MISMATCH", f"{key}={h}", val, p.get("id"), s))
    return out
