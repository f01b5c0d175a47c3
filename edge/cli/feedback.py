"""``frugal edge feedback``: inspect, purge and export the local feedback store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from frugalstack.edge.cli.output import console, print_json

if TYPE_CHECKING:
    from frugalstack.edge.feedback.store import FeedbackStore

app = typer.Typer(help="The local feedback store (explicit + implicit feedback, consent-gated).", no_args_is_help=True)

DbOpt = Annotated[Path | None, typer.Option("--db", help="Feedback database (default: FRUGAL_HOME/feedback.db).")]


def _open(db: Path | None, retention_days: float | None = None) -> FeedbackStore:
    from frugalstack.edge.feedback.store import FeedbackStore
    from frugalstack.edge.settings import EdgeSettings

    path = db or EdgeSettings().home / "feedback.db"
    return FeedbackStore(path, retention_days=retention_days or 90.0)


@app.command("list")
def list_cmd(
    db: DbOpt = None,
    limit: Annotated[int, typer.Option(help="Most events to show.")] = 50,
    trace: Annotated[str | None, typer.Option(help="Only events of this trace id.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the newest stored feedback events (only users who consented have any)."""
    with _open(db) as store:
        rows = store.list(limit=limit, trace_id=trace)
    if json_out:
        print_json(rows)
        return
    for r in rows:
        what = ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("kind", "id", "trace_id", "created_at"))
        console.print(f"{r['kind']:8} {r['trace_id'][:12]}  {what}", highlight=False, markup=False)
    if not rows:
        console.print("no stored feedback")


@app.command("purge")
def purge_cmd(
    db: DbOpt = None,
    older_than_days: Annotated[float | None, typer.Option(help="Delete events older than this (default: retention).")]
    = None,
    user: Annotated[str | None, typer.Option(help="Delete every event of this user id instead.")] = None,
    retention_days: Annotated[float | None, typer.Option(help="Retention window of the store.")] = None,
) -> None:
    """Delete feedback past the retention window, older than N days, or of one user."""
    with _open(db, retention_days) as store:
        n = store.purge(older_than_days=older_than_days, user_id=user)
    console.print(f"purged {n} rows")


@app.command("export")
def export_cmd(
    db: DbOpt = None,
    out: Annotated[Path | None, typer.Option(help="Write the JSON here instead of stdout.")] = None,
) -> None:
    """Aggregates only (counts, rates, rating histogram) for the cloud; no ids, no text."""
    import json

    with _open(db) as store:
        data = store.export()
    if out is None:
        print_json(data)
    else:
        out.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
        console.print(f"wrote {out}")


@app.command("consent")
def consent_cmd(
    user: Annotated[str, typer.Argument(help="User id.")],
    grant: Annotated[bool, typer.Option("--grant/--revoke", help="Grant or revoke (revoking deletes their rows).")],
    db: DbOpt = None,
) -> None:
    """Record a user's consent to store feedback beyond counters."""
    with _open(db) as store:
        store.set_consent(user, grant)
    console.print(f"consent for {user}: {'granted' if grant else 'revoked (rows deleted)'}")
