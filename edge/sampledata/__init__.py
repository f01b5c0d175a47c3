"""A deterministic sample e-commerce dataset: catalog, policy/FAQ documents and labelled queries.

No e-commerce data ships in an installable package, so the generator lives here and its output is
shipped under ``data/`` (``frugal data make-sample`` regenerates it byte for byte from the seed).
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
PRODUCTS_FILE = DATA_DIR / "products.jsonl.gz"
DOCS_DIR = DATA_DIR / "docs"
QUERIES_DEV = DATA_DIR / "queries-dev.jsonl"
QUERIES_TEST = DATA_DIR / "queries-test.jsonl"
DEFAULT_SEED = 7

__all__ = ["DATA_DIR", "DEFAULT_SEED", "DOCS_DIR", "PRODUCTS_FILE", "QUERIES_DEV", "QUERIES_TEST"]
