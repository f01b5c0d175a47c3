"""openai_compatible against a real OpenAI-compatible server (our own uvicorn), and the mlc error."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from frugalstack.edge.backends import create_backend
from frugalstack.edge.backends.base import FinishEvent, GenerationRequest, TokenEvent
from frugalstack.edge.catalog import ModelSpec, RemoteEndpoint
from frugalstack.edge.profiles import RuntimeSettings
from frugalstack.shared.errors import MissingDependencyError, UnknownModelError, UpstreamError
from frugalstack.shared.schemas import ChatMessage

MODEL = "smollm2-135m-instruct-q4_1"
SETTINGS = RuntimeSettings(threads=2, context_size=2048, memory_budget_mb=2048)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    from frugalstack.edge.server.app import create_app
    from frugalstack.edge.server.models import ServerConfig
    from frugalstack.edge.settings import EdgeSettings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    import yaml

    from frugalstack.edge.profiles import detect_profile

    home = tmp_path_factory.mktemp("remote-home")
    prof = detect_profile().model_dump(mode="json")
    prof["runtime"]["threads"] = 1  # llama.cpp's spinning threads crawl when the shared CPUs are busy
    (home / "one-thread.yaml").write_text(yaml.safe_dump(prof))
    app = create_app(ServerConfig(port=port, embedding_models=[], profile=str(home / "one-thread.yaml")),
                     EdgeSettings(home=home, telemetry=False))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    thread.join(timeout=10)


def spec_for(url: str, model: str = MODEL) -> ModelSpec:
    return ModelSpec(id="remote-smollm2", task="chat", format="remote", backend="openai_compatible",
                     source=RemoteEndpoint(base_url=url, model=model))


def events(backend, request: GenerationRequest) -> tuple[str, list[TokenEvent], FinishEvent]:
    evs = list(backend.generate(request))
    toks = [e for e in evs if isinstance(e, TokenEvent)]
    return "".join(e.text for e in toks), toks, evs[-1]


def test_chat_and_completion_through_remote(server_url: str, runtime) -> None:
    backend = create_backend("openai_compatible")
    backend.load(Path("/dev/null"), spec_for(server_url), SETTINGS)
    text, _, fin = events(backend, GenerationRequest(messages=[ChatMessage(role="user", content="Name a fruit.")],
                                                     max_tokens=10))
    local = runtime.chat("Name a fruit.", max_tokens=10)
    assert text == local.text  # same model, greedy: the remote answer is the local one
    assert fin.usage.output_tokens == local.usage.output_tokens and fin.usage.input_tokens > 0
    text, toks, _ = events(backend, GenerationRequest(prompt="The capital of France is", max_tokens=4, logprobs=True,
                                                      top_logprobs=2))
    lps = [e for e in toks if e.logprob is not None]
    assert text and len(lps) == 4 and all(len(e.top_logprobs) == 2 for e in lps)
    backend.close()


def test_stop_seed_and_json_schema_pass_through(server_url: str) -> None:
    backend = create_backend("openai_compatible")
    backend.load(Path("/dev/null"), spec_for(server_url), SETTINGS)
    req = GenerationRequest(prompt="Count: 1, 2, 3,", max_tokens=20, stop=["6"])
    text, _, fin = events(backend, req)
    assert "6" not in text and fin.reason == "stop"
    sampled = GenerationRequest(prompt="Colors:", max_tokens=8, temperature=1.2, seed=5)
    assert events(backend, sampled)[0] == events(backend, sampled)[0]
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    text, _, _ = events(backend, GenerationRequest(messages=[ChatMessage(role="user", content="JSON please")],
                                                   max_tokens=20, json_schema=schema))
    assert isinstance(json.loads(text)["ok"], bool)
    backend.close()


def test_remote_errors_are_mapped(server_url: str) -> None:
    backend = create_backend("openai_compatible")
    backend.load(Path("/dev/null"), spec_for(server_url, model="not-served"), SETTINGS)
    with pytest.raises(UnknownModelError):
        list(backend.generate(GenerationRequest(prompt="hi", max_tokens=2)))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    backend.load(Path("/dev/null"), spec_for(f"http://127.0.0.1:{dead}/v1"), SETTINGS)
    with pytest.raises(UpstreamError, match="cannot reach"):
        list(backend.generate(GenerationRequest(prompt="hi", max_tokens=2)))


def test_runtime_over_remote_catalogue_style_spec(server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from frugalstack.edge import catalog
    from frugalstack.edge.runtime import Runtime

    monkeypatch.setitem(catalog.CATALOG, "remote-smollm2", spec_for(server_url))
    with Runtime("remote-smollm2", profile="laptop-x86", telemetry=False) as rt:
        reply = rt.chat("Say hi.", max_tokens=5)
        assert reply.backend == "openai_compatible" and reply.text and reply.usage.output_tokens <= 5
        assert "".join(rt.stream("Say hi.", max_tokens=5)) == reply.text


def test_mlc_without_mlc_llm_says_where_to_get_it() -> None:
    backend = create_backend("mlc")
    with pytest.raises(MissingDependencyError, match=r"mlc\.ai/wheels") as info:
        backend.load(Path("/nonexistent"), spec_for("http://x"), SETTINGS)
    assert "not on PyPI" in str(info.value)
