"""``frugal distill``: large-model -> small-model distillation (the pipeline lives in the cloud package,
imported only when a command runs, so ``import frugalstack.edge`` stays light)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from frugalstack.edge.cli.output import console

app = typer.Typer(help="Distil a teacher into a small student: data, teacher, training, evaluation, export.",
                  no_args_is_help=True)


@app.command("run")
def run(
    config: Annotated[Path, typer.Argument(help="distillation config (YAML); see `frugal distill configs`")],
    workdir: Annotated[Path | None, typer.Option(help="work folder (default $FRUGAL_HOME/distill/<name>)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Run the whole loop; rerunning the same config resumes (teacher cache, last checkpoint)."""
    from frugalstack.cloud.distill.pipeline import run_pipeline

    def show(stage: str, info: dict[str, object]) -> None:
        if stage != "step" and not as_json:
            console.print(f"[bold]{stage}[/bold] " + ", ".join(f"{k}={v}" for k, v in info.items()), highlight=False)

    result = run_pipeline(config, workdir=workdir, on_event=show)
    if as_json:
        typer.echo(json.dumps(result, indent=1, default=str))
        return
    for task, row in result.get("summary", {}).get("tasks", {}).items():
        console.print(f"{task}: student {row['student']:.3f}  teacher {row.get('teacher', 0):.3f}  "
                      f"base {row.get('base', 0):.3f}  target met: {row['meets_target']}")
    console.print(f"result: {result['workdir']}/result.json")


@app.command("configs")
def configs() -> None:
    """List the shipped example configs (copy one and edit it)."""
    from frugalstack.cloud.distill import CONFIGS_DIR

    for path in sorted(CONFIGS_DIR.glob("*.yaml")):
        console.print(str(path))


@app.command("sample-data")
def sample_data(out: Annotated[Path, typer.Argument(help="JSONL file to write")]) -> None:
    """Write the shipped sample (intents + catalogue) as JSONL, ready to upload as a dataset version."""
    from frugalstack.cloud.distill.data import write_sample_jsonl

    write_sample_jsonl(out)
    console.print(f"wrote {out}")
