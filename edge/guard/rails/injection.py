"""Prompt-injection / jailbreak rail: pattern heuristics plus a MiniLM + logistic-regression classifier.

Heuristics catch the explicit forms (override instructions, role-play escapes, prompt-leak requests,
chat-template delimiters, encoded payloads, invisible characters, homoglyphs); the classifier catches
paraphrases. Retrieved documents passed in the context are scanned too (indirect injection).
"""

from __future__ import annotations

import base64
import binascii
import re

from frugalstack.edge.guard.heads import load_heads
from frugalstack.edge.guard.text import normalise
from frugalstack.edge.guard.types import CheckContext, Finding, SharedState

_OVERRIDE = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass|skip|drop|abandon|overrule|throw away|stop following)\s+"
    r"(?:\w+\s+){0,4}?(?:instructions?|rules|guidelines|directives?|prompts?|system prompt|programming|"
    r"guardrails|restrictions|constraints|(?:content |usage |safety )?polic(?:y|ies)|safety(?: \w+)?|"
    r"(?:content|safety) filters?|"
    r"training)\b"
)
_OVERRIDE_ALL = re.compile(
    r"\b(?:ignore|disregard|forget|override|discard)\s+(?:everything|all|anything|whatever)\s+"
    r"(?:(?:you(?:'ve| have)?|that) (?:been |were |was )?(?:told|given|said|instructed)|"
    r"above|before|prior|previously|earlier)"
    r"|\b(?:ignore|disregard|forget|discard)\s+(?:the |all |any )?(?:prior|previous|above|earlier|preceding) "
    r"(?:context|messages?|conversation|text|prompts?|directions)\b"
)
_ROLE = re.compile(
    r"\b(?:you are now|from now on,? you(?: are|'re| will)|"
    r"act as (?:an? )?(?:unrestricted|unfiltered|jailbroken|evil|dan)|"
    r"pretend (?:to be|you are|you're)|role-?play as|developer mode|god mode|do anything now|\bdan\b|jailbroken|"
    r"jailbreak(?: mode|:| prompt| yourself)|"
    r"(?:without|no) (?:any )?(?:restrictions|filters|limits|rules|censorship)|uncensored|unfiltered|"
    r"stay in character|simulate an? (?:ai|assistant|model) (?:that|which|without))"
)
_LEAK = re.compile(
    r"\b(?:reveal|show|print|output|repeat|display|tell me|give me|what (?:is|are|was|were)|leak|dump|spell out|recite|"
    r"paste|share)\s+(?:me\s+)?(?:\w+\s+){0,3}?(?:system prompt|hidden prompt|initial prompt|original prompt|"
    r"(?:system|hidden|secret|internal|original|initial) (?:instructions|message|rules|configuration|guidelines)|"
    r"developer (?:message|instructions)|prompt above|instructions above|words above)"
)
_DELIMITER = re.compile(
    r"<\|(?:im_start|im_end|system|endoftext|start_header_id)\|>|\[/?inst\]|<<sys>>|</s>|"
    r"^\s*(?:#{2,}\s*)?(?:system|assistant)\s*:|\bnew (?:system )?instructions?\s*:|"
    r"\bbegin (?:system|admin) (?:prompt|mode)",
    re.MULTILINE,
)
_AUTHORITY = re.compile(
    r"\b(?:as (?:the|an?|your) (?:admin|administrator|developer|store owner|manager|ceo|system)|i am (?:the|your) "
    r"(?:admin|developer|owner|creator)|admin override|sudo|maintenance mode)\b.{0,80}"
    r"\b(?:discount|refund|price|free|100%|approve|authori[sz]e|unlock|grant|override)"
)
_ENCODING_ASK = re.compile(
    r"\b(?:decode|base64|rot13|hex(?:adecimal)?|reverse the|read backwards)\b.{0,60}"
    r"\b(?:follow|execute|obey|do (?:what|as)|run|comply|instructions?)\b"
)
_B64 = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
_HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}[\s:]?){16,}\b")
_SUSPECT_DECODED = re.compile(
    r"ignore|instruction|system prompt|disregard|reveal|jailbreak|you are now|password|discount"
)
_CYRILLIC_GREEK = re.compile(r"[\u0370-\u03ff\u0400-\u04ff]")
_LATIN_WORD_WITH_LOOKALIKE = re.compile(r"\b(?=\w*[a-zA-Z])(?=\w*[\u0370-\u03ff\u0400-\u04ff])\w{3,}\b")

RULES: list[tuple[str, re.Pattern[str], float]] = [
    ("INSTRUCTION_OVERRIDE", _OVERRIDE, 0.95),
    ("INSTRUCTION_OVERRIDE", _OVERRIDE_ALL, 0.95),
    ("ROLE_PLAY_ESCAPE", _ROLE, 0.9),
    ("PROMPT_LEAK", _LEAK, 0.9),
    ("DELIMITER_INJECTION", _DELIMITER, 0.9),
    ("AUTHORITY_CLAIM", _AUTHORITY, 0.85),
    ("ENCODED_INSTRUCTION", _ENCODING_ASK, 0.85),
]


def _decoded_payloads(text: str) -> list[tuple[int, int, str]]:
    """Base64/hex runs that decode to readable text (bounded: at most 32 candidates)."""
    out = []
    for pattern, decode in ((_B64, _b64), (_HEX, _hex)):
        for i, m in enumerate(pattern.finditer(text)):
            if i >= 32:
                break
            plain = decode(m.group())
            if plain and sum(c.isprintable() for c in plain) / len(plain) > 0.9 and " " in plain:
                out.append((m.start(), m.end(), plain))
    return out


def _b64(s: str) -> str | None:
    try:
        return base64.b64decode(s + "=" * (-len(s) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _hex(s: str) -> str | None:
    try:
        return bytes.fromhex(re.sub(r"[\s:]", "", s)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


class InjectionRail:
    """Reports each heuristic hit, plus one ``INJECTION_CLASSIFIER`` finding when the head scores high."""

    name = "injection"

    def __init__(self, *, threshold: float | None = None, classifier: bool = True):
        self.threshold = threshold  # None: the head's own, chosen by cross-validation at training time
        self.classifier = classifier

    def check(self, text: str, ctx: CheckContext, shared: SharedState) -> list[Finding]:
        cached = shared.cache.get("injection_heuristics")
        findings = list(cached) if cached is not None else self.heuristics(text)
        if self.classifier and text.strip():
            head = load_heads()["injection"]
            probs = head.proba(shared.vectors())[:, head.classes.index("injection")]
            score = float(probs.max())
            if score >= (self.threshold or head.metrics.get("threshold", 0.5)):
                findings.append(
                    Finding(rail=self.name, type="INJECTION_CLASSIFIER", start=0, end=len(text), score=round(score, 4))
                )
        for i, doc in enumerate(ctx.retrieved):
            for f in self.heuristics(doc):
                findings.append(
                    f.model_copy(
                        update={
                            "type": "INDIRECT_INJECTION",
                            "start": 0,
                            "end": 0,
                            "detail": f"retrieved[{i}]: {f.type}",
                        }
                    )
                )
        return findings

    def heuristics(self, text: str) -> list[Finding]:
        # Matching on the NFKC-folded text; lengths can differ, so spans are clamped to the original.
        folded = normalise(text)
        n = len(text)
        out: list[Finding] = []
        for kind, pattern, score in RULES:
            m = pattern.search(folded)
            if m and all(f.type != kind for f in out):
                out.append(
                    Finding(rail=self.name, type=kind, start=min(m.start(), n), end=min(m.end(), n), score=score)
                )
        for start, end, plain in _decoded_payloads(text):
            suspect = bool(_SUSPECT_DECODED.search(plain.casefold()))
            out.append(
                Finding(
                    rail=self.name,
                    type="ENCODED_PAYLOAD",
                    start=start,
                    end=end,
                    score=0.95 if suspect else 0.6,
                    detail=plain[:80],
                )
            )
        mixed = _LATIN_WORD_WITH_LOOKALIKE.search(text)
        if mixed and _CYRILLIC_GREEK.search(mixed.group()):
            out.append(Finding(rail=self.name, type="HOMOGLYPHS", start=mixed.start(), end=mixed.end(), score=0.7))
        return out
