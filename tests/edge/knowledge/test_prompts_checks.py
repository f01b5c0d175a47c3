"""Prompt store versions and the price/stock/attribute checks of answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from frugalstack.edge.knowledge.checks import check_answer
from frugalstack.edge.knowledge.prompts import PromptStore
from frugalstack.edge.knowledge.schema import migrate
from frugalstack.edge.sqlite import connect
from frugalstack.shared.errors import NotFoundError, ValidationError

JACKET = {"id": "p-1", "title": "Northpeak Alta Rain Jacket", "price": 129.99, "currency": "EUR", "in_stock": True,
          "attributes": {"waterproof": True, "colour": "navy", "battery_life_h": 0}}
BOOTS = {"id": "p-2", "title": "Trekker Vista Hiking Boots", "price": 89.5, "currency": "EUR", "in_stock": False,
         "attributes": {"waterproof": False, "colour": "brown"}}
EARBUDS = {"id": "p-3", "title": "Sonix Nova Wireless Earbuds", "price": 59.0, "currency": "EUR", "in_stock": True,
           "attributes": {"battery_life_h": 8, "colour": "black"}}
DOC = {"id": "doc-shipping", "title": "Shipping policy: Delivery costs", "text": "Standard delivery costs €4.95."}


def test_prompt_versions(tmp_path: Path) -> None:
    conn = connect(tmp_path / "p.db", need_extensions=True)
    import sqlite_vec

    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    migrate(conn, dim=4, dtype="float")
    ps = PromptStore(conn)
    ps.ensure_defaults()
    ps.ensure_defaults()
    assert [p.ref for p in ps.list()] == ["rag-answer@1"]
    v2 = ps.add("rag-answer", "Facts: {context}\nQ: {question}\nA:")
    assert v2.ref == "rag-answer@2" and v2.variables == ["context", "question"]
    assert ps.add("rag-answer", "Facts: {context}\nQ: {question}\nA:").version == 2  # same hash: no copy
    assert ps.get("rag-answer").version == 2 and ps.get("rag-answer@1").version == 1
    assert ps.get("rag-answer@2").render(context="c", question="q") == "Facts: c\nQ: q\nA:"
    with pytest.raises(ValidationError):
        v2.render(context="only")
    with pytest.raises(NotFoundError):
        ps.get("rag-answer@9")


@pytest.mark.parametrize(
    ("answer", "kinds"),
    [
        ("The Northpeak Alta Rain Jacket costs €129.99 and is waterproof.", []),
        ("The Northpeak Alta Rain Jacket costs €99.99.", ["PRICE_MISMATCH"]),
        ("The Trekker Vista Hiking Boots are in stock.", ["STOCK_MISMATCH"]),
        ("Sorry, the Trekker Vista Hiking Boots are out of stock.", []),
        ("The Trekker Vista Hiking Boots are waterproof.", ["ATTRIBUTE_MISMATCH"]),
        ("The Trekker Vista Hiking Boots are not waterproof.", []),
        ("The Sonix Nova Wireless Earbuds last 20 hours.", ["ATTRIBUTE_MISMATCH"]),
        ("The Sonix Nova Wireless Earbuds come in white.", ["ATTRIBUTE_MISMATCH"]),
        ("The Sonix Nova Wireless Earbuds last 8 hours and cost 59.00 EUR.", []),
        ("Standard delivery costs €4.95.", []),
    ],
)
def test_checks(answer: str, kinds: list[str]) -> None:
    assert [f.kind for f in check_answer(answer, [JACKET, BOOTS, EARBUDS, DOC])] == kinds


def test_uncited_price() -> None:
    assert [f.kind for f in check_answer("That costs $150.", [])] == ["UNCITED_PRICE"]
