"""The labelled queries and the catalog the route evaluation runs on.

Preferred source: issue 4's shipped sample dataset (``frugalstack.edge.sampledata``: products JSONL,
policy docs, dev/test query files with intent, answering product ids / doc and a reference answer). Until
that lands, or with ``source="evaluation"``, the shipped ``edge/evaluation/data`` set is used: 120 product
questions with their accepted facts over a 160-product catalog. Queries are normalised to ``EvalQuery``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from frugalstack.shared.errors import ConfigError


@dataclass
class EvalQuery:
    id: str
    query: str
    intent: str | None
    product_ids: list[str] = field(default_factory=list)
    doc_id: str | None = None
    reference: str = ""
    facts: list[list[str]] = field(default_factory=list)  # each inner list: accepted spellings of one fact
    split: str = "test"


@dataclass
class Record:
    """A retrievable catalog item (product or policy document) as text."""

    id: str
    title: str
    text: str
    price: float | None = None


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _split_of(qid: str, dev_share: float = 0.5) -> str:
    h = int(hashlib.sha256(qid.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "dev" if h < dev_share else "test"


def product_text(p: dict[str, Any]) -> str:
    attrs = ", ".join(f"{k}: {v}" for k, v in (p.get("attributes") or {}).items())
    price = p.get("price")
    cur = p.get("currency", "USD")
    stock = "in stock" if p.get("in_stock", True) else "out of stock"
    sym = {"EUR": "€", "USD": "$", "GBP": "£"}.get(cur, cur + " ")
    return (f"[{p['id']}] {p['title']} - {sym}{price:.2f}, {stock}. {attrs}. {p.get('description', '')}"
            if isinstance(price, int | float) else f"[{p['id']}] {p['title']}. {attrs}. {p.get('description', '')}")




def _sample_dir() -> Path | None:
    try:
        from frugalstack.edge import sampledata
    except ImportError:
        return None
    root = Path(sampledata.DATA_DIR)
    return root if (root / "queries-test.jsonl").is_file() else None


def _facts(q: dict[str, Any], titles: dict[str, str]) -> list[list[str]]:
    """Sample-data facts: a product question's list holds spellings of one fact; elsewhere each is a fact.

    A search with several right products and no listed fact counts any right product's title or id.
    """
    facts = [str(f) for f in q.get("facts") or []]
    if q.get("intent") == "product_question":
        return [facts] if facts else []
    if facts:
        return [[f] for f in facts]
    pids = list(q.get("product_ids") or [])
    if pids:
        return [[*(titles[p] for p in pids if p in titles), *pids]]
    return []


def _load_sample(root: Path) -> tuple[list[EvalQuery], list[Record]]:
    import gzip

    with gzip.open(root / "products.jsonl.gz", "rt", encoding="utf-8") as fh:
        products = [json.loads(line) for line in fh if line.strip()]
    records = [Record(p["id"], p["title"], product_text(p), p.get("price")) for p in products]
    titles = {p["id"]: p["title"] for p in products}
    for doc in sorted((root / "docs").glob("*.md")):
        text = doc.read_text(encoding="utf-8")
        records.append(Record(doc.stem, text.splitlines()[0].lstrip("# ") if text else doc.stem,
                              f"[{doc.stem}] {text}"))
    queries = []
    for split in ("dev", "test"):
        for q in _jsonl(root / f"queries-{split}.jsonl"):
            queries.append(EvalQuery(str(q["id"]), q["query"], q.get("intent"), list(q.get("product_ids") or []),
                                     (q.get("doc_ids") or [None])[0], q.get("reference_answer") or "",
                                     _facts(q, titles), q.get("split") or split))
    return queries, records


def _load_evaluation() -> tuple[list[EvalQuery], list[Record]]:
    base = Path(str(resources.files("frugalstack.edge.evaluation") / "data"))
    products = _jsonl(base / "products.jsonl")
    records = [Record(p["id"], p["title"], product_text(p), p.get("price")) for p in products]
    queries = [EvalQuery(q["id"], q["question"], "product_question", [q["product_id"]], None, q["reference"],
                         [list(dict.fromkeys(q["accept"]))], _split_of(q["id"])) for q in _jsonl(base / "qa.jsonl")]
    return queries, records


def sample_queries(queries: list[EvalQuery], per_split: int | None) -> list[EvalQuery]:
    """At most ``per_split`` queries of each split, evenly strided in id order (keeps the intent mix), dev and
    test alternating so a run cut short still has both splits."""
    if not per_split:
        return queries
    picked: dict[str, list[EvalQuery]] = {}
    for split in ("dev", "test"):
        rows = sorted((q for q in queries if q.split == split), key=lambda q: q.id)
        step = max(1.0, len(rows) / per_split)
        picked[split] = [rows[int(i * step)] for i in range(min(per_split, len(rows)))]
    out: list[EvalQuery] = []
    for i in range(max(len(v) for v in picked.values())):
        out += [v[i] for v in picked.values() if i < len(v)]
    return out


def load(source: str = "auto") -> tuple[list[EvalQuery], list[Record], str]:
    """(queries, catalog records, source name). ``source``: auto | sample | evaluation."""
    root = _sample_dir() if source in ("auto", "sample") else None
    if root is not None:
        q, r = _load_sample(root)
        return q, r, "sample"
    if source == "sample":
        raise ConfigError("the sample dataset (edge/sampledata) is not installed", hint="use --source evaluation")
    q, r = _load_evaluation()
    return q, r, "evaluation"
