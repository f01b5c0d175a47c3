"""``frugal guard``: check a text against the guard rails, evaluate them, retrain their heads."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from frugalstack.edge.cli.output import console, print_json

app = typer.Typer(help="Guardrails: PII, prompt injection, toxicity, scope, grounding.", no_args_is_help=True)

PolicyOpt = Annotated[Path | None, typer.Option("--policy", help="Policy YAML, or a shipped one: default, runtime.")]


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _read_json(path: Path | None, what: str) -> Any:
    if path is None:
        return None
    from frugalstack.shared.errors import ConfigError

    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {what} from {path}: {exc}") from exc


@app.command("check")
def check(
    text: Annotated[str, typer.Argument(help="Text to check; '-' reads raw bytes from stdin.")],
    policy: PolicyOpt = None,
    output: Annotated[bool, typer.Option("--output", help="Check as a model answer (output rails).")] = False,
    rails: Annotated[str | None, typer.Option(help="Comma-separated rails to run (default: the policy's).")] = None,
    citations: Annotated[Path | None, typer.Option(help="JSON list of cited records (grounding).")] = None,
    schema: Annotated[Path | None, typer.Option(help="JSON schema the answer must follow.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Run the rails on TEXT and print the verdict: action, redacted text, findings."""
    _offline()
    from frugalstack.edge.guard.pipeline import GuardPipeline

    raw: str | bytes = sys.stdin.buffer.read() if text == "-" else text
    guard = GuardPipeline(policy)
    selected = [r.strip() for r in rails.split(",") if r.strip()] if rails else None
    if output:
        verdict = guard.check_output(
            raw,
            citations=_read_json(citations, "citations"),
            json_schema=_read_json(schema, "the JSON schema"),
            rails=selected,
        )
    else:
        verdict = guard.check_input(raw, rails=selected)
    if json_out:
        print_json(verdict.public())
        return
    colour = {"allow": "green", "redact": "yellow", "escalate": "magenta", "block": "red"}[verdict.action]
    console.print(
        f"[bold {colour}]{verdict.action}[/]  ({verdict.latency_ms:.1f} ms, rails: {', '.join(verdict.rails)})"
    )
    if verdict.message and not verdict.allowed:
        console.print(f"message: {verdict.message}", highlight=False)
    console.print(f"text: {verdict.redacted_text}", highlight=False, markup=False)
    for f in verdict.findings:
        console.print(
            f"  {f.rail}:{f.type} [{f.start}:{f.end}] score={f.score:.2f} -> {f.action}"
            + (f"  ({f.detail})" if f.detail else ""),
            highlight=False,
            markup=False,
        )


@app.command("eval")
def eval_cmd(
    policy: PolicyOpt = None,
    cases: Annotated[Path | None, typer.Option("--set", help="Labelled JSONL set (default: the shipped one).")] = None,
    show_errors: Annotated[bool, typer.Option("--errors", help="List every miss and false positive.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Precision/recall/F1 per rail and the false-positive rate on benign traffic."""
    _offline()
    from frugalstack.edge.guard.evaluate import evaluate, load_cases
    from frugalstack.edge.guard.pipeline import GuardPipeline

    report = evaluate(GuardPipeline(policy).warm(), load_cases(cases))
    errors = report.pop("errors")
    if json_out:
        print_json({**report, **({"errors": errors} if show_errors else {})})
        return
    table = Table(title=f"guard eval: {report['cases']} cases, policy {report['policy']}")
    for col in ("rail", "precision", "recall", "F1", "tp", "fp", "fn"):
        table.add_column(col, justify="left" if col == "rail" else "right")
    for name, m in report["per_rail"].items():
        table.add_row(
            name,
            f"{m['precision']:.3f}",
            f"{m['recall']:.3f}",
            f"{m['f1']:.3f}",
            str(m["tp"]),
            str(m["fp"]),
            str(m["fn"]),
        )
    console.print(table)
    console.print(
        f"benign inputs: {report['benign_inputs']}, false-positive rate {report['benign_input_fp_rate']:.2%}"
        f" (by rail: {report['benign_fp_by_rail']}); benign outputs: {report['benign_outputs']}, "
        f"FP rate {report['benign_output_fp_rate']:.2%}; {report['ms_per_case']} ms/case"
    )
    for name, h in report["classifier_heads"].items():
        console.print(
            f"head {name}: trained on {h['n_train']}, 5-fold CV precision {h['cv_precision']:.3f} "
            f"recall {h['cv_recall']:.3f} F1 {h['cv_f1']:.3f}"
        )
    if show_errors:
        for e in errors:
            console.print(f"  {e['kind']} {e['rail']} {e['id']}: {e['text']}", highlight=False, markup=False)


@app.command("train")
def train(
    out: Annotated[
        Path | None, typer.Option(help="Where to write heads.json (default: the installed package data).")
    ] = None,
) -> None:
    """Refit the injection and scope heads on the shipped training sets (seconds)."""
    _offline()
    from frugalstack.edge.guard.heads import train_all

    for name, head in train_all(out).items():
        console.print(
            f"{name}: {head.n_train} examples, {len(head.classes)} classes, CV {head.metrics}", highlight=False
        )
