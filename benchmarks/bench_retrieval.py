"""Retrieval benchmark for the on-device knowledge store (issue 4).

Measures, on the shipped sample data: recall@5/@10 and MRR of vector, BM25 and hybrid search on the test
queries for float32 vs int8 vectors and the ONNX vs torch MiniLM embedders; search latency p50/p95 at
3k and 30k products (synthetic copies with jittered vectors) beside an exact numpy brute-force KNN;
ingestion throughput; DB size per 1k products; SLM+RAG answer quality on a sample of test queries.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_retrieval.py --out /tmp/bench-retrieval
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from frugalstack.edge.knowledge.embedders import ONNX_MINILM, TORCH_MINILM, get_embedder
from frugalstack.edge.knowledge.filters import Filters
from frugalstack.edge.knowledge.ingest import ProductIn, doc_items, product_item
from frugalstack.edge.knowledge.search import bm25_ranks, rrf, vector_ranks
from frugalstack.edge.knowledge.store import Item, KnowledgeStore
from frugalstack.edge.sampledata import DOCS_DIR, PRODUCTS_FILE, QUERIES_TEST
from frugalstack.edge.sampledata.make import load_products, load_queries


def items_of(products: list[dict[str, Any]]) -> list[Item]:
    items = [product_item(ProductIn.model_validate(p)) for p in products]
    for md in sorted(DOCS_DIR.glob("*.md")):
        items += doc_items(md.stem, md.read_text(encoding="utf-8"))
    return items


def embed_items(name: str, items: list[Item], cache: Path) -> np.ndarray:
    f = cache / f"vectors-{name}-{len(items)}.npy"
    if f.exists():
        return np.load(f)
    t = time.perf_counter()
    v = get_embedder(name).embed([it.title + ". " + it.text for it in items], 32)
    print(f"embedded {len(items)} items with {name} in {time.perf_counter() - t:.0f} s", flush=True)
    np.save(f, v)
    return v


def quality(store: KnowledgeStore, queries: list[dict[str, Any]], qvecs: np.ndarray) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    f = Filters()
    for mode in ("vector", "bm25", "hybrid"):
        r5, r10, rr = [], [], []
        for q, qv in zip(queries, qvecs, strict=True):
            rel = set(q["product_ids"]) | set(q["doc_ids"])
            vec = vector_ranks(store, qv, 50, f) if mode != "bm25" else []
            lex = bm25_ranks(store, q["query"], 50, f) if mode != "vector" else []
            ranked = vec if mode == "vector" else lex if mode == "bm25" else rrf(vec, lex)
            ids = []
            for rowid, _ in ranked:
                (doc_id,) = store.conn.execute("SELECT doc_id FROM items WHERE rowid = ?", (rowid,)).fetchone()
                if doc_id not in ids:
                    ids.append(doc_id)
                if len(ids) >= 10:
                    break
            r5.append(len(rel & set(ids[:5])) / len(rel))
            r10.append(len(rel & set(ids[:10])) / len(rel))
            rr.append(next((1 / (i + 1) for i, x in enumerate(ids) if x in rel), 0.0))
        out[mode] = {"recall@5": statistics.mean(r5), "recall@10": statistics.mean(r10), "mrr": statistics.mean(rr)}
    return out


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.array(xs) * 1000, p))


def latency(store: KnowledgeStore, matrix: np.ndarray, queries: list[dict[str, Any]], qvecs: np.ndarray) -> dict:
    f = Filters()
    t: dict[str, list[float]] = {"sqlite-vec knn": [], "numpy brute force": [], "bm25": [], "hybrid": [],
                                 "knn+filter": []}
    filt = Filters(in_stock=True, price_max=100.0)
    agree = 0
    for q, qv in zip(queries, qvecs, strict=True):
        s = time.perf_counter()
        v = vector_ranks(store, qv, 10, f)
        t["sqlite-vec knn"].append(time.perf_counter() - s)
        s = time.perf_counter()
        sims = matrix @ qv
        top = np.argpartition(-sims, 10)[:10]
        top = top[np.argsort(-sims[top])]
        t["numpy brute force"].append(time.perf_counter() - s)
        agree += int(v[0][0] - 1 == int(top[0]))
        s = time.perf_counter()
        bm25_ranks(store, q["query"], 10, f)
        t["bm25"].append(time.perf_counter() - s)
        s = time.perf_counter()
        rrf(vector_ranks(store, qv, 50, f), bm25_ranks(store, q["query"], 50, f))
        t["hybrid"].append(time.perf_counter() - s)
        s = time.perf_counter()
        vector_ranks(store, qv, 10, filt)
        t["knn+filter"].append(time.perf_counter() - s)
    res = {k: {"p50_ms": pct(v, 50), "p95_ms": pct(v, 95)} for k, v in t.items()}
    res["top1_agreement_with_numpy"] = agree / len(queries)  # type: ignore[assignment]
    return res


def build(path: Path, items: list[Item], vecs: np.ndarray, vtype: str, embedder: str) -> tuple[KnowledgeStore, float]:
    path.unlink(missing_ok=True)
    store = KnowledgeStore(path, embedder=embedder, vector_type=vtype)  # type: ignore[arg-type]
    s = time.perf_counter()
    for i in range(0, len(items), 1000):
        store.upsert(items[i : i + 1000], vecs[i : i + 1000])
    return store, time.perf_counter() - s


def scaled(products: list[dict[str, Any]], vecs: np.ndarray, n: int, seed: int = 0) -> tuple[list[Item], np.ndarray]:
    """``n`` products: the real ones, then copies with new ids and jittered, re-normalised vectors."""
    rng = np.random.default_rng(seed)
    items, rows = [], []
    for i in range(n):
        p = dict(products[i % len(products)])
        if i >= len(products):
            p["id"] = f"x-{i:07d}"
        items.append(product_item(ProductIn.model_validate(p)))
        v = vecs[i % len(products)]
        if i >= len(products):
            v = v + rng.normal(0, 0.02, v.shape).astype(np.float32)
            v = v / np.linalg.norm(v)
        rows.append(v)
    return items, np.asarray(rows, np.float32)


def rag_quality(db: Path, queries: list[dict[str, Any]], n: int) -> dict[str, Any]:
    from frugalstack.edge.runtime import Runtime

    sample = [q for q in queries if q["facts"]][:n]
    ok = grounded = 0
    rows = []
    t = time.perf_counter()
    with Runtime(telemetry=False) as rt, KnowledgeStore(db) as store:
        for q in sample:
            res = rt.ask(q["query"], db=store, k=3, max_tokens=64)
            hit = any(f.lower() in res.answer.lower() for f in q["facts"])
            ok += hit
            grounded += res.grounded
            rows.append({"id": q["id"], "intent": q["intent"], "ok": hit, "answer": res.answer,
                         "checks": [c.kind for c in res.checks]})
    return {"n": len(sample), "answer_contains_fact": ok / len(sample), "no_check_flags": grounded / len(sample),
            "seconds_per_answer": (time.perf_counter() - t) / len(sample), "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--scales", default="3000,30000", help="catalog sizes for latency (300000 if time allows)")
    ap.add_argument("--embedders", default=f"{ONNX_MINILM},{TORCH_MINILM}")
    ap.add_argument("--latency-queries", type=int, default=100)
    ap.add_argument("--rag-queries", type=int, default=24)
    ap.add_argument("--ingest-sample", type=int, default=200)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    products = load_products(PRODUCTS_FILE)
    items = items_of(products)
    queries = [q for q in load_queries(QUERIES_TEST) if q["product_ids"] or q["doc_ids"]]
    result: dict[str, Any] = {"products": len(products), "test_queries_with_labels": len(queries), "quality": {}}
    # ingestion through the embedder (the real path), on a sample so the run stays short
    sample_db = a.out / "ingest.db"
    sample_db.unlink(missing_ok=True)
    with KnowledgeStore(sample_db, embedder=ONNX_MINILM) as st:
        s = time.perf_counter()
        st.upsert(items[: a.ingest_sample])
        first = time.perf_counter() - s
        s = time.perf_counter()
        again = st.upsert(items[: a.ingest_sample])
        result["ingest_onnx"] = {"products": a.ingest_sample, "products_per_s": a.ingest_sample / first,
                                 "reingest_unchanged_s": time.perf_counter() - s, "unchanged": again["unchanged"]}
    print(json.dumps(result["ingest_onnx"]), flush=True)
    vec_by: dict[str, np.ndarray] = {}
    for name in a.embedders.split(","):
        vec_by[name] = embed_items(name, items, a.out)
        qv = get_embedder(name).embed([q["query"] for q in queries])
        for vtype in ("float32", "int8"):
            store, secs = build(a.out / f"q-{name}-{vtype}.db", items, vec_by[name], vtype, name)
            size = store.stats()["size_bytes"]
            result["quality"][f"{name}/{vtype}"] = quality(store, queries, qv)
            result.setdefault("store", {})[f"{name}/{vtype}"] = {
                "insert_products_per_s_precomputed_vectors": len(items) / secs,
                "db_mb_per_1k_products": size / 1e6 / len(products) * 1000}
            store.close()
            print(name, vtype, json.dumps(result["quality"][f"{name}/{vtype}"]), flush=True)
    base = vec_by[ONNX_MINILM] if ONNX_MINILM in vec_by else next(iter(vec_by.values()))
    prod_vecs = base[: len(products)]
    lq = queries[: a.latency_queries]
    lqv = get_embedder(ONNX_MINILM).embed([q["query"] for q in lq])
    s = time.perf_counter()
    for _ in range(20):
        get_embedder(ONNX_MINILM).embed([lq[0]["query"]])
    result["query_embedding_ms"] = (time.perf_counter() - s) / 20 * 1000
    for n in (int(x) for x in a.scales.split(",")):
        its, vecs = scaled(products, prod_vecs, n)
        store, secs = build(a.out / f"scale-{n}.db", its, vecs, "float32", ONNX_MINILM)
        lat = latency(store, vecs, lq, lqv)
        lat["build_products_per_s"] = n / secs
        lat["db_mb"] = store.stats()["size_bytes"] / 1e6
        result.setdefault("latency", {})[str(n)] = lat
        store.close()
        (a.out / f"scale-{n}.db").unlink()
        print(n, json.dumps(lat), flush=True)
        (a.out / "bench_retrieval.json").write_text(json.dumps(result, indent=2))  # partial results survive
    if a.rag_queries:
        result["rag"] = rag_quality(a.out / f"q-{ONNX_MINILM}-float32.db", queries, a.rag_queries)
    (a.out / "bench_retrieval.json").write_text(json.dumps(result, indent=2))
    print_table(result)


def print_table(r: dict[str, Any]) -> None:
    print(f"\nretrieval quality on {r['test_queries_with_labels']} labelled test queries")
    print(f"{'embedder/vectors':34} {'mode':7} {'R@5':>6} {'R@10':>6} {'MRR':>6}")
    for key, modes in r["quality"].items():
        for mode, m in modes.items():
            print(f"{key:34} {mode:7} {m['recall@5']:6.3f} {m['recall@10']:6.3f} {m['mrr']:6.3f}")
    for key, s in r.get("store", {}).items():
        print(f"{key}: {s['db_mb_per_1k_products']:.2f} MB per 1k products, "
              f"{s['insert_products_per_s_precomputed_vectors']:.0f} products/s insert (vectors given)")
    print(f"ingest with ONNX embedding: {r['ingest_onnx']['products_per_s']:.1f} products/s; "
          f"query embedding {r['query_embedding_ms']:.1f} ms")
    for n, lat in r.get("latency", {}).items():
        cells = ", ".join(f"{k} p50 {v['p50_ms']:.2f} / p95 {v['p95_ms']:.2f} ms"
                          for k, v in lat.items() if isinstance(v, dict))
        print(f"{n} products: {cells}; top-1 agrees with numpy {lat['top1_agreement_with_numpy']:.2f}")
    if "rag" in r:
        g = r["rag"]
        print(f"SLM+RAG on {g['n']} test queries: answer contains the fact {g['answer_contains_fact']:.2f}, "
              f"no check flags {g['no_check_flags']:.2f}, {g['seconds_per_answer']:.1f} s/answer")


if __name__ == "__main__":
    main()
