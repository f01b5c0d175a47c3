"""``frugal cloud``: serve the control plane, manage API keys, verify the audit log.

Imports of FastAPI, uvicorn and SQLAlchemy stay inside the commands so ``frugal --help`` stays fast and
the edge never pulls them in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from frugalstack.edge.cli.output import err_console, print_json

app = typer.Typer(help="The cloud control plane: serve it, manage API keys, verify the audit log.",
                  no_args_is_help=True)
keys_app = typer.Typer(help="API keys (roles admin, operator, auditor).", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (default: FRUGAL_CLOUD_DATA_DIR).")]
DbUrl = Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL (default: FRUGAL_DATABASE_URL).")]


def _settings(data_dir: Path | None, database_url: str | None, **more: Any) -> Any:
    from frugalstack.cloud.settings import CloudSettings

    fields: dict[str, Any] = {k: v for k, v in more.items() if v is not None}
    if data_dir is not None:
        fields["data_dir"] = data_dir
    if database_url is not None:
        fields["database_url"] = database_url
    return CloudSettings(**fields)


def _state(data_dir: Path | None, database_url: str | None) -> Any:
    from frugalstack.cloud.app import build_state

    return build_state(_settings(data_dir, database_url))


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8080).")] = None,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
    mode: Annotated[str | None, typer.Option(help="dev or production (production needs an admin secret).")] = None,
) -> None:
    """Run the API and dashboard with uvicorn (migrations run first)."""
    import uvicorn

    from frugalstack.cloud.app import create_app

    settings = _settings(data_dir, database_url, host=host, port=port, mode=mode)
    application = create_app(settings)
    where = f"http://{settings.host}:{settings.port}"
    err_console.print(f"frugal cloud on {where} (database: {application.state.cloud.db.dialect}); "
                      f"dashboard: {where}/dashboard; API docs: {where}/docs")
    if not settings.admin_secret:
        err_console.print(f"admin key: in {settings.data_dir / 'admin.key'}")
    uvicorn.run(application, host=settings.host, port=settings.port, log_level="warning", ws="none")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin, operator or auditor.")] = "operator",
    name: Annotated[str, typer.Option(help="Who or what holds the key.")] = "cli",
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Create an API key and print it once (JSON)."""
    from frugalstack.cloud.services import auth
    from frugalstack.shared.errors import ValidationError

    if role not in ("admin", "operator", "auditor"):
        raise ValidationError(f"role must be admin, operator or auditor, not {role!r}",
                              hint="device keys come from enrolment")
    state = _state(data_dir, database_url)
    with state.db.write() as s:
        row, secret = auth.create_key(s, auth.Principal("cli", "admin", "cli"), name, role)
        print_json({"id": row.id, "name": row.name, "role": row.role, "key": secret})


@keys_app.command("list")
def keys_list(data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """List keys (never their secrets)."""
    from sqlalchemy import select

    from frugalstack.cloud.db.tables_security import ApiKey

    state = _state(data_dir, database_url)
    with state.db.read() as s:
        rows = s.scalars(select(ApiKey).order_by(ApiKey.created_at))
        print_json([{"id": k.id, "name": k.name, "role": k.role, "prefix": k.prefix, "device_id": k.device_id,
                     "revoked": k.revoked_at is not None} for k in rows])


@keys_app.command("revoke")
def keys_revoke(key_id: str, data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """Revoke a key by id."""
    from frugalstack.cloud.services import auth

    state = _state(data_dir, database_url)
    with state.db.write() as s:
        row = auth.revoke_key(s, auth.Principal("cli", "admin", "cli"), key_id)
        print_json({"id": row.id, "revoked_at": row.revoked_at})


@audit_app.command("verify")
def audit_verify(data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """Recompute the hash chain; exit code 8 if any entry was altered, removed or reordered."""
    from frugalstack.cloud.services import audit

    state = _state(data_dir, database_url)
    with state.db.read() as s:
        result = audit.verify(s)
    print_json(result.__dict__)
    if not result.ok:
        err_console.print(f"audit chain BROKEN at entry {result.first_bad_seq}: {result.reason}")
        raise typer.Exit(8)
    err_console.print(f"audit chain intact: {result.entries} entries", highlight=False)


@app.command("demo")
def demo(
    port: Annotated[int, typer.Option(help="Port (0: a free one).")] = 8080,
    data_dir: DataDir = None,
    questions: Annotated[int, typer.Option(help="Questions each demo device answers on the embedded model.")] = 3,
    devices: Annotated[int, typer.Option(min=1, max=8, help="Simulated devices in the fleet.")] = 1,
    serve: Annotated[bool, typer.Option(help="Keep serving the dashboard until Ctrl-C.")] = True,
) -> None:
    """The demo loop on a fixed port (default 1 device): cloud, fleet, federated round, report, dashboard URL."""
    import tempfile

    from frugalstack.cloud.demo import run_demo

    home = data_dir or Path(tempfile.mkdtemp(prefix="frugal-cloud-demo-"))
    run_demo(home, port=port, devices=devices, queries=questions, keep_serving=serve)
