"""Task quality on the shipped e-commerce tasks: intent classification, attribute extraction to JSON and
grounded product Q&A; each returns per-example rows (kept for paired comparisons) and metrics with CIs."""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

from frugalstack.edge.evaluation import metrics as M
from frugalstack.edge.evaluation.model import Generator
from frugalstack.edge.evaluation.suite import BootstrapCfg, TaskCfg

INTENTS = ["product_search", "product_question", "compare", "order_status", "return_refund", "shipping", "payment",
           "account", "complaint", "chit_chat", "out_of_scope"]
INTENT_SCHEMA = {"type": "object", "properties": {"intent": {"type": "string", "enum": INTENTS}},
                 "required": ["intent"]}
INTENT_SYSTEM = ("You label customer messages for an online store. Reply with JSON {\"intent\": LABEL} where LABEL "
                 "is one of: " + ", ".join(INTENTS) + ".")
FIELDS = ["brand", "colour", "material", "price", "waterproof"]
EXTRACT_SCHEMA = {"type": "object", "properties": {
    "brand": {"type": "string"}, "colour": {"type": "string"}, "material": {"type": "string"},
    "price": {"type": "number"}, "waterproof": {"type": "boolean"}}, "required": FIELDS}
EXTRACT_SYSTEM = ("Extract the product attributes from the description. Reply with JSON only, with the keys brand, "
                  "colour, material, price (a number) and waterproof (true or false).")
QA_SYSTEM = ("You answer questions about the store's products using only the records given. Answer in one short "
             "sentence and cite the product id you used in square brackets, like [EV0001].")


BUILTIN = Path(__file__).with_name("data")
_ID = re.compile(r"\b[A-Za-z]{1,4}-?\d{3,6}\b")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    text = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def find(data: Path, name: str) -> Path:
    """A data file of the suite's folder, else the shipped one (a folder may hold only some of the files)."""
    for cand in (data / name, data / f"{name}.gz"):
        if cand.exists():
            return cand
    return BUILTIN / name


def _sample_queries(data: Path) -> list[dict[str, Any]] | None:
    """Labelled queries in the sample-dataset format (``queries-test.jsonl``: query, intent, product_ids, facts,
    reference_answer), when the folder has them and no ``intents.jsonl`` of its own."""
    if (data / "intents.jsonl").exists() or not (data / "queries-test.jsonl").exists():
        return None
    return read_jsonl(data / "queries-test.jsonl")


def load_intents(data: Path) -> list[dict[str, Any]]:
    rows = _sample_queries(data)
    if rows is None:
        return read_jsonl(find(data, "intents.jsonl"))
    return [{"id": q["id"], "text": q["query"], "intent": q["intent"], "paraphrase": None}
            for q in rows if q.get("intent") in INTENTS]


def load_qa(data: Path) -> list[dict[str, Any]]:
    rows = _sample_queries(data)
    if rows is None or (data / "qa.jsonl").exists():
        return read_jsonl(find(data, "qa.jsonl"))
    return [{"id": q["id"], "question": q["query"], "product_id": q["product_ids"][0], "fact": q["facts"][0],
             "accept": q["facts"], "kind": "fact", "reference": q.get("reference_answer", "")}
            for q in rows if len(q.get("product_ids") or []) == 1 and q.get("facts")]


def parse_json(text: str) -> dict[str, Any] | None:
    """The first JSON object in the text (models wrap JSON in prose or code fences), or None."""
    start = text.find("{")
    while start != -1:
        depth = 0
        for i in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                try:
                    obj = json.loads(text[start : i + 1])
                    return obj if isinstance(obj, dict) else None
                except json.JSONDecodeError:
                    break
        start = text.find("{", start + 1)
    return None


def label_of(text: str) -> str:
    obj = parse_json(text)
    if obj and isinstance(obj.get("intent"), str) and obj["intent"].strip().lower() in INTENTS:
        return str(obj["intent"]).strip().lower()
    low = text.lower().replace(" ", "_")
    hits = [(low.find(lab), lab) for lab in INTENTS if lab in low]
    return min(hits)[1] if hits else "none"


def classify(gen: Generator, text: str, cfg: TaskCfg) -> str:
    out = gen.generate([{"role": "system", "content": INTENT_SYSTEM}, {"role": "user", "content": text}],
                       max_tokens=cfg.max_tokens, json_schema=INTENT_SCHEMA if cfg.constrained else None)
    return label_of(out.text)


def intent_metrics(rows: list[dict[str, Any]], bs: BootstrapCfg, seed: int) -> dict[str, M.Metric]:
    pairs = [(r["gold"], r["pred"]) for r in rows]
    kw: dict[str, Any] = {"resamples": bs.resamples, "confidence": bs.confidence, "seed": seed}
    return {"accuracy": M.bootstrap(pairs, M.accuracy, **kw), "macro_f1": M.bootstrap(pairs, M.macro_f1, **kw)}


def run_intent(gen: Generator, data: Path, cfg: TaskCfg, bs: BootstrapCfg, seed: int) -> dict[str, Any]:
    items = load_intents(data)[: cfg.limit]
    rows = [{"id": it["id"], "gold": it["intent"], "pred": classify(gen, it["text"], cfg)} for it in items]
    return {"metrics": intent_metrics(rows, bs, seed), "rows": rows,
            "confusions": Counter(f"{r['gold']}->{r['pred']}" for r in rows if r["gold"] != r["pred"]).most_common(5)}


def _field_ok(name: str, gold: Any, got: Any) -> bool:
    if name == "price":
        try:
            return abs(float(got) - float(gold)) < 0.005
        except (TypeError, ValueError):
            return False
    if name == "waterproof":
        return isinstance(got, bool) and got == gold
    return isinstance(got, str) and got.strip().lower() == str(gold).lower()


def run_extraction(gen: Generator, data: Path, cfg: TaskCfg, bs: BootstrapCfg, seed: int) -> dict[str, Any]:
    rows = []
    for it in read_jsonl(find(data, "extraction.jsonl"))[: cfg.limit]:
        out = gen.generate([{"role": "system", "content": EXTRACT_SYSTEM}, {"role": "user", "content": it["text"]}],
                           max_tokens=cfg.max_tokens, json_schema=EXTRACT_SCHEMA if cfg.constrained else None)
        obj = parse_json(out.text)
        fields = {f: float(obj is not None and _field_ok(f, it["gold"][f], obj.get(f))) for f in FIELDS}
        rows.append({"id": it["id"], "json_valid": float(obj is not None), **{f"f_{k}": v for k, v in fields.items()},
                     "field_em": M.mean(list(fields.values())), "all_fields": float(all(fields.values()))})
    kw: dict[str, Any] = {"resamples": bs.resamples, "confidence": bs.confidence, "seed": seed}
    mets = {k: M.mean_metric([r[k] for r in rows], **kw) for k in ("json_valid", "field_em", "all_fields")}
    for f in FIELDS:
        mets[f"field_em_{f}"] = M.mean_metric([r[f"f_{f}"] for r in rows], **kw)
    return {"metrics": mets, "rows": rows}


_TOKEN = re.compile(r"[a-z0-9]+")


class BM25:
    """A small in-memory BM25 over the shipped products: the fallback when ``frugalstack.edge.knowledge``
    (the on-device store) is not installed; both return the same (id, text) records."""

    def __init__(self, docs: list[tuple[str, str]], k1: float = 1.5, b: float = 0.75):
        self.docs = docs
        self.toks = [_TOKEN.findall(t.lower()) for _, t in docs]
        self.avg = sum(len(t) for t in self.toks) / max(1, len(self.toks))
        df: Counter[str] = Counter(w for t in self.toks for w in set(t))
        n = len(docs)
        self.idf = {w: math.log(1 + (n - c + 0.5) / (c + 0.5)) for w, c in df.items()}
        self.tf = [Counter(t) for t in self.toks]
        self.k1, self.b = k1, b

    def search(self, query: str, k: int) -> list[tuple[str, str]]:
        q = _TOKEN.findall(query.lower())
        scores = []
        for i, tf in enumerate(self.tf):
            s = 0.0
            for w in q:
                if w in tf:
                    f = tf[w]
                    norm = 1 - self.b + self.b * len(self.toks[i]) / self.avg
                    s += self.idf[w] * f * (self.k1 + 1) / (f + self.k1 * norm)
            scores.append((s, i))
        scores.sort(key=lambda x: (-x[0], x[1]))
        return [self.docs[i] for _, i in scores[:k]]


def _record(p: dict[str, Any]) -> str:
    a = p["attributes"]
    attrs = ", ".join(f"{k}: {v}" for k, v in a.items())
    cur = "$" if p.get("currency", "USD") == "USD" else p["currency"] + " "
    return f"{p['title']}. Price {cur}{p['price']:.2f}. {attrs}. {'In stock' if p['in_stock'] else 'Out of stock'}."


def fact_found(answer: str, item: dict[str, Any]) -> bool:
    """The reference fact appears in the answer (word-bounded; a negated 'waterproof' never counts as yes)."""
    low = answer.lower()
    negated = re.search(r"\b(?:not|isn't|is not)\s+waterproof", low)
    if item["kind"] == "waterproof" and item["fact"] == "yes" and negated:
        return False
    if item["kind"] == "waterproof" and item["fact"] == "no" and re.search(r"\byes\b", low) and "not" not in low:
        return False
    return any(re.search(r"(?<![\w.])" + re.escape(a.lower()) + r"(?![\w])", low) for a in item["accept"])


def run_qa(gen: Generator, data: Path, cfg: TaskCfg, bs: BootstrapCfg, seed: int) -> dict[str, Any]:
    products = read_jsonl(find(data, "products.jsonl"))
    index = BM25([(p["id"], _record(p)) for p in products])
    known = {p["id"] for p in products}
    rows = []
    for it in load_qa(data)[: cfg.limit]:
        hits = index.search(it["question"], cfg.k)
        context = "\n".join(f"[{pid}] {text}" for pid, text in hits)
        out = gen.generate([{"role": "system", "content": QA_SYSTEM},
                            {"role": "user", "content": f"Records:\n{context}\n\nQuestion: {it['question']}"}],
                           max_tokens=cfg.max_tokens)
        cited = [c for c in _ID.findall(out.text) if c in known]
        rows.append({"id": it["id"], "answer": out.text, "fact": float(fact_found(out.text, it)),
                     "citation": float(it["product_id"] in cited),
                     "citation_valid": float(bool(cited) and all(c in {h[0] for h in hits} for c in cited)),
                     "retrieved": float(it["product_id"] in {h[0] for h in hits}),
                     "question": it["question"], "reference": it["reference"]})
    kw: dict[str, Any] = {"resamples": bs.resamples, "confidence": bs.confidence, "seed": seed}
    mets = {"answer_fact": M.mean_metric([r["fact"] for r in rows], **kw),
            "citation_correct": M.mean_metric([r["citation"] for r in rows], **kw),
            "citation_valid": M.mean_metric([r["citation_valid"] for r in rows], **kw),
            "retrieval_recall": M.mean_metric([r["retrieved"] for r in rows], **kw)}
    return {"metrics": mets, "rows": rows, "retriever": "bm25-builtin"}
