"""The cloud client: an OpenAI-compatible chat call that never hangs past its deadline and fails soft.

Unreachable, slow, 5xx, 429 or a malformed body all end the same way for the caller: a ``CloudResult``
with ``ok=False`` and a reason, so the engine answers on the device with a flag. Repeated failures open a
circuit breaker (exponential backoff with jitter, honouring ``Retry-After``); while it is open no request
leaves the device. Failed requests are queued for later only as metadata (a hash, the reason, the time),
unless the app explicitly allows raw text in the outbox.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import httpx

from frugalstack.shared.errors import ConfigError


@dataclass
class CloudResult:
    ok: bool
    text: str = ""
    reason: str = "ok"  # ok | timeout | unreachable | http_5xx | rate_limited | circuit_open | bad_response | http_4xx
    status: int | None = None
    latency_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    model: str | None = None
    retry_after_s: float | None = None  # from a 429's Retry-After header


class CircuitBreaker:
    """closed -> open after ``failures`` consecutive failures; half-open after the backoff; one trial."""

    def __init__(self, failures: int = 3, base_s: float = 1.0, max_s: float = 60.0, jitter: float = 0.1,
                 clock: Any = time.monotonic):
        self.threshold, self.base_s, self.max_s, self.jitter = failures, base_s, max_s, jitter
        self._clock = clock
        self._lock = threading.Lock()
        self.consecutive = 0
        self.opens = 0
        self.open_until = 0.0
        self._trial = False

    @property
    def state(self) -> str:
        with self._lock:
            if self.open_until == 0.0:
                return "closed"
            return "half_open" if self._clock() >= self.open_until else "open"

    def allow(self) -> bool:
        with self._lock:
            if self.open_until == 0.0:
                return True
            if self._clock() < self.open_until or self._trial:
                return False
            self._trial = True  # half-open: let exactly one request through
            return True

    def success(self) -> None:
        with self._lock:
            self.consecutive, self.opens, self.open_until, self._trial = 0, 0, 0.0, False

    def failure(self, retry_after_s: float | None = None) -> None:
        with self._lock:
            self.consecutive += 1
            self._trial = False
            if self.consecutive >= self.threshold or self.open_until:
                backoff = min(self.max_s, self.base_s * 2 ** self.opens)
                backoff *= 1 + random.uniform(-self.jitter, self.jitter)
                self.opens += 1
                self.open_until = self._clock() + max(backoff, retry_after_s or 0.0)


@dataclass
class Outbox:
    """Requests the cloud did not take. Raw text is kept only when ``allow_raw_text``; else a hash."""

    allow_raw_text: bool = False
    maxlen: int = 1000
    items: deque[dict[str, Any]] = field(default_factory=deque)

    def put(self, messages: list[dict[str, str]], reason: str) -> None:
        joined = "\n".join(m.get("content", "") for m in messages)
        item: dict[str, Any] = {"ts": time.time(), "reason": reason,
                                "sha256": hashlib.sha256(joined.encode()).hexdigest(), "chars": len(joined)}
        if self.allow_raw_text:
            item["messages"] = messages
        self.items.append(item)
        while len(self.items) > self.maxlen:
            self.items.popleft()


class CloudClient:
    """POST ``{base_url}/chat/completions`` with a hard deadline (seconds, end to end)."""

    def __init__(self, base_url: str, model: str = "default", *, api_key: str | None = None,
                 deadline_s: float = 10.0, breaker: CircuitBreaker | None = None, outbox: Outbox | None = None):
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"cloud base URL must be http(s): {base_url!r}", hint="e.g. http://127.0.0.1:8088/v1")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.deadline_s = deadline_s
        self.breaker = breaker or CircuitBreaker()
        self.outbox = outbox if outbox is not None else Outbox()
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(headers=headers, timeout=httpx.Timeout(deadline_s))
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="frugal-cloud")

    def chat(self, messages: list[dict[str, str]], *, max_tokens: int = 128, temperature: float = 0.0,
             deadline_s: float | None = None, **extra: Any) -> CloudResult:
        """One chat completion; never raises for cloud trouble and never blocks past the deadline."""
        deadline = self.deadline_s if deadline_s is None else deadline_s
        start = time.perf_counter()
        if not self.breaker.allow():
            self.outbox.put(messages, "circuit_open")
            return CloudResult(False, reason="circuit_open")
        body = {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": temperature,
                **extra}
        future = self._pool.submit(self._post, body, deadline)
        try:
            result = future.result(timeout=deadline)
        except FutureTimeout:
            future.cancel()  # a worker already running finishes within its own httpx timeouts
            result = CloudResult(False, reason="timeout")
        result.latency_ms = (time.perf_counter() - start) * 1000
        if result.ok:
            self.breaker.success()
        else:
            self.breaker.failure(result.retry_after_s)
            self.outbox.put(messages, result.reason)
        return result

    def _post(self, body: dict[str, Any], deadline: float) -> CloudResult:
        timeout = httpx.Timeout(deadline, connect=min(deadline, 3.0))
        try:
            r = self._http.post(f"{self.base_url}/chat/completions", json=body, timeout=timeout)
        except httpx.TimeoutException:
            return CloudResult(False, reason="timeout")
        except (httpx.TransportError, OSError) as exc:  # refused, reset, dropped mid-response
            return CloudResult(False, reason="unreachable", model=type(exc).__name__)
        if r.status_code == 429:
            try:
                retry_after = float(r.headers.get("retry-after", "0"))
            except ValueError:
                retry_after = None
            return CloudResult(False, reason="rate_limited", status=429, retry_after_s=retry_after)
        if r.status_code >= 500:
            return CloudResult(False, reason="http_5xx", status=r.status_code)
        if r.status_code >= 400:
            return CloudResult(False, reason="http_4xx", status=r.status_code)
        try:
            data = r.json()
            text = data["choices"][0]["message"]["content"] or ""
            usage = data.get("usage") or {}
        except (ValueError, KeyError, IndexError, TypeError):
            return CloudResult(False, reason="bad_response", status=r.status_code)
        return CloudResult(True, text=text, status=r.status_code, input_tokens=int(usage.get("prompt_tokens", 0)),
                           output_tokens=int(usage.get("completion_tokens", 0)), model=data.get("model"))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()
