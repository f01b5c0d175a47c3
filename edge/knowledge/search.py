"""Vector KNN (sqlite-vec), BM25 (FTS5) and their reciprocal-rank fusion, with filters inside the SQL."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from frugalstack.edge.knowledge.filters import Filters
from frugalstack.shared.errors import ValidationError

if TYPE_CHECKING:
    from frugalstack.edge.knowledge.store import Hit, KnowledgeStore, Mode

RRF_K = 60
_WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str:
    """Any user text as a safe FTS5 query: every word quoted, OR-ed (BM25 ranks by how many match)."""
    words = [w for w in _WORD.findall(text.lower()) if len(w) > 1 or w.isdigit()]
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words))


def vector_ranks(store: KnowledgeStore, qvec: np.ndarray, n: int, filters: Filters) -> list[tuple[int, float]]:
    """(rowid, cosine similarity), best first."""
    expr, blob = store._vec_param(qvec)
    cond, args = filters.vec_sql()
    sql = f"SELECT rowid, distance FROM items_vec WHERE embedding MATCH {expr} AND k = ?"
    if cond:
        sql += " AND " + cond
    rows = store.conn.execute(sql + " ORDER BY distance", (blob, n, *args)).fetchall()
    return [(int(r), 1.0 - float(d)) for r, d in rows]


def bm25_ranks(store: KnowledgeStore, query: str, n: int, filters: Filters) -> list[tuple[int, float]]:
    """(rowid, BM25 score with higher = better), best first; title matches weigh double."""
    match = fts_query(query)
    if not match:
        return []
    cond, args = filters.items_sql("i")
    sql = (
        "SELECT f.rowid, bm25(items_fts, 2.0, 1.0) AS s FROM items_fts f JOIN items i ON i.rowid = f.rowid"
        " WHERE items_fts MATCH ?"
    )
    if cond:
        sql += " AND " + cond
    rows = store.conn.execute(sql + " ORDER BY s LIMIT ?", (match, *args, n)).fetchall()
    return [(int(r), -float(s)) for r, s in rows]


def rrf(*rankings: list[tuple[int, float]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: sum of 1 / (k + rank) over the rankings an item appears in."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (rowid, _) in enumerate(ranking, start=1):
            fused[rowid] = fused.get(rowid, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda x: (-x[1], x[0]))


def _similarities(store: KnowledgeStore, qvec: np.ndarray, rowids: list[int]) -> dict[int, float]:
    if not rowids:
        return {}
    expr, blob = store._vec_param(qvec)
    sql = (
        f"SELECT rowid, vec_distance_cosine(embedding, {expr}) FROM items_vec"
        f" WHERE rowid IN ({','.join('?' * len(rowids))})"
    )
    return {int(r): 1.0 - float(d) for r, d in store.conn.execute(sql, (blob, *rowids))}


def run_search(
    store: KnowledgeStore, query: str, *, k: int, mode: Mode, filters: Filters, candidates: int | None
) -> list[Hit]:
    from frugalstack.edge.knowledge.store import Hit

    if not query.strip():
        raise ValidationError("the search query is empty")
    if not 1 <= k <= 1000:
        raise ValidationError(f"k must be between 1 and 1000, got {k}")
    if mode not in ("vector", "bm25", "hybrid"):
        raise ValidationError(f"mode must be vector, bm25 or hybrid, got {mode!r}")
    n = candidates or (k if mode != "hybrid" else max(50, 4 * k))
    qvec = store.embedder.embed([query])[0] if mode != "bm25" else None
    vec = vector_ranks(store, qvec, n, filters) if qvec is not None else []
    lex = bm25_ranks(store, query, n, filters) if mode != "vector" else []
    ranked = {"vector": vec, "bm25": lex}.get(mode) or (rrf(vec, lex) if mode == "hybrid" else [])
    ranked = ranked[:k]
    rowids = [r for r, _ in ranked]
    if not rowids:
        return []
    vec_s = dict(vec)
    if qvec is not None:
        missing = [r for r in rowids if r not in vec_s]
        vec_s.update(_similarities(store, qvec, missing))
    lex_s = dict(lex)
    rows: dict[int, Any] = {
        int(r[0]): r
        for r in store.conn.execute(
            "SELECT rowid, id, kind, doc_id, title, text, record FROM items"
            f" WHERE rowid IN ({','.join('?' * len(rowids))})",
            rowids,
        )
    }
    return [
        Hit(
            id=rows[r][1], kind=rows[r][2], doc_id=rows[r][3], title=rows[r][4], text=rows[r][5], score=s,
            vector_score=vec_s.get(r), bm25=lex_s.get(r), record=json.loads(rows[r][6]),
        )
        for r, s in ranked
        if r in rows
    ]
