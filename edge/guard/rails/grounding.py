"""Grounding rail (output): prices, stock and attribute values stated in an answer must match the records
it cites. Records are plain dicts (``id``, ``title``, ``price``, ``currency``, ``in_stock``, ``attributes``,
optionally ``text`` for policy documents), which is the shape the knowledge store's citations carry.

Claims are checked per sentence against the records that sentence names (by title or id), or against all
cited records when it names none. A claim no candidate record supports becomes a ``*_MISMATCH`` finding;
a price or stock claim with no citations at all becomes ``UNCITED_*``.
"""

from __future__ import annotations

import re
from typing import Any

from frugalstack.edge.guard.types import CheckContext, Finding, SharedState

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+(?=\s|$)|$)|[^\n]+")
_PRICE = re.compile(
    r"(?:[$€£¥]\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?)"
    r"|(?:\b(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?\s?(?:usd|eur|gbp|dollars?|euros?|pounds?|€|\$|£))",
    re.IGNORECASE,
)
_NEG_STOCK = re.compile(
    r"\b(?:out of stock|sold out|unavailable|not (?:currently )?(?:available|in stock)|"
    r"no longer (?:available|sold)|back-?order(?:ed)?|not available)\b",
    re.IGNORECASE,
)
_POS_STOCK = re.compile(
    r"\b(?:in stock|available (?:now|today|to order)|ready to ship|ships (?:today|immediately)|"
    r"is available|are available|we have (?:it|them|\d+))\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"\b(?:not|isn't|isnt|aren't|no|non|without|never)\b[\s-]*(?:\w+[\s-]+){0,2}$", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
COLOURS = frozenset(
    [
        "black",
        "white",
        "red",
        "blue",
        "green",
        "yellow",
        "orange",
        "purple",
        "pink",
        "brown",
        "grey",
        "gray",
        "silver",
        "gold",
        "beige",
        "navy",
        "teal",
        "turquoise",
        "maroon",
        "olive",
        "khaki",
        "cream",
        "ivory",
        "charcoal",
        "burgundy",
        "coral",
        "lavender",
        "mint",
        "tan",
    ]
)
MATERIALS = frozenset(
    [
        "cotton",
        "wool",
        "leather",
        "polyester",
        "nylon",
        "silk",
        "linen",
        "denim",
        "steel",
        "aluminium",
        "aluminum",
        "plastic",
        "wood",
        "bamboo",
        "glass",
        "ceramic",
        "rubber",
        "suede",
        "cashmere",
        "titanium",
        "carbon",
        "fleece",
        "canvas",
    ]
)
_VOCAB = {"colour": COLOURS, "color": COLOURS, "material": MATERIALS, "fabric": MATERIALS}


def _price_value(m: re.Match[str]) -> float:
    whole = (m.group(1) or m.group(3) or "0").replace(",", "")
    cents = m.group(2) or m.group(4) or ""
    return float(f"{whole}.{cents}" if cents else whole)


def _key_phrase(key: str) -> str:
    key = re.sub(r"_(?:h|hrs|hours|mah|mm|cm|kg|g|w|l|ml|in|gb|tb)$", "", key.lower())
    return key.replace("_", " ").strip()


class GroundingRail:
    name = "grounding"

    def check(self, text: str, ctx: CheckContext, shared: SharedState) -> list[Finding]:
        records = [r for r in ctx.citations if isinstance(r, dict)]
        out: list[Finding] = []
        for sm in _SENTENCE.finditer(text[:50_000]):
            sentence, base = sm.group(), sm.start()
            candidates = _named(sentence, records) or records
            out += self._prices(sentence, base, candidates, records)
            out += self._stock(sentence, base, candidates)
            out += self._attributes(sentence, base, candidates)
        return out

    def _prices(self, s: str, base: int, cands: list[dict[str, Any]], records: list[dict[str, Any]]) -> list[Finding]:
        out = []
        docs = " ".join(str(r.get("text", "")) for r in records)
        for m in _PRICE.finditer(s):
            value = _price_value(m)
            span = (base + m.start(), base + m.end())
            if not records:
                out.append(self._f("UNCITED_PRICE", span, 0.7, f"price {value:g} stated without a cited record"))
                continue
            known = [float(r[k]) for r in cands for k in ("price", "sale_price", "list_price") if _num(r.get(k))]
            if any(abs(value - p) < 0.005 for p in known) or m.group().strip() in docs or f"{value:g}" in docs:
                continue
            shown = ", ".join(f"{p:g}" for p in known[:4]) or "none"
            out.append(self._f("PRICE_MISMATCH", span, 0.9, f"answer says {value:g}; cited price(s): {shown}"))
        return out

    def _stock(self, s: str, base: int, cands: list[dict[str, Any]]) -> list[Finding]:
        neg = _NEG_STOCK.search(s)
        pos = None if neg else _POS_STOCK.search(s)
        m = neg or pos
        if m is None:
            return []
        claim = pos is not None
        span = (base + m.start(), base + m.end())
        if not cands:
            return [self._f("UNCITED_STOCK", span, 0.6, "stock stated without a cited record")]
        states = [_stock_of(r) for r in cands]
        states = [x for x in states if x is not None]
        if states and claim not in states:
            return [self._f("STOCK_MISMATCH", span, 0.9, f"answer says in_stock={claim}; cited: {states[:4]}")]
        return []

    def _attributes(self, s: str, base: int, cands: list[dict[str, Any]]) -> list[Finding]:
        out = []
        low = s.lower()
        keys: dict[str, list[Any]] = {}
        for r in cands:
            for k, val in (r.get("attributes") or {}).items():
                keys.setdefault(k, []).append(val)
        for key, values in keys.items():
            phrase = _key_phrase(key)
            at = low.find(phrase) if len(phrase) >= 3 else -1
            if at < 0:
                continue
            span = (base + at, base + at + len(phrase))
            if all(isinstance(x, bool) for x in values):
                claim = not _NEGATION.search(low[max(0, at - 30) : at])
                if claim not in values:
                    out.append(
                        self._f("ATTRIBUTE_MISMATCH", span, 0.85, f"answer says {key}={claim}; cited {values[:4]}")
                    )
            elif all(_num(x) for x in values):
                near = _NUMBER.findall(low[max(0, at - 25) : at + len(phrase) + 25])
                if near and not any(
                    abs(float(n) - float(x)) <= 0.01 * max(1.0, abs(float(x))) for n in near for x in values
                ):
                    out.append(
                        self._f("ATTRIBUTE_MISMATCH", span, 0.8, f"answer says {key}≈{near[0]}; cited {values[:4]}")
                    )
            else:
                vocab = _VOCAB.get(phrase.split()[-1], frozenset())
                said = {w for w in re.findall(r"[a-z]+", low[at : at + len(phrase) + 40]) if w in vocab}
                cited = " ".join(str(x).lower() for x in values)
                if said and not any(w in cited for w in said):
                    out.append(
                        self._f(
                            "ATTRIBUTE_MISMATCH", span, 0.8, f"answer says {key}: {sorted(said)}; cited {values[:4]}"
                        )
                    )
        return out

    def _f(self, kind: str, span: tuple[int, int], score: float, detail: str) -> Finding:
        return Finding(rail=self.name, type=kind, start=span[0], end=span[1], score=score, detail=detail)


def _num(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, int | float):
        return True
    try:
        float(str(x))
        return True
    except ValueError:
        return False


def _stock_of(r: dict[str, Any]) -> bool | None:
    if isinstance(r.get("in_stock"), bool):
        return bool(r["in_stock"])
    if _num(r.get("stock")):
        return float(r["stock"]) > 0
    return None


def _named(sentence: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records this sentence names: by id, by full title, or by most of the title's distinctive words."""
    low = sentence.lower()
    out = []
    for r in records:
        title = str(r.get("title", "")).lower()
        words = [w for w in re.findall(r"[a-z0-9]{4,}", title)]
        if (
            (r.get("id") and str(r["id"]).lower() in low)
            or (title and title in low)
            or (len(words) >= 2 and sum(w in low for w in words) >= max(2, (2 * len(words) + 2) // 3))
        ):
            out.append(r)
    return out
