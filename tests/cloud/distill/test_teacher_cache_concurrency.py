"""Processes opening the same fresh teacher cache at once (Ray workers do) must not fail with "locked"."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path


def _open_and_write(path: str, i: int, start: object) -> None:
    from frugalstack.cloud.distill.teacher import TeacherCache

    start.wait()  # type: ignore[attr-defined]
    cache = TeacherCache(Path(path))
    cache.put(f"k{i}", {"text": str(i)})


def test_many_processes_open_one_fresh_cache(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    for round_ in range(3):  # a fresh file each round: the WAL switch is where the race was
        path = str(tmp_path / f"cache{round_}.sqlite")
        start = ctx.Event()
        procs = [ctx.Process(target=_open_and_write, args=(path, i, start)) for i in range(6)]
        for p in procs:
            p.start()
        start.set()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0] * 6
        from frugalstack.cloud.distill.teacher import TeacherCache

        assert len(TeacherCache(Path(path))) == 6


def test_enable_wal_retries_a_locked_switch_then_gives_up_on_other_errors() -> None:
    """The lock race is timing-dependent; this pins the retry itself (a stand-in connection, no mock library)."""
    import sqlite3

    import pytest

    from frugalstack.edge.sqlite import enable_wal

    class Flaky:
        def __init__(self, fails: int, message: str):
            self.fails, self.message, self.calls = fails, message, 0

        def execute(self, sql: str) -> None:
            self.calls += 1
            if self.calls <= self.fails:
                raise sqlite3.OperationalError(self.message)

    locked = Flaky(3, "database is locked")
    enable_wal(locked, sqlite3, timeout=5)
    assert locked.calls == 4
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        enable_wal(Flaky(1, "disk I/O error"), sqlite3, timeout=5)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        enable_wal(Flaky(10**6, "database is locked"), sqlite3, timeout=0.2)
