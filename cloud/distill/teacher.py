"""Teacher outputs: an on-disk cache keyed by content hash, retries, concurrency and the run's counters.

A teacher is anything with ``identity`` and ``ask(messages) -> Reply``; the runner owns caching,
retries and accounting, so the OpenAI-compatible and the local teacher share them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from frugalstack.cloud.distill.config import TeacherConfig
from frugalstack.cloud.distill.tasks import TASKS, Example, Task, user_prompt
from frugalstack.edge.sqlite import enable_wal

log = logging.getLogger("frugalstack.distill")


@dataclass
class Reply:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    logprob: float | None = None  # sum over the answer's tokens, when the teacher reports them
    token_logprobs: list[float] | None = None


class Teacher(Protocol):
    identity: str

    def ask(self, task: Task, messages: list[dict[str, str]]) -> Reply: ...


@dataclass
class TeacherStats:
    requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    timeouts: int = 0
    errors: int = 0
    garbage: int = 0
    skipped: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    skipped_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["skipped_ids"] = d["skipped_ids"][:50]
        return d


class TeacherCache:
    """SQLite (WAL) map content hash -> teacher answer; survives kills, so a rerun only asks what is missing."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False, isolation_level=None)
        enable_wal(self._db, sqlite3, 30.0)  # parallel workers may open the same fresh cache at once
        self._db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM answers WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?)", (key, json.dumps(value)))

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def messages_for(task: Task, ex: Example, shots: list[Example]) -> list[dict[str, str]]:
    """System instruction, few-shot turns with their labels, then the input."""
    msgs = [{"role": "system", "content": task.instruction()}]
    for s in shots:
        msgs += [{"role": "user", "content": user_prompt(task, s.text)}, {"role": "assistant", "content": s.gold}]
    msgs.append({"role": "user", "content": user_prompt(task, ex.text)})
    return msgs


def cache_key(identity: str, messages: list[dict[str, str]]) -> str:
    return hashlib.sha256(json.dumps([identity, messages], sort_keys=True).encode()).hexdigest()


def label_examples(teacher: Teacher, cfg: TeacherConfig, cache: TeacherCache, examples: list[Example],
                   shots: dict[str, list[Example]], stats: TeacherStats,
                   progress: Callable[[int], None] | None = None) -> dict[str, dict[str, Any]]:
    """Teacher answers for ``examples`` keyed by example id; failures are counted and left out."""
    lock = threading.Lock()

    def one(ex: Example) -> tuple[str, dict[str, Any] | None]:
        task = TASKS[ex.task]
        msgs = messages_for(task, ex, [s for s in shots.get(ex.task, []) if s.id != ex.id])
        key = cache_key(teacher.identity, msgs)
        hit = cache.get(key)
        if hit is not None:
            with lock:
                stats.cache_hits += 1
            return ex.id, hit
        for attempt in range(cfg.max_retries + 1):
            t0 = time.perf_counter()
            kind = None
            try:
                reply = teacher.ask(task, msgs)
            except Exception as exc:  # a timeout, a 5xx, a dropped connection: count it and try again
                kind = "timeouts" if "timeout" in type(exc).__name__.lower() or "timed out" in str(exc) else "errors"
                log.warning("teacher %s on %s (attempt %d): %s", kind, ex.id, attempt + 1, exc)
                reply = None
            with lock:
                stats.requests += 1
                stats.seconds += time.perf_counter() - t0
                if attempt:
                    stats.retries += 1
                if reply is not None:
                    stats.prompt_tokens += reply.prompt_tokens
                    stats.completion_tokens += reply.completion_tokens
                    stats.cost_usd += (reply.prompt_tokens * cfg.price_in_per_mtok
                                       + reply.completion_tokens * cfg.price_out_per_mtok) / 1e6
            if reply is not None:
                parsed = task.parse(reply.text)
                if parsed is not None:
                    value = {"id": ex.id, "task": ex.task, "answer": parsed, "raw": reply.text,
                             "logprob": reply.logprob, "token_logprobs": reply.token_logprobs,
                             "prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens}
                    cache.put(key, value)
                    return ex.id, value
                kind = "garbage"
                log.warning("teacher answer for %s is unusable (attempt %d): %r", ex.id, attempt + 1, reply.text[:80])
            with lock:
                setattr(stats, kind or "errors", getattr(stats, kind or "errors") + 1)
        with lock:
            stats.skipped += 1
            stats.skipped_ids.append(ex.id)
        return ex.id, None

    out: dict[str, dict[str, Any]] = {}
    with ThreadPoolExecutor(max_workers=cfg.max_concurrency) as pool:
        for ex_id, value in pool.map(one, examples):
            if value is not None:
                out[ex_id] = value
            if progress:
                progress(1)
    return out
