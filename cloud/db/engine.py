"""Engine, sessions and migrations for SQLite (embedded default) and PostgreSQL (production).

SQLite connections come from ``frugalstack.edge.sqlite.connect`` (WAL, busy timeout); writes are
serialised in-process so SQLite never has to upgrade two readers to writers at once. On PostgreSQL the
audit chain head row lock serialises mutating transactions instead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool, StaticPool

from frugalstack.shared.errors import ConfigError

MIGRATIONS_PACKAGE = "frugalstack.cloud.db"


def _sqlite_engine(database: str) -> Engine:
    from frugalstack.edge.sqlite import connect, sqlite_module

    path = database or ":memory:"
    # The "sqlite://" URL alone picks SingletonThreadPool, which closes a thread's connection once more than
    # five threads used it, while another thread may still run on it: under the uvicorn thread pool that
    # gave "Cannot operate on a closed database" and segfaults. A file gets a real pool; :memory: one shared.
    pool: dict[str, Any] = {"poolclass": StaticPool}
    if path != ":memory:":
        pool = {"poolclass": QueuePool, "pool_size": 8, "max_overflow": 32}
    engine = create_engine("sqlite://", module=sqlite_module(), creator=lambda: connect(path), **pool)

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:  # the driver runs in autocommit; SQLAlchemy owns BEGIN/COMMIT
        conn.exec_driver_sql("BEGIN")

    return engine


class Database:
    """One engine plus a session factory; ``write()`` is the only way to mutate."""

    def __init__(self, url: str):
        try:
            parsed = make_url(url)
        except Exception as exc:
            raise ConfigError(f"invalid database URL {url!r}: {exc}") from exc
        self.url = url
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            self.engine = _sqlite_engine(parsed.database or "")
        elif self.dialect == "postgresql":
            # pre-ping replaces connections a database restart killed; connect_timeout makes an outage fail fast
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10,
                                        connect_args={"connect_timeout": 5})
        else:
            raise ConfigError(f"unsupported database {self.dialect!r}", hint="use sqlite:/// or postgresql+psycopg://")
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = threading.RLock() if self.dialect == "sqlite" else None

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction committed on success and rolled back on any error."""
        with self._write_lock or nullcontext(), self._sessions() as session, session.begin():
            if self.dialect == "postgresql":  # one writer at a time: keeps the audit chain and upserts linear
                session.execute(text("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE"))
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent, run at start-up)."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(migrations_dir()))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def migrations_dir() -> Path:
    return Path(str(resources.files(MIGRATIONS_PACKAGE) / "migrations"))
