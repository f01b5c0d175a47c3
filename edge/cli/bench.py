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
    upload: Annotated[
        str | None, typer.Option(help="Cloud URL to upload the run to as telemetry (key in FRUGAL_API_KEY).")
    ] = None,
    device_id: Annotated[
        str | None, typer.Option(help="Enrolled device the run is reported for (needed with an operator key).")
    ] = None,
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
    if upload:
        import os

        from frugalstack.edge.bench.upload import upload_results
        from frugalstack.shared.errors import ConfigError

        key = os.environ.get("FRUGAL_API_KEY")
        if not key:
            raise ConfigError("--upload needs an API key in FRUGAL_API_KEY (operator or device role)")
        answer = upload_results(results, upload, key, device_id=device_id)
        console.print(f"uploaded to {upload}: batch {answer.get('batch_id')} accepted={answer.get('accepted')}")


@app.command("compare")
def compare(
    a: Annotated[Path, typer.Argument(help="Baseline run folder or results.json.")],
    b: Annotated[Path, typer.Argument(help="Run to compare against the baseline.")],
) -> None:
    """Show two runs side by side as ratios B/A, cell by cell."""
    from frugalstack.edge.bench.compare import print_comparison

    print_comparison(a, b)
