"""Entry point of the ``frugal`` CLI.

Errors from the shared hierarchy become one readable line on stderr and a non-zero exit code
(``FrugalError.exit_code``); tracebacks are reserved for real bugs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from frugalstack.edge.cli import bench, edge_group, models, profile
from frugalstack.edge.cli.chat import chat
from frugalstack.edge.cli.output import err_console

app = typer.Typer(
    name="frugal",
    help="frugalstack: small language models on the device, the cloud only when it pays.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("chat")(chat)
app.add_typer(models.app, name="models")
app.add_typer(profile.app, name="profile")
app.add_typer(bench.app, name="bench")
app.add_typer(edge_group.app, name="edge")
app.command("optimize")(__import__("frugalstack.edge.cli.optimize", fromlist=["optimize"]).optimize)
profile.app.command("plan")(__import__("frugalstack.edge.cli.optimize", fromlist=["plan"]).plan)
app.add_typer(__import__("frugalstack.edge.cli.guard", fromlist=["app"]).app, name="guard")
app.add_typer(__import__("frugalstack.cloud.cli", fromlist=["app"]).app, name="cloud")  # typer only at import
app.add_typer(__import__("frugalstack.edge.cli.route", fromlist=["app"]).app, name="route")
app.add_typer(__import__("frugalstack.edge.cli.eval", fromlist=["app"]).app, name="eval")
app.add_typer(__import__("frugalstack.edge.cli.data", fromlist=["app"]).app, name="data")
app.add_typer(__import__("frugalstack.edge.cli.fl", fromlist=["app"]).app, name="fl")
app.add_typer(__import__("frugalstack.edge.cli.distill", fromlist=["app"]).app, name="distill")
app.add_typer(__import__("frugalstack.edge.cli.features", fromlist=["app"]).app, name="features")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"frugalstack {version('frugalstack')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """frugalstack: small language models on the device, the cloud only when it pays."""


@app.command("demo")
def demo(
    out: Annotated[Path | None, typer.Option(
        help="Directory for the cloud's data, the devices and the report "
        "(default: ~/.local/share/frugalstack/demo).")] = None,
    devices: Annotated[int, typer.Option(min=1, max=8, help="Simulated devices in the fleet.")] = 3,
    queries: Annotated[int, typer.Option(min=1, max=50, help="Sample queries each device answers.")] = 6,
    max_tokens: Annotated[int, typer.Option(min=8, help="Most tokens per answer.")] = 48,
    cloud: Annotated[bool, typer.Option(help="Run the whole loop; --no-cloud answers on the device only.")] = True,
    federated: Annotated[bool, typer.Option(help="Run the federated round of the router head.")] = True,
    distill: Annotated[bool, typer.Option(help="Also run a tiny distillation (minutes on 2 cores).")] = False,
    keep_serving: Annotated[bool, typer.Option(help="Keep the cloud and its dashboard up until Ctrl-C.")] = False,
) -> None:
    """Run the edge <-> cloud <-> federated loop on the embedded models and write a report (report.md)."""
    from frugalstack.edge.demo import run_demo

    run_demo(out, devices=devices, queries=queries, max_tokens=max_tokens, cloud=cloud, federated=federated,
             distill=distill, keep_serving=keep_serving)


def main() -> None:
    from frugalstack.shared.errors import FrugalError

    try:
        app()
    except FrugalError as exc:
        err_console.print(f"[bold red]error[/bold red] ({exc.code}): {exc.message}", highlight=False)
        if exc.hint:
            err_console.print(f"hint: {exc.hint}", highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
