"""``frugal bench``: run a benchmark suite, compare two runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Speed, memory, energy, carbon and cost benchmarks.", no_args_is_help=True)


@app.command("run")
def run(
    suite: Annotated[str, typer.Argument(help="Suite YAML path, or a shipped suite: default, quick.")] = "default",
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for results.json, reports and plots.")] = Path(
        "bench-out"
    ),
) -> None:
    """Run every cell of SUITE and write results.json, report.md, report.html and PNG plots."""
    from frugalstack.edge.bench.report import print_table, write_reports
    from frugalstack.edge.bench.runner import run_suite
    from frugalstack.edge.bench.suite import load_suite
    from frugalstack.edge.cli.output import console
    from frugalstack.edge.settings import EdgeSettings

    spec, path = load_suite(suite)
    results = run_suite(spec, path, out, EdgeSettings().home / "bench-models")
    print_table(results, console)
    paths = write_reports(results, out)
    console.print(f"results: {out / 'results.json'}  report: {paths['md']}  html: {paths['html']}")


@app.command("compare")
def compare(
    a: Annotated[Path, typer.Argument(help="Baseline run folder or results.json.")],
    b: Annotated[Path, typer.Argument(help="Run to compare against the baseline.")],
) -> None:
    """Show two runs side by side as ratios B/A, cell by cell."""
    from frugalstack.edge.bench.compare import print_comparison

    print_comparison(a, b)
