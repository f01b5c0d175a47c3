"""The shipped sample dataset meets the issue's spec and is exactly what the generator makes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from frugalstack.edge.cli.main import app
from frugalstack.edge.sampledata import DOCS_DIR, PRODUCTS_FILE, QUERIES_DEV, QUERIES_TEST
from frugalstack.edge.sampledata.make import load_products, load_queries, make_sample

INTENTS = {"product_search", "product_question", "compare", "order_status", "return_refund", "shipping", "payment",
           "account", "complaint", "chit_chat", "out_of_scope"}


def test_shipped_catalog_shape() -> None:
    products = load_products(PRODUCTS_FILE)
    assert len(products) >= 3000
    assert len({p["category"] for p in products}) >= 12
    assert len({p["id"] for p in products}) == len(products)
    for p in products:
        assert {"id", "sku", "title", "brand", "category", "description", "price", "currency", "attributes",
                "in_stock", "stock", "rating", "locale"} <= set(p)
        assert isinstance(p["attributes"], dict) and isinstance(p["in_stock"], bool) and p["price"] > 0
    # varied prose: many distinct opening sentences, not one template
    assert len({p["description"].split(".")[0].split()[0] for p in products}) >= 5
    assert PRODUCTS_FILE.stat().st_size < 3_000_000


def test_shipped_queries_are_labelled_and_resolvable() -> None:
    ids = {p["id"] for p in load_products(PRODUCTS_FILE)}
    docs = {p.stem for p in DOCS_DIR.glob("*.md")}
    assert {"doc-shipping", "doc-returns", "doc-warranty", "doc-payment", "doc-privacy"} <= docs
    dev, test = load_queries(QUERIES_DEV), load_queries(QUERIES_TEST)
    assert len(dev) + len(test) >= 600 and len(dev) > 200 and len(test) > 200
    assert {q["intent"] for q in dev + test} == INTENTS
    for q in dev + test:
        assert set(q["product_ids"]) <= ids and set(q["doc_ids"]) <= docs
        if q["intent"] not in ("chit_chat", "out_of_scope"):
            assert q["product_ids"] or q["doc_ids"]


def test_generator_is_deterministic_and_matches_shipped(tmp_path: Path) -> None:
    make_sample(tmp_path / "a", seed=7)
    assert (tmp_path / "a" / "products.jsonl.gz").read_bytes() == PRODUCTS_FILE.read_bytes()
    assert (tmp_path / "a" / "queries-test.jsonl").read_bytes() == QUERIES_TEST.read_bytes()
    make_sample(tmp_path / "b", seed=8, n_products=300)
    assert load_products(tmp_path / "b" / "products.jsonl.gz")[0] != load_products(PRODUCTS_FILE)[0]


def test_cli_make_sample(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["data", "make-sample", "--out", str(tmp_path), "--seed", "3", "--products", "240"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["products"] == 240
    assert len(load_products(tmp_path / "products.jsonl.gz")) == 240
