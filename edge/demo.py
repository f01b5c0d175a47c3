"""``make demo`` for the edge runtime: the embedded SmolLM2 answers shop questions on this CPU.

The full edge <-> cloud <-> federated loop grows from here as those parts land.
"""

from __future__ import annotations

import statistics

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
    n_questions: int = 6, max_tokens: int = 96, profile: str | None = None, cloud: bool = True,
    keep_serving: bool = False,
) -> None:
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
    if cloud:
        _cloud_part(console, keep_serving)


def _cloud_part(console: Console, keep_serving: bool) -> None:
    """The control plane on loopback: a device enrols, answers, uploads telemetry; the dashboard URL is printed."""
    import tempfile
    from pathlib import Path

    try:
        from frugalstack.cloud.demo import run_demo as cloud_demo
    except ImportError as exc:
        console.print(f"[yellow]cloud part skipped[/yellow]: {exc} (pip install 'frugalstack[cloud]')")
        return
    console.rule("cloud control plane")
    cloud_demo(Path(tempfile.mkdtemp(prefix="frugal-demo-cloud-")), port=0, questions=2, serve=keep_serving)
