"""One way to run a real uvicorn on 127.0.0.1 for the edge tests (server, reliability, outbox).

Not a test module and not a package (tests have no ``__init__.py`` and run with ``--import-mode=importlib``):
``tests/edge/conftest.py`` loads it once into ``sys.modules`` for the conftests below it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


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
