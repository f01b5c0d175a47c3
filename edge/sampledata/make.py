"""Write the sample dataset to a folder: products JSONL (gzip), markdown docs, dev/test queries."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from frugalstack.edge.sampledata.catalog_gen import make_catalog
from frugalstack.edge.sampledata.docs_gen import DOCS
from frugalstack.edge.sampledata.queries_gen import make_queries


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows).encode()


def make_sample(out: str | Path, *, seed: int = 7, n_products: int = 3000) -> dict[str, Any]:
    """Generate everything into ``out``; the same seed gives byte-identical files (gzip mtime fixed)."""
    out = Path(out)
    (out / "docs").mkdir(parents=True, exist_ok=True)
    catalog = make_catalog(n_products, seed)
    queries = make_queries(catalog, seed)
    with open(out / "products.jsonl.gz", "wb") as raw, gzip.GzipFile(
        filename="products.jsonl", mode="wb", fileobj=raw, mtime=0, compresslevel=9
    ) as gz:
        gz.write(_jsonl(catalog))
    for doc_id, text in DOCS.items():
        (out / "docs" / f"{doc_id}.md").write_text(text, encoding="utf-8")
    for split in ("dev", "test"):
        (out / f"queries-{split}.jsonl").write_bytes(_jsonl([q for q in queries if q["split"] == split]))
    return {
        "out": str(out),
        "products": len(catalog),
        "categories": len({p["category"] for p in catalog}),
        "docs": len(DOCS),
        "queries": {s: sum(q["split"] == s for q in queries) for s in ("dev", "test")},
    }


def load_products(path: str | Path) -> list[dict[str, Any]]:
    """Read a products JSONL file (plain or .gz)."""
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_queries(path: str | Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
