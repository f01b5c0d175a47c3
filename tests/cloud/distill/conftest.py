"""A tiny Llama with SmolLM2's real tokenizer (students and local teachers in seconds), tiny task rows, and a
real OpenAI-compatible HTTP teacher on loopback that misbehaves on purpose.

No large model can run here, so the loopback teacher answers by rule; it is a real server spoken to by the
official ``openai`` client, and its timeouts, 500s and garbage are real too.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from frugalstack.optimizers.tiny import build_tiny_llama


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Path:
    return build_tiny_llama(tmp_path_factory.getbasetemp() / "tiny-llama", smollm2_path)


def intent_rows(n: int = 12) -> list[dict[str, Any]]:
    texts = [("Where is my parcel, it has not shipped", "shipping"), ("Is this jacket waterproof?", "product_question"),
             ("I want my money back", "return_refund"), ("Show me red running shoes", "product_search")]
    return [{"task": "intent", "id": f"i{i}", "text": f"{texts[i % 4][0]} #{i}", "label": texts[i % 4][1]}
            for i in range(n)]


def extraction_rows(n: int = 12) -> list[dict[str, Any]]:
    cols = ["black", "red", "blue"]
    return [{"task": "extraction", "id": f"e{i}",
             "text": f"A sturdy bag in {cols[i % 3]}. Made from nylon. Weight: {100 + i} g.",
             "attributes": {"colour": cols[i % 3], "material": "nylon", "waterproof": None, "weight_g": 100 + i}}
            for i in range(n)]


def rule_answer(system: str, text: str) -> str:
    """What the stand-in teacher says: a keyword rule for intents, a regex read for extraction."""
    import re

    if "intent" in system:
        low = text.lower()
        for word, label in (("ship", "shipping"), ("money", "return_refund"), ("show", "product_search")):
            if word in low:
                return label
        return "product_question"
    colour = next((c for c in ("black", "red", "blue") if c in text), None)
    weight = re.search(r"Weight: (\d+) g", text)
    return json.dumps({"colour": colour, "material": "nylon" if "nylon" in text else None, "waterproof": None,
                       "weight_g": int(weight.group(1)) if weight else None})


class Behaviour:
    """Per-input misbehaviour: 'SLOW' sleeps past the client timeout, 'GARBAGE' answers non-JSON prose,
    'FLAKY' fails once with a 500; every request is counted."""

    def __init__(self) -> None:
        self.calls = 0
        self.flaky_seen: set[str] = set()
        self.lock = threading.Lock()


@pytest.fixture()
def teacher_server() -> Iterator[tuple[str, Behaviour]]:
    behaviour = Behaviour()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with behaviour.lock:
                behaviour.calls += 1
            msgs = body["messages"]
            text = msgs[-1]["content"].split("Input:")[-1]
            if "SLOW" in text:
                time.sleep(1.5)
            if "FLAKY" in text:
                with behaviour.lock:
                    first = text not in behaviour.flaky_seen
                    behaviour.flaky_seen.add(text)
                if first:
                    self._send(500, {"error": {"message": "upstream hiccup", "type": "server_error"}})
                    return
            answer = "I am not sure, sorry." if "GARBAGE" in text else rule_answer(msgs[0]["content"], text)
            self._send(200, {
                "id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": answer},
                             "logprobs": {"content": [{"token": answer, "logprob": -0.25, "bytes": None,
                                                       "top_logprobs": []}]}}],
                "usage": {"prompt_tokens": 50, "completion_tokens": 5, "total_tokens": 55}})

        def _send(self, status: int, obj: dict[str, Any]) -> None:
            data = json.dumps(obj).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout): fine
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", behaviour
    server.shutdown()
    server.server_close()


@pytest.fixture()
def rows_file(tmp_path: Path) -> Path:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in intent_rows() + extraction_rows()))
    return path
