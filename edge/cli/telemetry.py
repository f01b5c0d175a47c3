"""``frugal edge telemetry``: the durable outbox of telemetry aggregates (state, and one sync pass)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from frugalstack.edge.cli.output import console, print_json

app = typer.Typer(help="Telemetry aggregates waiting for the cloud (durable outbox).", no_args_is_help=True)

DbOpt = Annotated[Path | None, typer.Option(
    "--db", help="Trace + outbox database (default: FRUGAL_HOME/telemetry.db).")]


def _db(db: Path | None) -> Path:
    from frugalstack.edge.settings import EdgeSettings

    return db or EdgeSettings().telemetry_path


@app.command("status")
def status_cmd(db: DbOpt = None, json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Show pending batches, the oldest one's age, and what was delivered, dropped (cap) or rejected."""
    from frugalstack.edge.outbox import Outbox

    with Outbox(_db(db)) as outbox:
        state = outbox.state()
    if json_out:
        print_json(state)
        return
    for key, value in state.items():
        console.print(f"{key:>20}: {value if value is not None else '-'}", highlight=False)


@app.command("sync")
def sync_cmd(
    cloud: Annotated[str, typer.Option("--cloud", envvar="FRUGAL_CLOUD_URL", help="Cloud base URL.")],
    api_key: Annotated[str, typer.Option("--api-key", envvar="FRUGAL_DEVICE_KEY", help="This device's API key.")],
    device_id: Annotated[str, typer.Option("--device-id", envvar="FRUGAL_DEVICE_ID", help="This device's id.")],
    db: DbOpt = None,
    deadline: Annotated[float, typer.Option(min=1.0, help="Give up this pass after so many seconds.")] = 30.0,
    model_version: Annotated[str | None, typer.Option(help="Registry version id the device ran.")] = None,
    keep_shipped_days: Annotated[float | None, typer.Option(
        min=0.0, help="Then delete trace rows the cloud acknowledged more than so many days ago.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Batch unshipped traces into the outbox and send pending batches (kept for later if the cloud fails)."""
    from frugalstack.edge.ota.sync import sync_telemetry
    from frugalstack.edge.outbox import as_dict

    result = sync_telemetry(_db(db), cloud, api_key, device_id, model_version_id=model_version, deadline_s=deadline,
                            keep_shipped_days=keep_shipped_days)
    if json_out:
        print_json(as_dict(result))
        return
    console.print(f"delivered {result.delivered}, already counted {result.duplicates}, rejected {result.rejected}, "
                  f"failed attempts {result.failures}, pending {result.pending}"
                  + (f" (stopped: {result.stopped})" if result.stopped else ""), highlight=False)
