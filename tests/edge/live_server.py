"""One way to run a real uvicorn on 127.0.0.1 for the edge tests (server, reliability, outbox).

Not a test module and not a package (tests have no ``__init__.py`` and run with ``--import-mode=importlib``):
conftests load it with ``load()`` below, which keeps one copy in ``sys.modules``.
"""

from __future__ import annotations

import importlib.util
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

MODULE_NAME = "frugal_tests_live_server"


def load() -> ModuleType:
    """This module, imported once by file path (what the conftests call)."""
    if MODULE_NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(MODULE_NAME, Path(__file__))
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[MODULE_NAME] = module
        spec.loader.exec_module(module)
    return sys.modules[MODULE_NAME]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_app(app: Any, port: int | None = None, start_timeout: float = 60.0) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a thread on 127.0.0.1 (a free port unless given); yields the base URL."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def one_thread_profile(folder: Path) -> Path:
    """The host profile with one llama.cpp thread: its spinning threads crawl when the shared CPUs are busy."""
    import yaml

    from frugalstack.edge.profiles import detect_profile

    data = detect_profile().model_dump(mode="json")
    data["runtime"]["threads"] = 1
    path = folder / "one-thread.yaml"
    path.write_text(yaml.safe_dump(data))
    return path
