"""``frugal profile``: device profiles."""

from __future__ import annotations

from typing import Annotated

import typer
import yaml
from rich.table import Table

from frugalstack.edge.cli.output import console, print_json

app = typer.Typer(help="Device profiles: what each class of device can run.", no_args_is_help=True)


@app.command("list")
def list_profiles(json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the shipped device profiles."""
    from frugalstack.edge.profiles import shipped_profiles

    profiles = shipped_profiles()
    if json_out:
        print_json([p.model_dump(mode="json") for p in profiles.values()])
        return
    table = Table(title="device profiles")
    for col in ("id", "class", "RAM GB", "cores", "accelerators", "threads", "ctx", "budget MB", "W idle/active"):
        table.add_column(col)
    for p in profiles.values():
        accel = ", ".join(f"{a.kind}" for a in p.accelerators) or "-"
        table.add_row(p.id, p.device_class, f"{p.ram_gb:g}", str(p.cpu.cores), accel, str(p.runtime.threads),
                      str(p.runtime.context_size), str(p.runtime.memory_budget_mb),
                      f"{p.power_w.idle:g}/{p.power_w.active:g}")
    console.print(table)


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Profile id or path to a YAML file.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one profile in full."""
    from frugalstack.edge.profiles import get_profile

    prof = get_profile(name)
    data = prof.model_dump(mode="json")
    if json_out:
        print_json(data)
    else:
        console.print(yaml.safe_dump(data, sort_keys=False), highlight=False, markup=False)


@app.command("detect")
def detect(json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Build a profile for this host (RAM, cores, ISA features, runtimes)."""
    from frugalstack.edge.profiles import detect_profile

    data = detect_profile().model_dump(mode="json")
    if json_out:
        print_json(data)
    else:
        console.print(yaml.safe_dump(data, sort_keys=False), highlight=False, markup=False)
