"""Settings: embedded default, production refusal without a secret, database URL variable, migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from frugalstack.cloud.settings import CloudSettings
from frugalstack.shared.errors import ConfigError


def test_embedded_default_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    s = CloudSettings(data_dir=tmp_path)
    assert s.url == f"sqlite:///{tmp_path / 'cloud.db'}"
    secret = s.resolve_admin_secret()  # dev mode: generated once, kept private
    assert len(secret) > 40 and (tmp_path / "admin.key").stat().st_mode & 0o077 == 0
    assert CloudSettings(data_dir=tmp_path).resolve_admin_secret() == secret


def test_database_url_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FRUGAL_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("FRUGAL_CLOUD_MODE", "production")
    s = CloudSettings(data_dir=tmp_path)
    assert s.url == "postgresql+psycopg://u@h/db" and s.mode == "production"
    assert s.cors_origins == []


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    from frugalstack.cloud.app import create_app

    with pytest.raises(ConfigError, match="admin secret"):
        create_app(CloudSettings(data_dir=tmp_path, mode="production"))
    with pytest.raises(ConfigError, match="32"):
        create_app(CloudSettings(data_dir=tmp_path, mode="production", admin_secret="short"))
    assert not (tmp_path / "admin.key").exists()
    app = create_app(CloudSettings(data_dir=tmp_path, mode="production", admin_secret="s" * 40))
    assert app.state.cloud.admin_secret == "s" * 40


def test_cli_serve_refuses_production_without_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from frugalstack.edge.cli.main import app

    monkeypatch.delenv("FRUGAL_CLOUD_ADMIN_SECRET", raising=False)
    result = CliRunner().invoke(app, ["cloud", "serve", "--mode", "production", "--data-dir", str(tmp_path)])
    assert result.exit_code != 0 and isinstance(result.exception, ConfigError)


def test_unsupported_database_is_a_config_error() -> None:
    from frugalstack.cloud.db import Database

    with pytest.raises(ConfigError):
        Database("mysql://x@y/z")


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migrations_match_the_models(kind: str, tmp_path: Path, pg_schema_factory: Any) -> None:
    """Alembic at head produces exactly the tables the models declare (nothing to autogenerate)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from frugalstack.cloud.db import Base, Database

    url = (f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{pg_schema_factory()}"
           if kind == "postgres" else f"sqlite:///{tmp_path / 'm.db'}")
    db = Database(url)
    db.migrate()
    db.migrate()  # idempotent
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    db.dispose()
    assert diff == []


def test_importing_the_edge_or_the_cli_does_not_import_the_cloud() -> None:
    import subprocess
    import sys

    code = ("import sys, frugalstack.edge, frugalstack.edge.ota.client, frugalstack.edge.ota.sync, "
            "frugalstack.edge.cli.main; bad = [m for m in ('fastapi', 'sqlalchemy', 'uvicorn', 'alembic') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
