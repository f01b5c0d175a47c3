"""Toxicity / abuse rail: ``alt-profanity-check`` (a bundled linear model) plus rules for threats and
harassment, which a profanity model misses ("I know where you live") or over-fires on ("killer deal").
"""

from __future__ import annotations

import re
import threading
from typing import Any

from frugalstack.edge.guard.text import normalise
from frugalstack.edge.guard.types import CheckContext, Finding, SharedState
from frugalstack.shared.errors import MissingDependencyError

_THREAT = re.compile(
    r"\b(?:i(?:'ll| will| am going to|'m going to|'m gonna| gonna)|we(?:'ll| will)|"
    r"someone (?:will|should))\s+"
    r"(?:\w+\s+){0,2}?(?:kill|murder|hurt|stab|shoot|beat (?:up )?(?:you|him|her|them|the \w+)|burn (?:down|your)|"
    r"find you|hunt (?:down )?(?:you|him|her|the \w+)|destroy you|make you (?:pay|suffer|regret)|"
    r"come (?:for|after) you|"
    r"break your)\b"
    r"|\bi know where (?:you|your(?: \w+){1,2}) (?:live|lives|work|works|are)\b"
    r"|\byou(?:'ll| will| are going to) (?:regret|pay for) (?:this|it)\b"
    r"|\b(?:watch your back|you(?:'re| are) (?:dead|a dead man)|better sleep with one eye open)\b"
    r"|\b(?:bomb|blow up|set fire to|torch) (?:your|the) (?:store|shop|office|warehouse|building|house)\b"
)
_HARASS = re.compile(
    r"\byou(?:'re| are| r)? (?:\w+ ){0,2}?(?:idiot|idiots|moron|morons|stupid|worthless|useless piece|pathetic|"
    r"braindead|brain-dead|retard\w*|imbecile|clown|loser|scum|trash|garbage|incompetent fool)\b"
    r"|\b(?:shut up|go die|kill yourself|kys|nobody (?:likes|wants) you|get lost,? (?:idiot|loser))\b"
    r"|\b(?:stupid|worthless|useless|pathetic|dumb) (?:bot|machine|assistant|ai|company|staff|people)\b"
    r"|\b(?:idiots|morons|retards?|retarded|imbeciles|assholes?|bastards?|scumbags?|dickheads?)\b"
)
# Swear words the profanity model under-scores in short sentences.
_SWEAR = re.compile(
    r"\b(?:fuck\w*|shit\w*|bullshit|crap|piss(?:ed)? off|screw you|go to hell|damn|ass|dick|bitch\w*)\b"
)
# Shopping phrases that a profanity model scores high but are benign here.
_BENIGN = re.compile(
    r"\b(?:killer (?:deal|price|look|sound|battery)|dead pixels?|battery (?:died|is dead|dead)|"
    r"kill (?:the )?(?:app|process)|"
    r"shoot (?:me )?(?:an? )?(?:email|message|photos?|video)|drop dead gorgeous|bang for (?:the|your) buck|"
    r"sucks? (?:up )?(?:dust|dirt)|hit the spot|blown away|blows? (?:me|you) away|to die for|crazy good)\b"
)

_lock = threading.Lock()
_model: Any = None


def _profanity() -> Any:
    global _model
    with _lock:
        if _model is None:
            try:
                import profanity_check
            except ImportError:
                raise MissingDependencyError("alt-profanity-check", "guard", purpose="the toxicity rail") from None
            _model = profanity_check
        return _model


class ToxicityRail:
    """``PROFANITY`` (model probability), ``THREAT`` and ``HARASSMENT`` (rules) findings."""

    name = "toxicity"

    def __init__(self, *, threshold: float = 0.65, max_chars: int = 20_000):
        self.threshold = threshold
        self.max_chars = max_chars

    def check(self, text: str, ctx: CheckContext, shared: SharedState) -> list[Finding]:
        if not text.strip():
            return []
        folded = normalise(text)
        n = len(text)
        out: list[Finding] = []
        for kind, pattern, score in (
            ("THREAT", _THREAT, 0.95),
            ("HARASSMENT", _HARASS, 0.9),
            ("PROFANITY", _SWEAR, 0.9),
        ):
            m = pattern.search(folded)
            if m:
                out.append(
                    Finding(rail=self.name, type=kind, start=min(m.start(), n), end=min(m.end(), n), score=score)
                )
        pieces = [text[i : i + self.max_chars] for i in range(0, min(n, 8 * self.max_chars), self.max_chars)]
        probs = _profanity().predict_prob(pieces)
        prob = float(max(probs))
        if (
            prob >= self.threshold
            and not (_BENIGN.search(folded) and prob < 0.97)
            and all(f.type != "PROFANITY" for f in out)
        ):
            out.append(Finding(rail=self.name, type="PROFANITY", start=0, end=n, score=round(prob, 4)))
        return out
