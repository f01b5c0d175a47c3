"""A real uvicorn on 127.0.0.1 (free port) serving the embedded SmolLM2, shared by the server tests."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _live_server_helpers() -> ModuleType:
    """tests/edge/live_server.py, shared with tests/edge/reliability (loaded by path: tests are no package)."""
    spec = importlib.util.spec_from_file_location("_live_server_loader", Path(__file__).parents[1] / "live_server.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load()  # type: ignore[no-any-return]


live = _live_server_helpers()


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
