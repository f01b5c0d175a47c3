"""A real uvicorn on 127.0.0.1 (free port, in a thread) per database: SQLite and the local PostgreSQL.

The PostgreSQL runs get a fresh schema each (``search_path`` in the URL) that is dropped afterwards,
so parallel or repeated runs never collide.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ADMIN = "test-admin-secret-" + "x" * 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cloud:
    """A running server plus helpers to get keys of each role."""

    url: str
    kind: str
    app: Any
    data_dir: Path

    def client(self, key: str | None = ADMIN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def admin(self) -> httpx.Client:
        return self.client(ADMIN)

    def key(self, role: str, name: str | None = None) -> str:
        with self.admin() as c:
            r = c.post("/v1/keys", json={"name": name or f"{role}-{uuid.uuid4().hex[:6]}", "role": role})
            assert r.status_code == 201, r.text
            return str(r.json()["key"])

    def device(self, profile: str = "laptop-x86") -> tuple[str, str]:
        """Enrol a device; returns (device id, device key)."""
        with self.admin() as c:
            token = c.post("/v1/enrolment-tokens", json={"profile": profile}).json()["token"]
            r = c.post("/v1/devices/enrol", json={"token": token, "name": f"dev-{uuid.uuid4().hex[:6]}"})
            assert r.status_code == 201, r.text
            return str(r.json()["device"]["id"]), str(r.json()["api_key"])


def start(settings: Any) -> tuple[Any, Any, threading.Thread]:
    import uvicorn

    from frugalstack.cloud.app import create_app

    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning",
                                           lifespan="on", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    return app, server, thread


def pg_url(schema: str) -> str:
    return f"{PG_BASE}?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def pg_schema_factory() -> Iterator[Any]:
    import psycopg

    made: list[str] = []

    def make() -> str:
        schema = f"cloud_t_{secrets.token_hex(4)}"
        try:
            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
        except psycopg.OperationalError as exc:
            pytest.fail(f"the local PostgreSQL (127.0.0.1:5432, db test) is needed: {exc}")
        made.append(schema)
        return schema

    yield make
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
        for schema in made:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def make_settings(tmp: Path, kind: str, pg_schema_factory: Any, **more: Any) -> Any:
    from frugalstack.cloud.settings import CloudSettings

    url = pg_url(pg_schema_factory()) if kind == "postgres" else None
    fields: dict[str, Any] = {"data_dir": tmp, "database_url": url, "admin_secret": ADMIN, "port": free_port(),
                              "rate_limit_per_minute": 100_000, "rate_limit_burst": 10_000,
                              "gateway_threads": 1, **more}  # one llama.cpp thread: the test machine is shared
    return CloudSettings(**fields)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cloud(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          pg_schema_factory: Any) -> Iterator[Cloud]:
    kind = request.param
    tmp = tmp_path_factory.mktemp(f"cloud-{kind}")
    settings = make_settings(tmp, kind, pg_schema_factory)
    app, server, thread = start(settings)
    yield Cloud(f"http://127.0.0.1:{settings.port}", kind, app, tmp)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def start_cloud(tmp_path: Path, pg_schema_factory: Any) -> Iterator[Any]:
    """Start an extra server with custom settings (SQLite unless kind='postgres')."""
    running: list[tuple[Any, threading.Thread]] = []

    def _start(kind: str = "sqlite", **more: Any) -> Cloud:
        settings = make_settings(tmp_path / f"c{len(running)}", kind, pg_schema_factory, **more)
        app, server, thread = start(settings)
        running.append((server, thread))
        return Cloud(f"http://127.0.0.1:{settings.port}", kind, app, settings.data_dir)

    yield _start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=10)
