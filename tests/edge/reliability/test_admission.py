"""The edge server under more concurrent clients than it has room for: bounded queue, 429 then 503, no leak."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from frugalstack.edge.server.admission import Admission
from frugalstack.shared.errors import RateLimitError, ServiceUnavailableError

MODEL = "smollm2-135m-instruct-q4_1"


def test_admission_fifo_full_queue_and_timeout() -> None:
    async def scenario() -> dict[str, Any]:
        adm = Admission(slots=1, queue=2, timeout_s=5.0)
        first = await adm.acquire()
        order: list[int] = []

        async def waiter(i: int) -> None:
            t = await adm.acquire()
            order.append(i)
            await asyncio.sleep(0.01)
            t.release()

        tasks = [asyncio.create_task(waiter(i)) for i in range(2)]
        await asyncio.sleep(0.05)
        assert adm.waiting == 2
        with pytest.raises(RateLimitError) as full:
            await adm.acquire()
        first.release()
        first.release()  # idempotent: a double release must not free a second slot
        await asyncio.gather(*tasks)
        short = Admission(slots=1, queue=4, timeout_s=0.05)
        held = await short.acquire()
        with pytest.raises(ServiceUnavailableError):
            await short.acquire()
        held.release()
        again = await short.acquire()  # the timed-out waiter left no ghost behind
        again.release()
        return {"order": order, "stats": adm.stats(), "short": short.stats(), "retry": full.value.details}

    out = asyncio.run(scenario())
    assert out["order"] == [0, 1]  # FIFO
    assert out["retry"] == {"retry_after": 1}
    assert out["stats"] | {} == {
        "slots": 1,
        "queue": 2,
        "active": 0,
        "waiting": 0,
        "admitted": 3,
        "rejected": 1,
        "timed_out": 0,
    }
    assert out["short"]["active"] == 0 and out["short"]["timed_out"] == 1


async def _stream(client: httpx.AsyncClient, i: int) -> tuple[int, int, str | None]:
    body = {
        "model": MODEL,
        "stream": True,
        "max_tokens": 24,
        "temperature": 0,
        "messages": [{"role": "user", "content": f"Name a colour ({i})."}],
    }
    async with client.stream("POST", "/v1/chat/completions", json=body) as r:
        chunks = 0
        async for line in r.aiter_lines():
            chunks += line.startswith("data: ")
        return r.status_code, chunks, r.headers.get("retry-after")


@pytest.mark.slow
def test_server_sheds_load_with_429_and_recovers(edge_server: Any) -> None:
    with edge_server(max_concurrent=1, max_queue=2, queue_timeout_s=120) as url:

        async def burst() -> list[tuple[int, int, str | None]]:
            async with httpx.AsyncClient(base_url=url, timeout=120) as c:
                return await asyncio.gather(*(_stream(c, i) for i in range(8)))

        results = asyncio.run(burst())
        codes = sorted(code for code, _, _ in results)
        assert codes.count(200) >= 3 and set(codes) <= {200, 429}, codes  # 1 running + 2 queued always served
        assert codes.count(429) >= 1, codes
        assert all(chunks >= 3 for code, chunks, _ in results if code == 200)
        assert all(ra == "1" for code, _, ra in results if code == 429)
        with httpx.Client(base_url=url, timeout=60) as c:
            # a client that hangs up mid-stream gives its slot back
            body = {
                "model": MODEL,
                "stream": True,
                "max_tokens": 200,
                "messages": [{"role": "user", "content": "Tell a long story."}],
            }
            with c.stream("POST", "/v1/chat/completions", json=body) as r:
                next(r.iter_lines())
            for _ in range(100):
                adm = c.get("/health").json()["admission"]
                if adm["active"] == 0:
                    break
                asyncio.run(asyncio.sleep(0.05))
            assert adm["active"] == 0 and adm["waiting"] == 0, adm
            assert adm["rejected"] == codes.count(429)
            ok = c.post(
                "/v1/chat/completions",
                json={"model": MODEL, "max_tokens": 4, "messages": [{"role": "user", "content": "Hi"}]},
            )
            assert ok.status_code == 200


@pytest.mark.slow
def test_queue_timeout_gives_503(edge_server: Any) -> None:
    with edge_server(max_concurrent=1, max_queue=4, queue_timeout_s=0.2) as url:

        async def burst() -> list[tuple[int, int, str | None]]:
            async with httpx.AsyncClient(base_url=url, timeout=120) as c:
                return await asyncio.gather(*(_stream(c, i) for i in range(3)))

        codes = sorted(code for code, _, _ in asyncio.run(burst()))
        assert codes[0] == 200 and 503 in codes, codes
        with httpx.Client(base_url=url) as c:
            assert c.get("/health").json()["admission"]["active"] == 0
