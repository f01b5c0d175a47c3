"""``frugal edge ingest`` and ``frugal edge search``: the local knowledge DB from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from frugalstack.edge.cli.output import console, err_console, print_json


def ingest(
    src: Annotated[Path, typer.Argument(help="Products .jsonl/.jsonl.gz, a .md document, or a folder of both.")],
    db: Annotated[Path, typer.Option("--db", help="Knowledge DB file (created if missing).")],
    embedder: Annotated[
        str | None, typer.Option(help="minilm-l6-v2-int8-onnx (no torch, default) or minilm-l6-v2 (torch).")
    ] = None,
    vectors: Annotated[str | None, typer.Option(help="float32 (default) or int8, fixed at creation.")] = None,
    batch_size: Annotated[int, typer.Option(help="Items per transaction.")] = 256,
    delete: Annotated[list[str] | None, typer.Option("--delete", help="Delete this id (repeatable).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Ingest a catalog and documents; unchanged items are not re-embedded; bad lines are reported."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from frugalstack.edge.knowledge.ingest import ingest as run_ingest
    from frugalstack.edge.knowledge.store import KnowledgeStore
    from frugalstack.shared.errors import ValidationError

    if vectors not in (None, "float32", "int8"):
        raise ValidationError(f"--vectors must be float32 or int8, got {vectors!r}")
    with KnowledgeStore(db, embedder=embedder, vector_type=vectors) as store:  # type: ignore[arg-type]
        deleted = store.delete(delete) if delete else 0
        with Progress(TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(), console=err_console,
                      disable=json_out) as bar:
            task = bar.add_task("ingest", total=None)
            report = run_ingest(store, src, batch_size=batch_size, progress=lambda n: bar.advance(task, n))
        report.deleted += deleted
        out = {**report.to_dict(), "db": store.stats()}
    if json_out:
        print_json(out)
        return
    console.print(
        f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, deleted {report.deleted}, "
        f"embedded {report.embedded} in {report.seconds:.1f} s; DB {out['db']['size_bytes'] / 1e6:.1f} MB",
        highlight=False,
    )
    for e in report.errors:
        err_console.print(f"{e.path}:{e.line}: {e.error}", highlight=False, markup=False)
    if report.errors:
        raise typer.Exit(1)


def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    db: Annotated[Path, typer.Option("--db", help="Knowledge DB file.")],
    k: Annotated[int, typer.Option("--k", help="How many results.")] = 10,
    mode: Annotated[str, typer.Option(help="hybrid (RRF), vector or bm25.")] = "hybrid",
    filter_: Annotated[
        list[str] | None,
        typer.Option("--filter", help="category=..., price<=N, price>=N, in_stock=true, kind=doc, colour=red ..."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Search the knowledge DB."""
    from rich.table import Table

    from frugalstack.edge.knowledge.filters import Filters
    from frugalstack.edge.knowledge.store import KnowledgeStore
    from frugalstack.shared.errors import NotFoundError

    if not db.exists():
        raise NotFoundError(f"knowledge DB {db} does not exist", hint="create it with `frugal edge ingest`")
    with KnowledgeStore(db) as store:
        hits = store.search(query, k=k, mode=mode, filters=Filters.parse(filter_))  # type: ignore[arg-type]
    if json_out:
        print_json({"query": query, "mode": mode, "hits": [h.to_dict() for h in hits]})
        return
    table = Table("#", "id", "title", "price", "score", "cosine")
    for n, h in enumerate(hits, 1):
        price = h.record.get("price")
        table.add_row(str(n), h.id, h.title, "" if price is None else f"{price:.2f}", f"{h.score:.4f}",
                      "" if h.vector_score is None else f"{h.vector_score:.3f}")
    console.print(table)
