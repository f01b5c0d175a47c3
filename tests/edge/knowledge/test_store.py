"""The knowledge store on a slice of the real catalog: search modes, filters, upserts, deletes, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from frugalstack.edge.knowledge.filters import Filters
from frugalstack.edge.knowledge.ingest import ingest
from frugalstack.edge.knowledge.schema import SCHEMA_VERSION
from frugalstack.edge.knowledge.store import KnowledgeStore
from frugalstack.shared.errors import ConfigError, ValidationError


def test_counts_and_schema(store: KnowledgeStore, products: list[dict[str, Any]]) -> None:
    assert store.count("product") == len(products)
    assert store.count("doc") >= 7  # one item per section of the 7 docs
    assert store.conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION


@pytest.mark.parametrize("mode", ["vector", "bm25", "hybrid"])
def test_title_query_finds_the_product(store: KnowledgeStore, products: list[dict[str, Any]], mode: str) -> None:
    p = products[17]
    hits = store.search(f"tell me about the {p['title']}", k=5, mode=mode)  # type: ignore[arg-type]
    assert p["id"] in [h.id for h in hits]
    assert hits[0].score >= hits[-1].score


def test_policy_query_finds_the_doc(store: KnowledgeStore) -> None:
    hits = store.search("how much does delivery cost", k=3)
    assert "doc-shipping" in [h.doc_id for h in hits]
    assert hits[0].vector_score is not None


def test_filters_apply_inside_the_query(store: KnowledgeStore, products: list[dict[str, Any]]) -> None:
    f = Filters.parse(["price<=80", "in_stock=true"])
    hits = store.search("jacket", k=10, filters=f)
    expected = sum(1 for p in products if p["price"] <= 80 and p["in_stock"])
    assert len(hits) == min(10, expected)  # KNN filters before top-k, so k results when k exist
    assert all(h.record["price"] <= 80 and h.record["in_stock"] for h in hits)
    colour = products[0]["attributes"]["colour"]
    for mode in ("vector", "bm25", "hybrid"):
        f = Filters(attributes={"colour": colour})
        hits = store.search(f"a warm {colour} coat", k=5, mode=mode, filters=f)  # type: ignore[arg-type]
        assert hits and all(h.record["attributes"]["colour"] == colour for h in hits)
    cat = products[3]["category"]
    hits = store.search("something", k=5, mode="vector", filters=Filters(category=cat))
    assert hits and all(h.record["category"] == cat for h in hits)


def test_bad_filter_and_query_are_rejected(store: KnowledgeStore) -> None:
    with pytest.raises(ValidationError):
        Filters.parse(["price<=cheap"])
    with pytest.raises(ValidationError):
        store.search("   ")


def _write(path: Path, rows: list[Any]) -> None:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))


def test_upsert_is_idempotent_and_reembeds_only_changed_text(tmp_path: Path, products: list[dict[str, Any]]) -> None:
    src = tmp_path / "p.jsonl"
    rows = [dict(p) for p in products[:4]]
    _write(src, rows)
    with KnowledgeStore(tmp_path / "k.db") as s:
        assert ingest(s, src).embedded == 4
        again = ingest(s, src)
        assert (again.unchanged, again.embedded, again.added) == (4, 0, 0)
        rows[0]["price"] = 1234.5  # metadata only: no new embedding, filters see the new price
        rows[1]["description"] = "A completely rewritten description about submarines."
        _write(src, rows)
        r = ingest(s, src)
        assert (r.updated, r.embedded, r.unchanged) == (2, 1, 2)
        assert s.get(rows[0]["id"])["price"] == 1234.5  # type: ignore[index]
        hits = s.search("anything", k=4, mode="vector", filters=Filters(price_min=1000))
        assert [h.id for h in hits] == [rows[0]["id"]]
        assert s.search("submarines", k=1, mode="bm25")[0].id == rows[1]["id"]
        _write(src, [{"id": rows[2]["id"], "_deleted": True}])
        assert ingest(s, src).deleted == 1
        assert s.delete([rows[3]["id"]]) == 1
        assert s.count() == 2
        assert all(h.id not in (rows[2]["id"], rows[3]["id"]) for h in s.search(rows[2]["title"], k=4))
        assert s.conn.execute("SELECT COUNT(*) FROM items_vec").fetchone()[0] == 2


def test_malformed_lines_are_reported_and_the_rest_ingests(tmp_path: Path, products: list[dict[str, Any]]) -> None:
    src = tmp_path / "p.jsonl"
    bad_price = {**products[1], "price": "free"}
    no_title = {k: v for k, v in products[2].items() if k != "title"}
    _write(src, [products[0], "{not json", bad_price, no_title, [1, 2], products[3]])
    with KnowledgeStore(tmp_path / "k.db") as s:
        r = ingest(s, src)
        assert [e.line for e in r.errors] == [2, 3, 4, 5]
        assert "title" in r.errors[2].error
        assert r.added == 2 and s.count() == 2


def test_int8_vectors_and_db_guards(tmp_path: Path, store: KnowledgeStore, products: list[dict[str, Any]]) -> None:
    rows = store.conn.execute("SELECT rowid FROM items WHERE kind='product' ORDER BY rowid LIMIT 30").fetchall()
    from frugalstack.edge.knowledge.ingest import ProductIn, product_item

    items = [product_item(ProductIn.model_validate(p)) for p in products[:30]]
    import numpy as np

    vecs = np.stack([np.frombuffer(store.conn.execute("SELECT embedding FROM items_vec WHERE rowid=?", r)
                                   .fetchone()[0], np.float32) for r in rows])
    db = tmp_path / "i8.db"
    with KnowledgeStore(db, vector_type="int8") as s8:
        s8.upsert(items, vecs)
        for p in products[:5]:
            assert s8.search(p["title"], k=1, mode="vector")[0].id == p["id"]
        assert s8.stats()["vector_type"] == "int8"
    with pytest.raises(ConfigError):
        KnowledgeStore(db, vector_type="float32")
    with pytest.raises(ConfigError):
        KnowledgeStore(db, embedder="minilm-l6-v2")
    with KnowledgeStore(db) as again:  # reopening keeps the schema and the data
        assert again.count() == 30
    import sqlite3

    c = sqlite3.connect(db)
    c.execute("INSERT INTO schema_version VALUES (99, 0)")
    c.commit()
    c.close()
    with pytest.raises(ConfigError, match="newer"):
        KnowledgeStore(db)
