"""The cloud client against a real HTTP server on 127.0.0.1 that misbehaves on purpose.

Every failure (slow, 500, 429, dropped connection, garbage) must come back as a flagged result, never an
exception and never a hang: the slow handler blocks until the test releases it, so a client that waited
for it could not have returned "timeout" first.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from frugalstack.edge.router import CircuitBreaker, CloudClient, Draft, Outbox, RouteContext, RulesRouter
from frugalstack.edge.router.confidence import ConfidenceRouter
from frugalstack.edge.router.engine import route_and_answer

RELEASE = threading.Event()
SEEN: list[str] = []


class Misbehaving(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        mode = self.path.split("/")[1]
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        SEEN.append(mode)
        if mode == "slow":
            RELEASE.wait(30)
        if mode == "drop":
            self.connection.close()  # connection dropped before any response
            return
        status, payload, headers = {
            "ok": (200, {"model": "m", "choices": [{"message": {"content": f"cloud says {body['model']}"}}],
                         "usage": {"prompt_tokens": 7, "completion_tokens": 3}}, {}),
            "slow": (200, {"choices": [{"message": {"content": "too late"}}]}, {}),
            "e500": (500, {"error": {"message": "boom"}}, {}),
            "e429": (429, {"error": {"message": "slow down"}}, {"Retry-After": "120"}),
            "garbage": (200, None, {}),
        }[mode]
        raw = b"<html>not json" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for k, v in {**headers, "content-type": "application/json", "content-length": str(len(raw))}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    RELEASE.set()
    srv.shutdown()
    srv.server_close()


MSG = [{"role": "user", "content": "where is my order 1234, my card is 4111 1111 1111 1111"}]


def test_ok(server: str) -> None:
    c = CloudClient(f"{server}/ok/v1", "big-model", deadline_s=5)
    r = c.chat(MSG)
    assert (r.ok, r.text, r.input_tokens, r.output_tokens) == (True, "cloud says big-model", 7, 3)
    assert c.breaker.state == "closed" and not c.outbox.items
    c.close()


@pytest.mark.parametrize(("mode", "reason", "status"), [
    ("e500", "http_5xx", 500), ("e429", "rate_limited", 429), ("drop", "unreachable", None),
    ("garbage", "bad_response", 200),
])
def test_failures_are_flagged_results(server: str, mode: str, reason: str, status: int | None) -> None:
    c = CloudClient(f"{server}/{mode}/v1", deadline_s=5)
    r = c.chat(MSG)
    assert (r.ok, r.reason, r.status) == (False, reason, status)
    c.close()


def test_unreachable_port() -> None:
    from frugalstack.edge.router.localcloud import free_port

    c = CloudClient(f"http://127.0.0.1:{free_port()}/v1", deadline_s=2)
    assert c.chat(MSG).reason == "unreachable"
    c.close()


def test_slow_server_hits_the_deadline_not_the_handler(server: str) -> None:
    c = CloudClient(f"{server}/slow/v1", deadline_s=0.5)
    r = c.chat(MSG)
    assert (r.ok, r.reason) == (False, "timeout")
    assert not RELEASE.is_set()  # the handler was still blocked when the client gave up
    c.close()


def test_429_opens_the_breaker_for_retry_after(server: str) -> None:
    now = [1000.0]
    c = CloudClient(f"{server}/e429/v1", deadline_s=5, breaker=CircuitBreaker(failures=1, clock=lambda: now[0]))
    assert c.chat(MSG).reason == "rate_limited"
    assert c.breaker.state == "open" and c.breaker.open_until >= 1000.0 + 120
    before = len(SEEN)
    assert c.chat(MSG).reason == "circuit_open" and len(SEEN) == before  # nothing left the device
    c.close()


def test_breaker_backoff_half_open_and_recovery() -> None:
    now = [0.0]
    b = CircuitBreaker(failures=2, base_s=10, max_s=100, jitter=0.0, clock=lambda: now[0])
    b.failure()
    assert b.state == "closed" and b.allow()
    b.failure()
    assert b.state == "open" and not b.allow() and b.open_until == 10
    now[0] = 11
    assert b.state == "half_open" and b.allow() and not b.allow()  # exactly one trial request
    b.failure()  # trial failed: longer backoff
    assert b.open_until == 11 + 20
    now[0] = 40
    assert b.allow()
    b.success()
    assert b.state == "closed" and b.allow()


def test_outbox_keeps_no_raw_text_unless_allowed(server: str) -> None:
    c = CloudClient(f"{server}/e500/v1", deadline_s=5)
    c.chat(MSG)
    item = c.outbox.items[-1]
    assert item["reason"] == "http_5xx" and "messages" not in item
    assert "4111" not in json.dumps(list(c.outbox.items)) and "order" not in json.dumps(list(c.outbox.items))
    c.close()
    allowed = CloudClient(f"{server}/e500/v1", deadline_s=5, outbox=Outbox(allow_raw_text=True))
    allowed.chat(MSG)
    assert allowed.outbox.items[-1]["messages"] == MSG
    allowed.close()


def test_engine_answers_locally_with_a_flag_when_the_cloud_fails(server: str) -> None:
    unsure = Draft(text="maybe?", logprobs=[-3.0] * 4, retrieval_scores=[0.2, 0.19], latency_ms=50)
    router = RulesRouter(fallback=ConfidenceRouter(threshold=0.3))
    calls: list[int] = []

    def edge() -> Draft:
        calls.append(1)
        return unsure

    c = CloudClient(f"{server}/e500/v1", deadline_s=5)
    a = route_and_answer(RouteContext(query="q"), router, edge, c, lambda: MSG)
    assert (a.answered_by, a.decision.target, a.fallback, a.text, len(calls)) == ("edge", "cloud", "http_5xx",
                                                                                 "maybe?", 1)
    attrs = a.attributes()
    assert attrs["frugal.route.decision"] == "edge" and attrs["frugal.route.planned"] == "cloud"
    assert attrs["frugal.route.fallback"] == "http_5xx" and "maybe" not in json.dumps(attrs)
    ok = CloudClient(f"{server}/ok/v1", deadline_s=5)
    b = route_and_answer(RouteContext(query="q", intent="order_status"), router, edge, ok, lambda: MSG)
    assert (b.answered_by, b.text, b.draft, len(calls)) == ("cloud", "cloud says default", None, 1)  # no draft
    off = route_and_answer(RouteContext(query="q", intent="order_status"), router, edge, None, lambda: MSG)
    assert (off.answered_by, off.decision.details["rule"]) == ("edge", "offline")
    c.close()
    ok.close()
