"""``frugal edge``: commands that run the edge side on this device (the local server, ...)."""

from __future__ import annotations

import typer

from frugalstack.edge.cli.serve import serve

app = typer.Typer(help="Run the edge side on this device.", no_args_is_help=True)
app.command("serve")(serve)
app.add_typer(__import__("frugalstack.edge.cli.feedback", fromlist=["app"]).app, name="feedback")
app.command("ingest")(__import__("frugalstack.edge.cli.knowledge", fromlist=["ingest"]).ingest)
app.command("search")(__import__("frugalstack.edge.cli.knowledge", fromlist=["search"]).search)
app.add_typer(__import__("frugalstack.edge.cli.telemetry", fromlist=["app"]).app, name="telemetry")
