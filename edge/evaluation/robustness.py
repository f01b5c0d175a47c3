"""Robustness: the same test queries with typos, odd casing, code-switching or a paraphrase; the metric is the
paired drop in intent accuracy against the clean queries (same items, so the CI is tight and honest)."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

from frugalstack.edge.evaluation import metrics as M
from frugalstack.edge.evaluation.model import Generator
from frugalstack.edge.evaluation.suite import BootstrapCfg, RobustnessCfg, TaskCfg
from frugalstack.edge.evaluation.tasks import classify, load_intents

# Spanish / German / French words customers mix into English messages.
SWITCH = {"where": "dónde", "is": "ist", "my": "mi", "order": "pedido", "the": "le", "please": "por favor",
          "how": "comment", "much": "viel", "price": "precio", "delivery": "Lieferung", "return": "retour",
          "shipping": "envío", "account": "Konto", "password": "Passwort", "refund": "reembolso", "i": "yo",
          "want": "quiero", "do": "est-ce que", "you": "vous", "have": "haben", "can": "puedo", "thanks": "merci",
          "hi": "hola", "what": "qué", "and": "und", "for": "para", "cheap": "barato", "new": "nuevo"}
_WORD = re.compile(r"[A-Za-z']+")


def typos(text: str, rng: random.Random, rate: float = 0.2) -> str:
    def one(m: re.Match[str]) -> str:
        w = m.group(0)
        if len(w) < 4 or rng.random() > rate:
            return w
        i = rng.randrange(1, len(w) - 1)
        op = rng.choice(["swap", "drop", "double", "near"])
        if op == "swap":
            return w[: i - 1] + w[i] + w[i - 1] + w[i + 1 :]
        if op == "drop":
            return w[:i] + w[i + 1 :]
        if op == "double":
            return w[:i] + w[i] + w[i:]
        return w[:i] + rng.choice("qwertyuiopasdfghjklzxcvbnm") + w[i + 1 :]

    out = _WORD.sub(one, text)
    if out == text:  # at least one typo per message, or the variant measures nothing
        words = [m for m in _WORD.finditer(text) if len(m.group(0)) >= 4]
        if words:
            m = rng.choice(words)
            w = m.group(0)
            out = text[: m.start()] + w[0] + w[2] + w[1] + w[3:] + text[m.end() :]
    return out


def casing(text: str, rng: random.Random) -> str:
    return text.upper() if rng.random() < 0.5 else text.lower()


def code_switch(text: str, rng: random.Random, rate: float = 0.5) -> str:
    def one(m: re.Match[str]) -> str:
        w = m.group(0)
        t = SWITCH.get(w.lower())
        return t if t is not None and rng.random() < rate else w

    return _WORD.sub(one, text)


def perturb(kind: str, item: dict[str, Any], rng: random.Random) -> str:
    if kind == "paraphrase":
        return str(item["paraphrase"])
    fn = {"typos": typos, "casing": casing, "code_switch": code_switch}[kind]
    return fn(item["text"], rng)


def run_robustness(gen: Generator, data: Path, cfg: RobustnessCfg, task: TaskCfg, bs: BootstrapCfg,
                   seed: int, clean: dict[str, str] | None = None) -> dict[str, Any]:
    """``clean`` maps item id -> prediction already made by the intent task (not recomputed)."""
    items = load_intents(data)[: cfg.limit]
    clean = dict(clean or {})
    for it in items:
        if it["id"] not in clean:
            clean[it["id"]] = classify(gen, it["text"], task)
    base = [float(clean[it["id"]] == it["intent"]) for it in items]
    kw: dict[str, Any] = {"resamples": bs.resamples, "confidence": bs.confidence, "seed": seed}
    out: dict[str, Any] = {"metrics": {"clean_accuracy": M.mean_metric(base, **kw)}, "examples": {}, "rows": {}}
    kinds = [k for k in cfg.perturbations if k != "paraphrase" or all(it.get("paraphrase") for it in items)]
    out["skipped"] = sorted(set(cfg.perturbations) - set(kinds))  # no paraphrases in this data
    for kind in kinds:
        rng = random.Random(f"{seed}-{kind}")
        texts = [perturb(kind, it, rng) for it in items]
        scores = [float(classify(gen, t, task) == it["intent"]) for t, it in zip(texts, items, strict=True)]
        out["metrics"][f"{kind}_accuracy"] = M.mean_metric(scores, **kw)
        out["metrics"][f"{kind}_drop"] = M.paired_delta(scores, base, resamples=bs.resamples, seed=seed,
                                                        confidence=bs.confidence)
        out["examples"][kind] = texts[:3]
        out["rows"][kind] = scores
    out["rows"]["clean"] = base
    return out
