"""``frugal models``: the model catalogue."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from frugalstack.edge.cli.output import console, print_json

app = typer.Typer(help="The model catalogue and where each model's weights are.", no_args_is_help=True)


@app.command("list")
def list_models(json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List catalogue models and whether their weights are on this machine."""
    from frugalstack.edge.catalog import list_models as catalog_models
    from frugalstack.edge.catalog import resolve_path
    from frugalstack.shared.errors import FrugalError

    rows = []
    for spec in catalog_models():
        try:
            where, available = str(resolve_path(spec)), True
        except FrugalError as exc:
            where, available = str(exc), False
        rows.append({**spec.model_dump(mode="json", exclude={"source"}), "source": spec.source.kind,
                     "available": available, "location": where})
    if json_out:
        print_json(rows)
        return
    table = Table(title="frugalstack models")
    for col in ("id", "task", "format", "quant", "params (M)", "backend", "available", "source"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["id"], r["task"], r["format"], r["quantization"] or "-", str(r["parameters_m"] or "-"),
                      r["backend"], "yes" if r["available"] else "no", r["source"])
    console.print(table)
