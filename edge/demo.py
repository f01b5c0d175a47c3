"""``make demo`` / ``frugal demo``: the whole edge <-> cloud <-> federated loop, or the edge alone.

The loop lives in ``frugalstack.cloud.demo`` and is imported only when it runs, so ``import
frugalstack.edge`` never pulls in the cloud. ``--no-cloud`` (or an install without the cloud extra) answers
shipped questions on the embedded SmolLM2 alone and prints a latency table.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

QUESTIONS = [
    "Is the blue backpack waterproof?",
    "What is your return policy for shoes?",
    "Do you ship to Canada, and how long does it take?",
    "Can I pay with PayPal?",
    "Which running shoes are good for flat feet?",
    "My order arrived damaged. What should I do?",
    "Does the espresso machine come with a warranty?",
    "Recommend a gift for a ten-year-old who likes science.",
]

SYSTEM = "You are a helpful shop assistant. Answer in two sentences or fewer."


def run_demo(
    out: Path | None = None, *, devices: int = 3, queries: int = 6, max_tokens: int = 48, cloud: bool = True,
    keep_serving: bool = False, federated: bool = True, distill: bool = False,
) -> None:
    """The full loop into ``out`` (default ``~/.local/share/frugalstack/demo``); edge-only without the cloud."""
    console = Console()
    if cloud:
        try:
            from frugalstack.cloud.demo import run_demo as full_demo
        except ImportError as exc:
            console.print(f"[yellow]cloud part skipped[/yellow]: {exc} (pip install 'frugalstack[cloud,fl]')")
        else:
            from frugalstack.edge.settings import default_home

            full_demo(Path(out or default_home() / "demo"), devices=devices, queries=queries, max_tokens=max_tokens,
                      keep_serving=keep_serving, federated=federated, distill=distill, console=console)
            return
    run_edge_only(n_questions=queries, max_tokens=max_tokens)


def run_edge_only(n_questions: int = 6, max_tokens: int = 96, profile: str | None = None) -> None:
    """The embedded SmolLM2 answers shipped shop questions on this CPU; a latency table follows."""
    from frugalstack.edge.runtime import Runtime

    console = Console()
    questions = QUESTIONS[: max(1, min(n_questions, len(QUESTIONS)))]
    with console.status("loading the embedded SmolLM2-135M-Instruct (Q4_1, llama.cpp)..."):
        rt = Runtime(profile=profile)
    console.print(
        f"model [bold]{rt.model_id}[/bold] on [bold]{rt.backend_name}[/bold], profile [bold]{rt.profile.id}[/bold] "
        f"({rt.profile.runtime.threads} threads, context {rt.context_size})"
    )
    rows = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("answering", total=len(questions))
        for q in questions:
            reply = rt.chat(q, system=SYSTEM, max_tokens=max_tokens)
            rows.append((q, reply))
            console.print(f"\n[bold cyan]Q:[/bold cyan] {q}\n[bold green]A:[/bold green] {reply.text.strip()}")
            progress.advance(task)
    rt.close()

    table = Table(title="edge answers on this machine")
    for col in ("question", "in tok", "out tok", "TTFT ms", "latency ms", "decode tok/s"):
        table.add_column(col, justify="left" if col == "question" else "right")
    for q, r in rows:
        table.add_row(q[:48], str(r.usage.input_tokens), str(r.usage.output_tokens), f"{r.ttft_ms or 0:.0f}",
                      f"{r.latency_ms:.0f}", f"{r.tokens_per_s or 0:.1f}")
    ttfts = [r.ttft_ms or 0.0 for _, r in rows]
    tps = [r.tokens_per_s for _, r in rows if r.tokens_per_s]
    table.add_row("[bold]median[/bold]", "", "", f"{statistics.median(ttfts):.0f}",
                  f"{statistics.median(r.latency_ms for _, r in rows):.0f}",
                  f"{statistics.median(tps):.1f}" if tps else "-")
    console.print()
    console.print(table)
    console.print("[dim]Traces (no raw text) are in the local telemetry DB; see docs/edge-runtime.md.[/dim]")
