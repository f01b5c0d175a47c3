"""The knowledge store: one SQLite file with items, FTS5 (BM25), sqlite-vec vectors and prompts.

Vectors are float32 or int8 (chosen when the DB is created, recorded in ``meta``); int8 uses a per-vector
scale, which cosine distance ignores, so it keeps far more precision than a fixed [-1, 1] scale.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from frugalstack.edge.knowledge.embedders import DEFAULT_EMBEDDER, Embedder, get_embedder
from frugalstack.edge.knowledge.filters import Filters, canon
from frugalstack.edge.knowledge.schema import migrate
from frugalstack.edge.sqlite import connect
from frugalstack.shared.errors import ConfigError, MissingDependencyError

VectorType = Literal["float32", "int8"]
Mode = Literal["vector", "bm25", "hybrid"]
RRF_K = 60


@dataclass
class Item:
    """One searchable unit: a product or a chunk of a policy/FAQ document."""

    id: str
    kind: Literal["product", "doc"]
    title: str
    text: str  # what is embedded and shown to the model
    record: dict[str, Any]
    doc_id: str = ""
    category: str = ""
    brand: str | None = None
    price: float | None = None
    currency: str | None = None
    in_stock: bool | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def text_hash(self, embedder_id: str) -> str:
        return hashlib.sha256(f"{embedder_id}\n{self.title}\n{self.text}".encode()).hexdigest()

    def record_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.record, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Hit:
    """One search result with every score the router or a reranker may want."""

    id: str
    kind: str
    doc_id: str
    title: str
    text: str
    score: float  # the ranking score of the mode (cosine similarity, BM25 or RRF)
    vector_score: float | None = None  # cosine similarity to the query
    bm25: float | None = None  # higher is better (sign flipped from SQLite's bm25())
    record: dict[str, Any] = field(default_factory=dict)

    def citation(self) -> dict[str, Any]:
        """The cited record in the shape the guard's grounding rail reads."""
        if self.kind == "doc":
            return {"id": self.doc_id, "title": self.title, "text": self.text}
        keys = ("title", "price", "currency", "in_stock", "attributes", "category", "brand")
        return {"id": self.id, **{k: self.record.get(k) for k in keys if k in self.record}}

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "doc_id": self.doc_id, "title": self.title,
            "score": round(self.score, 6),
            "vector_score": None if self.vector_score is None else round(self.vector_score, 6),
            "bm25": None if self.bm25 is None else round(self.bm25, 6),
            "record": self.citation(),
        }


def quantize_int8(vectors: np.ndarray) -> np.ndarray:
    """Per-vector symmetric int8: cosine-preserving up to rounding."""
    scale = 127.0 / np.maximum(np.abs(vectors).max(axis=1, keepdims=True), 1e-12)
    return np.clip(np.rint(vectors * scale), -127, 127).astype(np.int8)


class KnowledgeStore:
    """Open (creating or migrating) a knowledge DB; one per app."""

    def __init__(
        self,
        path: str | Path,
        *,
        embedder: str | Embedder | None = None,
        vector_type: VectorType | None = None,
    ) -> None:
        self.path = Path(path)
        self.conn = connect(path, need_extensions=True)
        try:
            import sqlite_vec  # type: ignore[import-not-found,import-untyped,unused-ignore]
        except ImportError:
            raise MissingDependencyError("sqlite-vec", "edge", purpose="vector search") from None
        self.conn.enable_load_extension(True)
        sqlite_vec.load(self.conn)
        self.conn.enable_load_extension(False)
        meta = self._read_meta()
        want_embedder = embedder if isinstance(embedder, str) else getattr(embedder, "id", None)
        if meta:
            if want_embedder and want_embedder != meta["embedder"]:
                raise ConfigError(
                    f"{path} was built with embedder {meta['embedder']}, not {want_embedder}",
                    hint="use the same embedder, or ingest into a new DB",
                )
            if vector_type and vector_type != meta["vector_type"]:
                raise ConfigError(f"{path} stores {meta['vector_type']} vectors, not {vector_type}")
        else:
            meta = {
                "embedder": want_embedder or DEFAULT_EMBEDDER,
                "vector_type": vector_type or "float32",
                "dim": "384",
            }
        self.embedder_id: str = meta["embedder"]
        self.vector_type: VectorType = "int8" if meta["vector_type"] == "int8" else "float32"
        self.dim = int(meta["dim"])
        migrate(self.conn, dim=self.dim, dtype="int8" if self.vector_type == "int8" else "float")
        if not self._read_meta():
            self.conn.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
        self._embedder: Embedder | None = embedder if embedder is not None and not isinstance(embedder, str) else None
        from frugalstack.edge.knowledge.prompts import PromptStore

        self.prompts = PromptStore(self.conn)
        self.prompts.ensure_defaults()

    # ------------------------------------------------------------------ basics
    def _read_meta(self) -> dict[str, str]:
        try:
            return {k: v for k, v in self.conn.execute("SELECT key, value FROM meta")}
        except Exception:  # no meta table yet: a new DB
            return {}

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.embedder_id)
        return self._embedder

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> KnowledgeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def count(self, kind: str | None = None) -> int:
        if kind:
            return int(self.conn.execute("SELECT COUNT(*) FROM items WHERE kind = ?", (kind,)).fetchone()[0])
        return int(self.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0])

    def get(self, item_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT record FROM items WHERE id = ?", (item_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def stats(self) -> dict[str, Any]:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return {
            "path": str(self.path), "products": self.count("product"), "doc_chunks": self.count("doc"),
            "embedder": self.embedder_id, "vector_type": self.vector_type,
            "size_bytes": self.path.stat().st_size if self.path.exists() else 0,
        }

    def _vec_param(self, v: np.ndarray) -> tuple[str, bytes]:
        if self.vector_type == "int8":
            return "vec_int8(?)", quantize_int8(v[None, :])[0].tobytes()
        return "?", np.asarray(v, np.float32).tobytes()

    # ------------------------------------------------------------------ writes
    def upsert(
        self, items: Sequence[Item], vectors: np.ndarray | None = None, *, batch_size: int = 32
    ) -> dict[str, int]:
        """Insert or update by id in one transaction; only new or changed text is embedded.

        ``vectors`` (one row per item) skips the embedder: benchmarks use it to build large synthetic stores.
        """
        stats = {"added": 0, "updated": 0, "unchanged": 0, "embedded": 0}
        if not items:
            return stats
        old: dict[str, tuple[int, str, str]] = {}
        ids = [it.id for it in items]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            q = f"SELECT id, rowid, text_hash, record_hash FROM items WHERE id IN ({','.join('?' * len(chunk))})"
            for iid, rowid, th, rh in self.conn.execute(q, chunk):
                old[iid] = (rowid, th, rh)
        todo, embed_idx = [], []
        for n, it in enumerate(items):
            th, rh = it.text_hash(self.embedder_id), it.record_hash()
            prev = old.get(it.id)
            if prev is not None and prev[1] == th and prev[2] == rh:
                stats["unchanged"] += 1
                continue
            todo.append((n, it, th, rh, prev))
            if prev is None or prev[1] != th:
                embed_idx.append(n)
        if vectors is not None:
            vecs = {n: vectors[n] for n in embed_idx}
        else:  # embed before the transaction: a failure leaves the DB untouched
            emb = self.embedder.embed([items[n].title + ". " + items[n].text for n in embed_idx], batch_size)
            vecs = dict(zip(embed_idx, emb, strict=True))
        stats["embedded"] = len(vecs)
        now = time.time()
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for n, it, th, rh, prev in todo:
                self._write(it, th, rh, prev[0] if prev else None, vecs.get(n), now)
                stats["updated" if prev else "added"] += 1
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return stats

    def _write(self, it: Item, th: str, rh: str, rowid: int | None, vec: np.ndarray | None, now: float) -> None:
        c = self.conn
        row = (it.id, it.kind, it.doc_id or it.id, it.title, it.text, it.category, it.brand, it.price, it.currency,
               None if it.in_stock is None else int(it.in_stock), json.dumps(it.attributes, sort_keys=True),
               json.dumps(it.record, sort_keys=True, default=str), th, rh, now)
        if rowid is None:
            cur = c.execute(
                "INSERT INTO items (id, kind, doc_id, title, text, category, brand, price, currency, in_stock,"
                " attributes, record, text_hash, record_hash, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                row,
            )
            rowid = int(cur.lastrowid)
        else:
            c.execute(
                "UPDATE items SET id=?, kind=?, doc_id=?, title=?, text=?, category=?, brand=?, price=?, currency=?,"
                " in_stock=?, attributes=?, record=?, text_hash=?, record_hash=?, updated_at=? WHERE rowid=?",
                (*row, rowid),
            )
            if vec is None:  # metadata-only change: keep the stored vector
                stored = c.execute("SELECT embedding FROM items_vec WHERE rowid = ?", (rowid,)).fetchone()[0]
                vec = np.frombuffer(stored, np.int8 if self.vector_type == "int8" else np.float32)
            self._delete_rows(rowid, items=False)
        body = " ".join([it.text, it.brand or "", it.category, *(f"{k} {v}" for k, v in it.attributes.items())])
        c.execute("INSERT INTO items_fts (rowid, title, body) VALUES (?, ?, ?)", (rowid, it.title, body))
        c.executemany(
            "INSERT OR IGNORE INTO item_attrs (key, value, item) VALUES (?, ?, ?)",
            [(k, canon(v), rowid) for k, v in it.attributes.items() if not isinstance(v, list | dict)],
        )
        assert vec is not None
        if self.vector_type == "int8" and vec.dtype == np.int8:
            expr, blob = "vec_int8(?)", vec.tobytes()
        else:
            expr, blob = self._vec_param(vec)
        c.execute(
            f"INSERT INTO items_vec (rowid, embedding, kind, category, price, in_stock) VALUES (?, {expr}, ?, ?, ?, ?)",
            (rowid, blob, it.kind, it.category, -1.0 if it.price is None else float(it.price),
             -1 if it.in_stock is None else int(it.in_stock)),
        )

    def _delete_rows(self, rowid: int, *, items: bool = True) -> None:
        self.conn.execute("DELETE FROM items_fts WHERE rowid = ?", (rowid,))
        self.conn.execute("DELETE FROM item_attrs WHERE item = ?", (rowid,))
        self.conn.execute("DELETE FROM items_vec WHERE rowid = ?", (rowid,))
        if items:
            self.conn.execute("DELETE FROM items WHERE rowid = ?", (rowid,))

    def delete(self, ids: Sequence[str]) -> int:
        """Remove items (a doc id removes all its chunks); returns how many rows went."""
        n = 0
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for iid in ids:
                for (rowid,) in self.conn.execute(
                    "SELECT rowid FROM items WHERE id = ? OR (kind = 'doc' AND doc_id = ?)", (iid, iid)
                ).fetchall():
                    self._delete_rows(rowid)
                    n += 1
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return n

    # ------------------------------------------------------------------ search
    def search(
        self, query: str, *, k: int = 10, mode: Mode = "hybrid", filters: Filters | None = None,
        candidates: int | None = None,
    ) -> list[Hit]:
        """Top ``k`` items for ``query``; filters are applied inside the SQL of each retriever."""
        from frugalstack.edge.knowledge.search import run_search

        return run_search(self, query, k=k, mode=mode, filters=filters or Filters(), candidates=candidates)
