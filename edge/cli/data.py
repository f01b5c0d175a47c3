"""``frugal data make-sample``: regenerate the shipped sample e-commerce dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from frugalstack.edge.cli.output import print_json

app = typer.Typer(help="Sample data for trying and measuring frugalstack.", no_args_is_help=True)


@app.command("make-sample")
def make_sample(
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.")],
    seed: Annotated[int, typer.Option(help="Random seed; the shipped data uses 7.")] = 7,
    products: Annotated[int, typer.Option(help="Catalog size.")] = 3000,
) -> None:
    """Write products.jsonl.gz, docs/*.md and queries-{dev,test}.jsonl (deterministic per seed)."""
    from frugalstack.edge.sampledata.make import make_sample as run

    print_json(run(out, seed=seed, n_products=products))
