"""A real cloud (uvicorn on 127.0.0.1, SQLite) for the over-the-air client to talk to."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ADMIN = "ota-admin-secret-" + "y" * 32


@pytest.fixture(scope="module")
def ota_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    import uvicorn

    from frugalstack.cloud.app import create_app
    from frugalstack.cloud.settings import CloudSettings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp: Path = tmp_path_factory.mktemp("ota-cloud")
    app = create_app(CloudSettings(data_dir=tmp, admin_secret=ADMIN, port=port))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(timeout=10)
