"""``frugal chat``: one question to the edge runtime."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from frugalstack.edge.cli.output import console, print_json


def chat(
    question: Annotated[str, typer.Argument(help="The question; '-' reads it from standard input.")],
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model id or path to a .gguf file.")] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Device profile id, YAML path or 'auto'.")
    ] = None,
    system: Annotated[str | None, typer.Option(help="System prompt.")] = None,
    max_tokens: Annotated[int, typer.Option(help="Most tokens to generate.")] = 256,
    temperature: Annotated[float, typer.Option(help="0 means greedy decoding.")] = 0.0,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling mass.")] = 1.0,
    seed: Annotated[int | None, typer.Option(help="Random seed for sampling.")] = None,
    stop: Annotated[list[str] | None, typer.Option(help="Stop sequence (repeatable).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    stream: Annotated[bool, typer.Option("--stream", help="Print tokens as they come.")] = False,
    db: Annotated[str | None, typer.Option("--db", help="Knowledge DB: answer grounded in it, with citations.")] = None,
) -> None:
    """Ask the on-device model a question."""
    from frugalstack.edge.runtime import Runtime

    if question == "-":
        question = sys.stdin.read()
    params: dict[str, Any] = {
        "max_tokens": max_tokens, "temperature": temperature, "top_p": top_p, "seed": seed, "stop": stop or []
    }
    with Runtime(model, profile=profile) as rt:
        if db is not None:  # grounded answer (frugalstack.edge.knowledge.rag)
            result = rt.ask(question, db=db, **params)
            if json_out:
                print_json(result.to_dict())
            else:
                console.print(result.answer, highlight=False, markup=False)
                console.print(f"[dim]sources: {', '.join(result.cited_ids)}; checks: "
                              f"{[c.kind for c in result.checks] or 'ok'}[/dim]", highlight=False)
            return
        if stream and not json_out:
            s = rt.stream(question, system=system, **params)
            for piece in s:
                sys.stdout.write(piece)
                sys.stdout.flush()
            sys.stdout.write("\n")
            reply = s.reply
            assert reply is not None
            console.print(
                f"[dim]{reply.usage.output_tokens} tokens, TTFT {reply.ttft_ms or 0:.0f} ms, "
                f"{reply.tokens_per_s or 0:.1f} tok/s[/dim]",
                highlight=False,
            )
            return
        if stream:  # --json --stream: one JSON line per piece, then the summary
            s = rt.stream(question, system=system, **params)
            for piece in s:
                print_json({"delta": piece})
            assert s.reply is not None
            print_json(s.reply.to_dict())
            return
        reply = rt.chat(question, system=system, **params)
    if json_out:
        print_json(reply.to_dict())
    else:
        console.print(reply.text, highlight=False, markup=False)
