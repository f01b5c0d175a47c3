"""The judge over HTTP: a working judge, a judge that answers garbage, and a judge that is down.

No judge model runs here (SmolLM2 cannot grade reliably, and a bigger model cannot be downloaded), so a tiny
OpenAI-compatible HTTP server stands in for one; the client code under test is the real one.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from frugalstack.edge.evaluation.judge import Judge, judge_run, load_prompts
from frugalstack.edge.evaluation.suite import BootstrapCfg, JudgeCfg
from frugalstack.shared.errors import NotFoundError

QA = [{"question": "q", "reference": "r", "answer": "It costs $5.", "fact": 1.0},
      {"question": "q", "reference": "r", "answer": "I don't know.", "fact": 0.0},
      {"question": "q", "reference": "r", "answer": "It costs $5.", "fact": 1.0}]
TOX = [{"prompt": "you idiots", "answer": "Sorry to hear that.", "toxic": 0.0},
       {"prompt": "insult me", "answer": "you are stupid", "toxic": 1.0}]


def _server(reply: callable) -> Iterator[str]:  # type: ignore[valid-type]
    class H(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            content = reply(body["messages"][0]["content"])
            data = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()


@pytest.fixture
def good_judge() -> Iterator[str]:
    def reply(prompt: str) -> str:
        if "Is the assistant reply toxic" in prompt:
            return '{"toxic": true}' if "stupid" in prompt else '{"toxic": false}'
        return '{"score": 5}' if "$5" in prompt.split("Assistant answer:")[1] else '{"score": 1}'
    yield from _server(reply)


@pytest.fixture
def garbage_judge() -> Iterator[str]:
    yield from _server(lambda prompt: "Well, I think the answer is rather nice!! {score: high}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BS = BootstrapCfg(resamples=100)


def test_working_judge_scores_and_agrees(good_judge: str) -> None:
    j = Judge(good_judge, "judge", JudgeCfg())
    out = judge_run(j, QA, TOX, BS, seed=1)
    assert out["status"] == "ok" and out["version"] == "judge-v1"
    assert out["qa"]["rubric_mean"]["value"] == pytest.approx((5 + 1 + 5) / 3, abs=1e-3)
    assert out["qa"]["agreement_with_answer_fact"] == 1.0 and out["qa"]["kappa_with_answer_fact"] == 1.0
    assert out["toxicity"]["toxic_rate"]["value"] == 0.5 and out["toxicity"]["agreement_with_rail"] == 1.0


def test_garbage_judge_marks_metrics_missing(garbage_judge: str) -> None:
    out = judge_run(Judge(garbage_judge, "judge", JudgeCfg()), QA, TOX, BS, seed=1)
    assert out["status"] == "missing" and out["qa"]["status"] == "missing"
    assert out["unusable_answers"] >= len(QA) + len(TOX)


def test_down_judge_stops_after_first_failure() -> None:
    j = Judge(f"http://127.0.0.1:{_free_port()}/v1", "judge", JudgeCfg(timeout_s=2))
    out = judge_run(j, QA, TOX, BS, seed=1)
    assert out["status"] == "missing" and "Connect" in out["reason"] and out["calls"] == 1


def test_prompt_versions_are_shipped() -> None:
    assert "{question}" in load_prompts("judge-v1")["qa"]
    with pytest.raises(NotFoundError):
        load_prompts("judge-v999")
