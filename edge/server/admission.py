"""Admission control for the local server: a few generations at a time, a bounded queue, then 429/503.

The runtime generates one request at a time; without a bound, concurrent clients would pile up in the
thread pool and in memory. Here at most ``slots`` requests hold the model, at most ``queue`` wait (FIFO),
and the rest are refused at once with 429; a request that waited ``timeout_s`` without a slot gets 503.
Both carry ``Retry-After`` so the official OpenAI client backs off and retries by itself.

State lives on the event loop; ``Ticket.release`` may be called from any thread (a streaming response
ends in the thread pool).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from typing import Any

from frugalstack.shared.errors import RateLimitError, ServiceUnavailableError


class Ticket:
    """One admitted request; ``release`` is idempotent and thread-safe."""

    def __init__(self, admission: Admission):
        self._admission = admission
        self._released = False
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            if self._released:
                return
            self._released = True
        self._admission._release_threadsafe()


class Admission:
    """``slots`` concurrent holders, a FIFO of at most ``queue`` waiters, ``timeout_s`` per wait."""

    def __init__(self, slots: int, queue: int, timeout_s: float, retry_after_s: int = 1):
        self.slots, self.queue, self.timeout_s, self.retry_after_s = slots, queue, timeout_s, retry_after_s
        self.active = 0
        self.rejected = 0
        self.timed_out = 0
        self.admitted = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def waiting(self) -> int:
        return sum(1 for f in self._waiters if not f.done())

    def stats(self) -> dict[str, Any]:
        return {
            "slots": self.slots,
            "queue": self.queue,
            "active": self.active,
            "waiting": self.waiting,
            "admitted": self.admitted,
            "rejected": self.rejected,
            "timed_out": self.timed_out,
        }

    def _details(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after_s}

    async def acquire(self) -> Ticket:
        """A ticket once a slot is free; ``RateLimitError`` if the queue is full, 503 after the wait times out."""
        self._loop = asyncio.get_running_loop()
        if self.active < self.slots and not self.waiting:
            self.active += 1
            self.admitted += 1
            return Ticket(self)
        if self.waiting >= self.queue:
            self.rejected += 1
            raise RateLimitError(
                f"the server is at capacity ({self.slots} running, {self.queue} queued); retry later",
                details=self._details(),
            )
        fut: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(fut)
        try:
            done, _ = await asyncio.wait({fut}, timeout=self.timeout_s)
        except asyncio.CancelledError:  # the client went away while queued
            self._abandon(fut)
            raise
        if not done:
            self._abandon(fut)
            self.timed_out += 1
            raise ServiceUnavailableError(
                f"no generation slot freed within {self.timeout_s:g} s; retry later", details=self._details()
            )
        self.admitted += 1
        return Ticket(self)  # the slot was handed over by _release (active was not decremented)

    def _abandon(self, fut: asyncio.Future[None]) -> None:
        if fut.done() and not fut.cancelled():
            self._release()  # the slot arrived just as we gave up: pass it on
        else:
            fut.cancel()
        with contextlib.suppress(ValueError):
            self._waiters.remove(fut)

    def _release(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)  # hand the slot straight to the oldest waiter
                return
        self.active -= 1

    def _release_threadsafe(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            self.active -= 1
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._release()
        else:
            loop.call_soon_threadsafe(self._release)


__all__ = ["Admission", "Ticket"]
