"""A real uvicorn on 127.0.0.1 (free port) serving the embedded SmolLM2, shared by the server tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

live = sys.modules["frugal_tests_live_server"]  # loaded by tests/edge/conftest.py


class LiveServer:
    def __init__(self, base_url: str, home: Path):
        self.base_url = base_url
        self.home = home


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from frugalstack.edge.server.app import create_app
    from frugalstack.edge.server.models import ServerConfig
    from frugalstack.edge.settings import EdgeSettings

    home = tmp_path_factory.mktemp("frugal-home")
    settings = EdgeSettings(home=home, telemetry=True)
    port = live.free_port()
    config = ServerConfig(port=port, max_body_bytes=64 * 1024, embedding_models=["minilm-l6-v2-int8-onnx"],
                          profile=str(live.one_thread_profile(home)))
    with live.serve_app(create_app(config, settings), port=port) as base_url:
        yield LiveServer(base_url, home)
