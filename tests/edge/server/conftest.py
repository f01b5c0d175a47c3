"""A real uvicorn on 127.0.0.1 (free port) serving the embedded SmolLM2, shared by the server tests."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_thread_profile(folder: Path) -> Path:
    """The host profile with one thread: llama.cpp's spinning threads crawl when the shared CPUs are busy."""
    import yaml

    from frugalstack.edge.profiles import detect_profile

    data = detect_profile().model_dump(mode="json")
    data["runtime"]["threads"] = 1
    path = folder / "one-thread.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


class LiveServer:
    def __init__(self, base_url: str, home: Path):
        self.base_url = base_url
        self.home = home


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import uvicorn

    from frugalstack.edge.server.app import create_app
    from frugalstack.edge.server.models import ServerConfig
    from frugalstack.edge.settings import EdgeSettings

    home = tmp_path_factory.mktemp("frugal-home")
    settings = EdgeSettings(home=home, telemetry=True)
    port = free_port()
    config = ServerConfig(port=port, max_body_bytes=64 * 1024, embedding_models=["minilm-l6-v2-int8-onnx"],
                          profile=str(one_thread_profile(home)))
    server = uvicorn.Server(uvicorn.Config(create_app(config, settings), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", home)
    server.should_exit = True
    thread.join(timeout=10)
