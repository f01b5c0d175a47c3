"""``frugal edge serve``: the local OpenAI-compatible server for desktop apps."""

from __future__ import annotations

from typing import Annotated

import typer

from frugalstack.edge.cli.output import err_console


def serve(
    host: Annotated[str, typer.Option(help="Address to bind; loopback by default (only this machine).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8088,
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Chat model id to serve (repeatable).")
    ] = None,
    profile: Annotated[str | None, typer.Option(help="Device profile id or YAML path (default: auto).")] = None,
    backend: Annotated[str | None, typer.Option(help="Backend override (default: the model's own).")] = None,
    max_body_kb: Annotated[int, typer.Option(help="Largest accepted request body, KiB.")] = 1024,
    max_tokens_cap: Annotated[
        int | None, typer.Option(help="Largest max_tokens a request may ask for (default: context size).")
    ] = None,
    max_concurrent: Annotated[int, typer.Option(help="Generations running at once.")] = 1,
    max_queue: Annotated[int, typer.Option(help="Requests waiting for a slot; more get 429.")] = 16,
    queue_timeout: Annotated[float, typer.Option(help="Seconds a queued request waits before 503.")] = 60.0,
) -> None:
    """Serve /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models and /health."""
    from frugalstack.edge.catalog import DEFAULT_CHAT_MODEL
    from frugalstack.edge.server.app import serve as run
    from frugalstack.edge.server.models import ServerConfig

    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(f"warning: binding to {host} exposes the model to the network; there is no auth")
    config = ServerConfig(
        host=host,
        port=port,
        models=model or [DEFAULT_CHAT_MODEL],
        profile=profile,
        backend=backend,
        max_body_bytes=max_body_kb * 1024,
        max_tokens_cap=max_tokens_cap,
        max_concurrent=max_concurrent,
        max_queue=max_queue,
        queue_timeout_s=queue_timeout,
    )
    run(config)
