"""``frugal optimize`` (every format from one checkpoint) and ``frugal profile plan`` (pick one for a device)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from frugalstack.edge.cli.output import console, print_json


def optimize(
    model: Annotated[str, typer.Argument(help="Catalogue id, .gguf file or transformers folder.")] = (
        "smollm2-135m-instruct-q4_1"
    ),
    formats: Annotated[
        str, typer.Option(help="Comma-separated formats (torch-fp32, the reference, is always added).")
    ] = "gguf-f16,gguf-q8_0,gguf-q4_k_m,onnx-fp32,onnx-int8,openvino-fp16,openvino-int8,openvino-int4,tflite-int8",
    out: Annotated[Path, typer.Option(help="Output folder for artifacts and reports.")] = Path("optimized"),
    max_ppl_increase: Annotated[
        float, typer.Option(help="Quality gate: reject artifacts whose perplexity rises more than this (0.05 = 5%).")
    ] = 0.05,
    threads: Annotated[int | None, typer.Option(help="Threads for building and measuring.")] = None,
    eval_tokens: Annotated[int, typer.Option(help="Held-out tokens used for perplexity.")] = 512,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Build every format from one checkpoint, measure them side by side, gate them on quality."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from frugalstack.optimizers.pipeline import parse_formats, run_optimize
    from frugalstack.optimizers.report import print_table

    names = parse_formats(formats)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=json_out, disable=json_out) as progress:
        task = progress.add_task("starting", total=len(names))

        def on_step(name: str, what: str) -> None:
            if what == "done":
                progress.advance(task)
            progress.update(task, description=f"{name}: {what}")

        report = run_optimize(model, names, out, max_ppl_increase=max_ppl_increase, threads=threads,
                              max_eval_tokens=eval_tokens, on_step=on_step)
    if json_out:
        print_json(report)
        return
    print_table(report)
    console.print(f"wrote {out}/manifest.json, report.json, report.md, report.png", highlight=False)


def plan(
    profile: Annotated[str, typer.Argument(help="Device profile id, YAML path, or 'auto'.")],
    manifest: Annotated[Path, typer.Option(help="manifest.json from `frugal optimize` (or its folder).")] = Path(
        "optimized"
    ),
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Pick the best artifact for a device profile from an optimize manifest, and say why."""
    from frugalstack.edge.profiles import get_profile
    from frugalstack.optimizers.plan import load_manifest, plan_for_profile

    result = plan_for_profile(get_profile(profile), load_manifest(manifest))
    if json_out:
        print_json(result)
        return
    choice = result["choice"]
    if choice is None:
        console.print(f"[bold red]no artifact fits profile {result['profile']}[/bold red]")
    else:
        console.print(f"[bold]{result['profile']}[/bold] → [bold green]{choice['format']}[/bold green] on "
                      f"{choice['backend']} ({choice['device']}), {choice['threads']} threads, "
                      f"context {choice['context_size']}", highlight=False)
        for why in choice["why"]:
            console.print(f"  + {why}", highlight=False)
    for c in result["rejected"]:
        console.print(f"  - {c['format']}: {'; '.join(c['why'])}", highlight=False)
