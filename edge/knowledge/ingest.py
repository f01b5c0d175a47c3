"""Ingest product JSONL (plain or gzip) and markdown documents into a knowledge store.

A malformed line is reported with its file and line number and skipped; the rest still ingests. Each batch
is one transaction, so an interruption never leaves a half-written item.
"""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from pydantic import ValidationError as PydanticError

from frugalstack.edge.knowledge.store import Item, KnowledgeStore
from frugalstack.shared.errors import NotFoundError
from frugalstack.shared.jsonl import json_object


class ProductIn(BaseModel):
    """The fields every ingested product needs; any others are kept in the record."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str
    category: str
    price: float = Field(ge=0)
    currency: str = Field(min_length=1)
    attributes: dict[str, Any]
    in_stock: StrictBool
    brand: str | None = None


@dataclass
class LineError:
    path: str
    line: int
    error: str


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    embedded: int = 0
    errors: list[LineError] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("added", "updated", "unchanged", "deleted", "embedded")}
        d["errors"] = [e.__dict__ for e in self.errors]
        d["seconds"] = round(self.seconds, 3)
        return d


def _attr_text(attrs: dict[str, Any]) -> str:
    return "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in attrs.items())


def product_item(p: ProductIn) -> Item:
    rec = p.model_dump()
    text = f"{p.brand + '. ' if p.brand else ''}{p.category}. {p.description} {_attr_text(p.attributes)}".strip()
    return Item(
        id=p.id, kind="product", title=p.title, text=text, record=rec, doc_id=p.id, category=p.category,
        brand=p.brand, price=p.price, currency=p.currency, in_stock=p.in_stock, attributes=p.attributes,
    )


def doc_items(doc_id: str, markdown: str) -> list[Item]:
    """One item per ``##`` section, titled ``Doc title: Section``, so answers cite a small passage."""
    title_m = re.search(r"^#\s+(.+)$", markdown, re.M)
    title = title_m.group(1).strip() if title_m else doc_id
    sections = re.split(r"^##\s+", markdown, flags=re.M)
    items = []
    for n, sec in enumerate(sections[1:] or [markdown], start=1):
        head, _, body = sec.partition("\n")
        if not sections[1:]:
            head, body = title, re.sub(r"^#\s+.+$", "", markdown, flags=re.M)
        body = " ".join(body.split())
        if not body:
            continue
        items.append(
            Item(id=f"{doc_id}#{n}", kind="doc", title=f"{title}: {head.strip()}", text=body,
                 record={"doc_id": doc_id, "section": head.strip(), "title": title}, doc_id=doc_id)
        )
    return items


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Raw lines: each is decoded on its own, so one bad byte costs one line, not the whole file."""
    opener: Callable[..., Any] = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        yield from enumerate(fh, start=1)


def _sources(src: Path) -> tuple[list[Path], list[Path]]:
    if not src.exists():
        raise NotFoundError(f"{src} does not exist")
    if src.is_file():
        return ([], [src]) if src.suffix == ".md" else ([src], [])
    jsonl = sorted(p for p in src.rglob("*") if p.name.endswith((".jsonl", ".jsonl.gz")) and "queries" not in p.name)
    return jsonl, sorted(src.rglob("*.md"))


def ingest(
    store: KnowledgeStore,
    src: str | Path,
    *,
    batch_size: int = 256,
    progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest a products file, a markdown file, or a folder of both (``queries*`` files are skipped)."""
    start = time.perf_counter()
    report = IngestReport()
    products, docs = _sources(Path(src))

    def flush(batch: list[Item]) -> None:
        if batch:
            s = store.upsert(batch)
            for key in ("added", "updated", "unchanged", "embedded"):
                setattr(report, key, getattr(report, key) + s[key])
            if progress:
                progress(len(batch))
            batch.clear()

    batch: list[Item] = []
    for path in products:
        for lineno, raw in _lines(path):
            if not raw.strip():
                continue
            try:
                obj = json_object(raw)
                if obj.get("_deleted") is True:
                    flush(batch)
                    report.deleted += store.delete([str(obj["id"])])
                    continue
                batch.append(product_item(ProductIn.model_validate(obj)))
            except (ValueError, KeyError, RecursionError, PydanticError) as exc:
                msg = str(exc).splitlines()
                report.errors.append(LineError(str(path), lineno, " ".join(m.strip() for m in msg[:3])))
                continue
            if len(batch) >= batch_size:
                flush(batch)
    flush(batch)
    for path in docs:
        batch.extend(doc_items(path.stem, path.read_text(encoding="utf-8")))
    flush(batch)
    report.seconds = time.perf_counter() - start
    return report
