"""Per-key token bucket (in process): a burst, then a steady rate per minute."""

from __future__ import annotations

import threading
import time

from frugalstack.shared.errors import RateLimitError


class RateLimiter:
    def __init__(self, per_minute: int, burst: int, max_keys: int = 100_000):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
                raise RateLimitError(
                    f"rate limit exceeded for this key; retry in {wait:.1f} s",
                    details={"retry_after_s": round(wait, 2)},
                )
            if len(self._buckets) >= self.max_keys and key not in self._buckets:
                self._buckets.clear()  # bounded memory; a flood of keys resets everyone's bucket
            self._buckets[key] = (tokens - 1.0, now)
