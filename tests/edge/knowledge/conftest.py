from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from frugalstack.edge.knowledge.ingest import ingest
from frugalstack.edge.knowledge.store import KnowledgeStore
from frugalstack.edge.sampledata import DOCS_DIR, PRODUCTS_FILE
from frugalstack.edge.sampledata.make import load_products

N_PRODUCTS = 120  # a slice of the catalog keeps embedding time low on a 2-core machine


@pytest.fixture(scope="session")
def products() -> list[dict[str, Any]]:
    return load_products(PRODUCTS_FILE)[:N_PRODUCTS]


@pytest.fixture(scope="session")
def catalog_dir(tmp_path_factory: pytest.TempPathFactory, products: list[dict[str, Any]]) -> Path:
    import json
    import shutil

    d = tmp_path_factory.mktemp("catalog")
    (d / "products.jsonl").write_text("".join(json.dumps(p) + "\n" for p in products))
    shutil.copytree(DOCS_DIR, d / "docs")
    return d


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory, catalog_dir: Path) -> Iterator[KnowledgeStore]:
    s = KnowledgeStore(tmp_path_factory.mktemp("db") / "k.db")
    report = ingest(s, catalog_dir)
    assert not report.errors
    yield s
    s.close()
